/**
 * `cria export onnx` (src/export/onnx.ts) cross-checked: the exported graph, run by onnxruntime-web's
 * WASM EP in Node (through the ONNX runtime's own `OnnxSequence`), against Cria's CPU reference on the
 * GGUF it came from, and against llama.cpp's logits shipped with the fixtures.
 *
 * Models: stories260K and every F32, F16, Q8_0 and Q4_0 random model of an architecture the exporter
 * supports (llama, qwen2); the others (gemma2, phi3, qwen3) must be refused with `unsupported-arch`.
 *
 * Tolerances, and why:
 * - ORT vs Cria's reference, logits at every prompt position: |Δ| ≤ 1e-4 · max(1, max |logit|). Both
 *   multiply the same f32 weights (Q4_0/Q8_0 through MatMulNBits: the same codes and scales, exact; other
 *   types dequantized to the reference's values) by f32 activations; they differ only in the order of f32
 *   sums (ORT's blocked GEMM, the reference's plain loop) and in exp/sqrt's last ulp. Measured ≤ 1.1e-5.
 *   A mistake in the graph (a rope pair, a head order, the mask) moves logits by O(1).
 * - ORT vs llama.cpp (the fixture's logits; for quantized files llama.cpp run on the dequantized-F32
 *   twin, which is what f32 activations compute): the same 1e-4 bound the reference meets
 *   (test/unit/model-random.test.ts).
 * - Greedy tokens (32 steps, the engine's own generate loop on each runtime's sequence): equal up to the
 *   first step whose top-1/top-2 margin on the reference is below 2 × the logit bound (a near-tie).
 */
import { readdirSync } from 'node:fs';
import { InferenceSession, env } from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/engine/generate.ts';
import { Session } from '../../src/engine/session.ts';
import type { Sequence } from '../../src/engine/runtime.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { dequantize } from '../../src/formats/quant.ts';
import { readTensorBytes } from '../../src/formats/gguf.ts';
import { dequantizeNBits, q4_0ToNBits, q8_0ToNBits } from '../../src/formats/onnx/matmul-nbits.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { OnnxSequence } from '../../src/runtimes/onnx/sequence.ts';
import { argmax, GREEDY } from '../../src/sampling/sampler.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { fixtureGguf, maxAbsDiff, readF32, readJson } from './helpers/models.ts';

const REL = 1e-4;
const SUPPORTED = new Set(['llama', 'qwen2']);
const dir = 'models/random/';
const randomCases = readdirSync(fixturePath(dir), { withFileTypes: true })
  .filter((d) => d.isDirectory() && /-(f32|f16|q8_0|q4_0)$/.test(d.name))
  .map((d) => d.name)
  .sort();

beforeAll(() => {
  env.wasm.numThreads = 1; // Node: no worker threads for ORT's pool
});

async function both(rel: string, q8: 'nbits' | 'f32' = 'nbits') {
  const file = await fixtureGguf(rel);
  const ex = await exportOnnx(file, { q8, externalThreshold: Infinity });
  const session = await InferenceSession.create(ex.files.get('onnx/model.onnx')!, { executionProviders: ['wasm'] });
  const c = ex.config;
  const nCtx = Math.min(c.nCtxTrain, 256);
  const ort = new OnnxSequence(session, { nLayer: c.nLayer, nHeadKv: c.nHeadKv, headDim: c.headDim, nVocab: c.nVocab, nCtx });
  const ref = new Session(await Model.load(file, new CpuBackend()), { nCtx });
  return { ex, ort, ref, session };
}

function bound(ref: Float32Array): number {
  let m = 1;
  for (const v of ref) m = Math.max(m, Math.abs(v));
  return REL * m;
}

/** Greedy tokens from the engine's generate loop on a sequence. */
async function greedy(seq: Sequence, prompt: number[], n: number): Promise<number[]> {
  seq.truncate(0);
  const it = generate(seq, { prompt, maxTokens: n, sampling: GREEDY });
  let r;
  while (!(r = await it.next()).done);
  return r.value.tokens;
}

describe('MatMulNBits from GGUF blocks: the same values, exactly', () => {
  it.each([
    ['Q4_0', 'models/random/llama-gqa-q4_0/llama-gqa-q4_0.gguf', q4_0ToNBits],
    ['Q8_0', 'models/random/llama-gqa-q8_0/llama-gqa-q8_0.gguf', q8_0ToNBits],
  ] as const)('%s', async (type, rel, pack) => {
    const file = await fixtureGguf(rel);
    const tensors = file.tensors.filter((t) => t.type.name === type);
    expect(tensors.length).toBeGreaterThan(0);
    for (const t of tensors) {
      const bytes = await readTensorBytes(file, t);
      const [k, n] = t.dims;
      expect(dequantizeNBits(pack(bytes, k, n)), t.name).toEqual(dequantize(t.type, bytes, t.nElements));
    }
  });
});

describe.each(['stories260K', ...randomCases])('%s exported to ONNX, on onnxruntime-web (WASM EP, Node)', (name) => {
  const random = name !== 'stories260K';
  const rel = random ? `${dir}${name}/${name}.gguf` : 'models/stories260K/stories260K-f32.gguf';
  const e = random ? readJson(`${dir}${name}/expected.json`) : undefined;
  const supported = !random || SUPPORTED.has(e.architecture);

  if (!supported) {
    it('is refused: unsupported-arch, naming the architecture', async () => {
      let err: unknown;
      await exportOnnx(await fixtureGguf(rel)).catch((x) => (err = x));
      expect(isCriaError(err, 'unsupported-arch'), String(err)).toBe(true);
      expect((err as Error).message).toContain(e.architecture);
    });
    return;
  }

  it('logits at every prompt position match Cria\'s reference (and llama.cpp\'s), and so do 32 greedy tokens', async () => {
    const { ort, ref, ex } = await both(rel);
    const prompts: number[][] = random ? e.prompts.map((p: { tokens: number[] }) => p.tokens) : [[1, 400, 300, 200, 77, 12, 5]];
    const refAll = await ref.appendAll(prompts[0]);
    const ortAll = await ort.appendAll(prompts[0]);
    const tol = bound(refAll);
    const d = maxAbsDiff(ortAll, refAll);
    expect(d.max, `max |ORT − reference| at row ${Math.floor(d.at / ex.config.nVocab)}`).toBeLessThanOrEqual(tol);
    if (random) {
      const lcpp = readF32(`${dir}${name}/${e.dequantized_f32_reference ? e.dequantized_f32_reference.prompt0_logits.file : e.prompt0_logits.file}`);
      expect(maxAbsDiff(ortAll, lcpp).max, 'max |ORT − llama.cpp|').toBeLessThanOrEqual(REL * Math.max(1, ...Array.from(lcpp, Math.abs)));
    }
    // a decode step after the prompt, through the KV cache, against a fresh reference row
    const next = argmax(refAll.subarray(refAll.length - ex.config.nVocab));
    expect(maxAbsDiff(await ort.append([next]), await ref.eval([next], 'last')).max).toBeLessThanOrEqual(tol);
    for (const prompt of prompts) {
      const a = await greedy(ref, prompt, 32);
      const b = await greedy(ort, prompt, 32);
      // near-ties: compare up to the first step whose reference margin is below 2 × the bound
      ref.truncate(0);
      const all = await ref.appendAll([...prompt, ...a.slice(0, -1)]);
      let agree = a.length;
      for (let s = 0; s < a.length; s++) {
        const row = all.subarray((prompt.length - 1 + s) * ex.config.nVocab, (prompt.length + s) * ex.config.nVocab);
        const sorted = Array.from(row).sort((x, y) => y - x);
        if (sorted[0] - sorted[1] < 2 * tol) {
          agree = s;
          break;
        }
      }
      expect(b.slice(0, agree)).toEqual(a.slice(0, agree));
    }
  });

  it('reuses and truncates its cache: a prefix kept, the rest recomputed, the same logits', async () => {
    const { ort } = await both(rel);
    const tokens = random ? e.prompts[0].tokens.slice(0, 12) : [1, 400, 300, 200, 77, 12, 5, 9, 40, 41, 42, 43];
    const whole = await ort.appendAll(tokens);
    ort.truncate(5);
    expect(ort.commonPrefix(tokens)).toBe(5);
    const rest = await ort.appendAll(tokens.slice(5));
    expect(maxAbsDiff(rest, whole.subarray(5 * ort.nVocab)).max).toBeLessThanOrEqual(bound(whole));
  });
});

describe('Q8_0 as f32 (--q8 f32)', () => {
  it('gives the same logits as 8-bit MatMulNBits, within the bound', async () => {
    const rel = 'models/random/llama-gqa-q8_0/llama-gqa-q8_0.gguf';
    const prompt = readJson('models/random/llama-gqa-q8_0/expected.json').prompts[0].tokens;
    const a = await (await both(rel, 'nbits')).ort.appendAll(prompt);
    const { ort, ex } = await both(rel, 'f32');
    expect([...ex.weights.values()].some((w) => w.startsWith('MatMulNBits'))).toBe(false);
    expect(maxAbsDiff(await ort.appendAll(prompt), a).max).toBeLessThanOrEqual(bound(a));
  });
});

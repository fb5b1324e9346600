/**
 * LoRA adapters at run time (src/formats/lora.ts, src/model/lora.ts), against llama.cpp itself.
 *
 * Random adapters (rank 4 and 8, alpha 16, every attention and feed-forward matrix and the output)
 * written by Cria's own writer for the random-weight fixtures are loaded by llama.cpp
 * (node-llama-cpp's `lora` context option) and by Cria, and the log-probabilities at every prompt
 * position compared:
 * - F32 bases on the CPU reference (llama, qwen2 with biases, phi3 whose file already fuses
 *   attn_qkv): 1e-3, the bound the reference meets on F32 models against live llama.cpp
 *   (llamacpp-live.test.ts: float32 against float64 sums);
 * - the Q8_0 llama on the WebAssembly backend, which fuses q|k|v and gate|up at load (so the
 *   adapters go through the stacked-A, block-diagonal-B path) and takes llama.cpp's int8 arithmetic:
 *   0.35, wasm-model.test.ts's bound for quantized models (a last-bit difference in one activation
 *   can flip one int8 value);
 * and each adapter must move the base model's log-probabilities by far more than the bound (so the
 * comparison can fail). Also: the adapter equals a model with merged weights W + s·B·A (independent
 * of llama.cpp), scale 0 and no adapter give the base logits bit for bit, adapters swap between
 * calls without reloading, and hostile or mismatched adapters are refused naming what is wrong.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { GgmlType, ggmlTypeInfo } from '../../src/formats/ggml-types.ts';
import { readGguf, readTensorBytes, type GgufFile } from '../../src/formats/gguf.ts';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { readLoraAdapter, type LoraWriteInput } from '../../src/formats/lora.ts';
import { dequantize } from '../../src/formats/quant.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import { createNodeWasmBackend } from '../../src/wasm/node.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { fixtureGguf, readJson } from './helpers/models.ts';
import { adapterBytes, randomAdapter } from './helpers/lora.ts';
import { llamaCppLogprobs, openLlama, type Llama } from './helpers/llamacpp.ts';
import { refusal } from './helpers/caught.ts';
import { mergeLora } from '../../src/train/merge.ts';
import { concatBytes } from '../../src/shared/bytes.ts';


let llama: Llama;
const dir = mkdtempSync(join(tmpdir(), 'cria-lora-'));

beforeAll(async () => {
  llama = await openLlama();
});
afterAll(async () => {
  await llama?.dispose();
});

/** llama.cpp's next-token log-probabilities at every prompt position, with the adapter at `scale` (none: the base model). */
const llamaCpp = (modelPath: string, tokens: number[], nVocab: number, lora?: { path: string; scale: number }) => llamaCppLogprobs(llama, modelPath, tokens, nVocab, lora ? { lora } : {});

async function criaLogprobs(model: Model, tokens: number[]): Promise<Float64Array> {
  const nVocab = model.config.nVocab;
  const logits = await new Session(model, { nCtx: 256 }).eval(tokens, 'all');
  const out = new Float64Array(logits.length);
  for (let r = 0; r < tokens.length; r++) out.set(logSoftmax(logits.subarray(r * nVocab, (r + 1) * nVocab)), r * nVocab);
  return out;
}

/** max |a − b| over entries where llama.cpp's probability is not 0 (it reports only tokens it keeps) */
function maxDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const CASES = [
  { name: 'llama-gqa-f32', backend: 'reference', tol: 1e-3 },
  { name: 'qwen2-f32', backend: 'reference', tol: 1e-3 },
  { name: 'phi3-f32', backend: 'reference', tol: 1e-3 },
  { name: 'llama-gqa-q8_0', backend: 'wasm', tol: 0.35 },
] as const;

describe.each(CASES)('a random adapter on $name ($backend) against llama.cpp with the same adapter', ({ name, backend, tol }) => {
  const rel = `models/random/${name}/${name}.gguf`;
  const e = readJson(`models/random/${name}/expected.json`);
  const tokens: number[] = e.prompts[0].tokens;

  it('log-probabilities at every prompt position agree, at scale 1 and 0.5; the adapter moves them far more than the bound', async () => {
    const base = await fixtureGguf(rel);
    const nVocab = Number(e.hyperparameters.n_vocab);
    const lora = randomAdapter(base, 5);
    const path = join(dir, `${name}.lora.gguf`);
    writeFileSync(path, adapterBytes(lora));
    const model = (backend === 'wasm' ? await Model.load(base, await createNodeWasmBackend({ threads: 1 })) : await Model.load(base, new CpuBackend())) as Model;
    const added = await model.addAdapter('a', await readGguf(bytesSource(adapterBytes(lora), 'a.gguf')));
    expect(added.adapter.pairs.size).toBe(lora.pairs.length);
    const baseLp = await criaLogprobs(model, tokens);
    const lines: string[] = [];
    for (const scale of [1, 0.5]) {
      model.setAdapters([{ id: 'a', scale }]);
      const got = await criaLogprobs(model, tokens);
      const want = await llamaCpp(fixturePath(rel), tokens, nVocab, { path, scale });
      const d = maxDiff(got, want);
      const moved = maxDiff(got, baseLp);
      lines.push(`scale ${scale}: max |Δ logprob| vs llama.cpp ${d.toExponential(2)} (bound ${tol}), adapter moved them by up to ${moved.toFixed(2)}`);
      expect(d, `scale ${scale}`).toBeLessThan(tol);
      expect(moved, 'the adapter changes the model by far more than the bound').toBeGreaterThan(Math.max(20 * tol, 1));
    }
    console.log(`LoRA on ${name} (${backend}, ${lora.pairs.length} matrices): ${lines.join('; ')}`);
    model.backend.dispose();
  }, 120_000);
});

/** the base model with W + s·B·A written into each adapted weight (F32 bases only) */
async function mergedModel(base: GgufFile, lora: LoraWriteInput, scale: number): Promise<Uint8Array> {
  const byTarget = new Map(lora.pairs.map((p) => [p.target, p]));
  const tensors = [];
  for (const t of base.tensors) {
    let data = await readTensorBytes(base, t);
    const p = byTarget.get(t.name);
    if (p) {
      const w = dequantize(t.type, data, t.nElements).slice();
      const s = (scale * lora.alpha) / p.rank;
      for (let o = 0; o < p.outDim; o++)
        for (let i = 0; i < p.inDim; i++) {
          let acc = 0;
          for (let k = 0; k < p.rank; k++) acc += p.b[o * p.rank + k]! * p.a[k * p.inDim + i]!;
          w[o * p.inDim + i] += s * acc;
        }
      data = new Uint8Array(w.buffer);
    }
    tensors.push({ name: t.name, type: t.type, dims: t.dims, data });
  }
  return writeGguf({ metadata: new Map(base.metadata), tensors });
}

describe('LoRA on the CPU reference, without llama.cpp', () => {
  it('equals the model with merged weights W + s·(alpha/r)·B·A', async () => {
    const base = await fixtureGguf('models/random/qwen2-f32/qwen2-f32.gguf');
    const lora = randomAdapter(base, 9);
    const tokens: number[] = readJson('models/random/qwen2-f32/expected.json').prompts[1].tokens;
    const model = await Model.load(base, new CpuBackend());
    await model.addAdapter('x', await readGguf(bytesSource(adapterBytes(lora))));
    model.setAdapters([{ id: 'x', scale: 0.75 }]);
    const got = await criaLogprobs(model, tokens);
    const merged = await Model.load(await readGguf(bytesSource(await mergedModel(base, lora, 0.75))), new CpuBackend());
    const want = await criaLogprobs(merged, tokens);
    // the same products summed in another order (float64 sums of f32 values): ~1e-6
    expect(maxDiff(got, want)).toBeLessThan(1e-4);
    expect(maxDiff(want, await criaLogprobs(await Model.load(base, new CpuBackend()), tokens))).toBeGreaterThan(0.5);
  });

  it('no adapter, or scale 0, gives the base logits bit for bit; two adapters swap and combine without reloading', async () => {
    const base = await fixtureGguf('models/random/llama-gqa-f32/llama-gqa-f32.gguf');
    const tokens: number[] = readJson('models/random/llama-gqa-f32/expected.json').prompts[0].tokens.slice(0, 12);
    const model = await Model.load(base, new CpuBackend());
    const plain = await new Session(model).eval(tokens, 'all');
    await model.addAdapter('one', await readGguf(bytesSource(adapterBytes(randomAdapter(base, 1)))));
    await model.addAdapter('two', await readGguf(bytesSource(adapterBytes(randomAdapter(base, 2)))));
    expect(model.adapterIds).toEqual(['one', 'two']);
    const run = async (list: { id: string; scale: number }[]) => {
      model.setAdapters(list);
      return new Session(model).eval(tokens, 'all');
    };
    expect(await run([{ id: 'one', scale: 0 }])).toEqual(plain);
    const one = await run([{ id: 'one', scale: 1 }]);
    const two = await run([{ id: 'two', scale: 1 }]);
    const both = await run([{ id: 'one', scale: 1 }, { id: 'two', scale: 1 }]);
    expect(await run([])).toEqual(plain);
    expect(model.activeAdapters).toEqual([]);
    expect(await run([{ id: 'one', scale: 1 }])).toEqual(one);
    const differ = (a: Float32Array, b: Float32Array) => a.some((v, i) => Math.abs(v - b[i]!) > 0.1);
    expect(differ(one, plain) && differ(two, plain) && differ(one, two) && differ(both, one) && differ(both, two)).toBe(true);
  });
});

describe('an adapter merged into the weights (mergeLora, llama.cpp\'s export-lora)', () => {
  it.each([
    // F32: the same products summed in another order (measured 2.7e-6); Q8_0: every weight of the adapted
    // matrices is rounded once more (to 1/254 of its block's largest value), measured 0.21 here across 45
    // positions with an adapter as large as the weights; bound 0.5, while a wrong merge is off by ~9 (vs the base)
    ['llama-gqa-f32', 1e-4],
    ['llama-gqa-q8_0', 0.5],
  ] as const)('%s: the merged model gives the log-probabilities of the base with the adapter applied', async (name, tol) => {
    const base = await fixtureGguf(`models/random/${name}/${name}.gguf`);
    const lora = randomAdapter(base, 13);
    const adapter = readLoraAdapter(await readGguf(bytesSource(adapterBytes(lora))), { arch: 'llama', tensors: base.tensorsByName });
    const merged = await readGguf(bytesSource(concatBytes(await mergeLora(base, adapter, 0.5))));
    expect(merged.tensors.map((t) => [t.name, t.type.name])).toEqual(base.tensors.map((t) => [t.name, t.type.name]));
    expect(String(merged.metadata.get('general.name')!.value)).toMatch(/\+ random-lora-13$/);
    const tokens: number[] = readJson(`models/random/${name}/expected.json`).prompts[0].tokens.slice(0, 16);
    const applied = await Model.load(base, new CpuBackend());
    await applied.addAdapter('a', adapter.file);
    applied.setAdapters([{ id: 'a', scale: 0.5 }]);
    const want = await criaLogprobs(applied, tokens);
    const got = await criaLogprobs(await Model.load(merged, new CpuBackend()), tokens);
    const d = maxDiff(got, want);
    console.log(`merged ${name}: max |Δ logprob| vs the adapter applied ${d.toExponential(2)} (bound ${tol}); vs the base ${maxDiff(got, await criaLogprobs(await Model.load(base, new CpuBackend()), tokens)).toFixed(2)}`);
    expect(d).toBeLessThan(tol);
    expect(maxDiff(got, await criaLogprobs(await Model.load(base, new CpuBackend()), tokens))).toBeGreaterThan(1);
  });
});

describe('adapters that cannot apply are refused, naming what is wrong', () => {
  const code = refusal;
  const llamaBase = () => fixtureGguf('models/random/llama-gqa-f32/llama-gqa-f32.gguf');
  const f32 = ggmlTypeInfo(GgmlType.F32)!;
  const ones = (n: number) => new Uint8Array(new Float32Array(n).fill(0.01).buffer);
  const file = (meta: [string, ReturnType<typeof gv.str>][], tensors: { name: string; dims: number[] }[]) =>
    readGguf(bytesSource(writeGguf({ metadata: meta, tensors: tensors.map((t) => ({ ...t, type: f32, data: ones(t.dims[0]! * t.dims[1]!) })) })));
  const LORA_META: [string, ReturnType<typeof gv.str>][] = [
    ['general.architecture', gv.str('llama')],
    ['general.type', gv.str('adapter')],
    ['adapter.type', gv.str('lora')],
    ['adapter.lora.alpha', gv.f32(8)],
  ];
  const Q = 'blk.0.attn_q.weight';

  it.each([
    ['a model file', [['general.architecture', gv.str('llama')]], [{ name: `${Q}.lora_a`, dims: [256, 4] }], /bad-file: .*not a LoRA adapter: its general.type is "\(none\)"/],
    ['another adapter type', [...LORA_META.filter(([k]) => k !== 'adapter.type'), ['adapter.type', gv.str('control_vector')]], [{ name: `${Q}.lora_a`, dims: [256, 4] }], /not-implemented: .*"control_vector" adapter/],
    ['another architecture', [...LORA_META.slice(1), ['general.architecture', gv.str('qwen2')]], [{ name: `${Q}.lora_a`, dims: [256, 4] }, { name: `${Q}.lora_b`, dims: [4, 256] }], /bad-argument: .*for a qwen2 model, and the model loaded is llama/],
    ['a lone A', LORA_META, [{ name: `${Q}.lora_a`, dims: [256, 4] }], /bad-file: .*blk\.0\.attn_q\.weight\.lora_a without its blk\.0\.attn_q\.weight\.lora_b/],
    ['ranks that differ', LORA_META, [{ name: `${Q}.lora_a`, dims: [256, 4] }, { name: `${Q}.lora_b`, dims: [8, 256] }], /bad-file: .*A has rank 4 and its B rank 8/],
    ['the wrong base shape', LORA_META, [{ name: `${Q}.lora_a`, dims: [128, 4] }, { name: `${Q}.lora_b`, dims: [4, 256] }], /bad-argument: .*blk\.0\.attn_q\.weight is \[256, 256\] in the model loaded.*another base model/],
    ['a tensor the model lacks', LORA_META, [{ name: 'blk.9.attn_q.weight.lora_a', dims: [256, 4] }, { name: 'blk.9.attn_q.weight.lora_b', dims: [4, 256] }], /bad-argument: .*adapts blk\.9\.attn_q\.weight, which the model loaded does not have/],
    ['the token embedding', LORA_META, [{ name: 'token_embd.weight.lora_a', dims: [4, 512] }, { name: 'token_embd.weight.lora_b', dims: [256, 4] }], /not-implemented: .*token embedding/],
    ['a stray tensor', LORA_META, [{ name: 'blk.0.attn_q.weight', dims: [256, 4] }], /bad-file: .*neither a \.lora_a nor a \.lora_b/],
    ['no tensors', LORA_META, [], /bad-file: .*holds no LoRA tensors/],
  ] as const)('%s', async (_what, meta, tensors, message) => {
    const base = await llamaBase();
    const f = await file(meta as [string, ReturnType<typeof gv.str>][], tensors as unknown as { name: string; dims: number[] }[]);
    expect(await code(() => readLoraAdapter(f, { arch: 'llama', tensors: base.tensorsByName }, 'the adapter'))).toMatch(message);
  });

  it('NaN values, an id used twice, an unknown id, a scale that is not a number', async () => {
    const base = await llamaBase();
    const model = await Model.load(base, new CpuBackend());
    const lora = randomAdapter(base, 3);
    lora.pairs[0]!.b[5] = NaN;
    expect(await code(async () => model.addAdapter('nan', await readGguf(bytesSource(adapterBytes(lora)))))).toMatch(/bad-file: .*lora_b holds a NaN or infinite value/);
    const good = await readGguf(bytesSource(adapterBytes(randomAdapter(base, 4))));
    await model.addAdapter('ok', good);
    expect(await code(() => model.addAdapter('ok', good))).toMatch(/bad-argument: an adapter with id "ok" is already loaded/);
    expect(await code(() => model.setAdapters([{ id: 'nope', scale: 1 }]))).toMatch(/bad-argument: no adapter "nope" is loaded for this model \(loaded: ok\)/);
    expect(await code(() => model.setAdapters([{ id: 'ok', scale: NaN }]))).toMatch(/bad-argument: the scale of adapter "ok" must be a finite number/);
    expect(await code(() => model.setAdapters([{ id: 'ok', scale: 1 }, { id: 'ok', scale: 2 }]))).toMatch(/bad-argument: an adapter is named twice/);
  });
});

/**
 * The ONNX runtime in Chromium, in the engine's worker, cross-checked against Cria's CPU reference on
 * the same weights: for stories260K and every F32, Q8_0 and Q4_0 random fixture of an architecture the
 * exporter supports, `exportOnnx` writes the repository, a real HTTP server on 127.0.0.1 serves it,
 * the page loads it by URL (through the model cache) on onnxruntime-web's WASM EP and on its WebGPU EP
 * (SwiftShader here), and returns the logits of every prompt position and 32 greedy tokens. The
 * reference runs here, in Node, on the GGUF.
 *
 * Tolerances (the same as the Node check, test/unit/onnx-export.test.ts, and why): |Δ| ≤ 1e-4 ·
 * max(1, max |logit|) at every position: both compute with the same f32 weights (Q4_0/Q8_0 through
 * MatMulNBits: the same codes and scales) and f32 activations, differing only in the order of f32
 * sums and exp/sqrt's last ulp. Greedy tokens equal up to the first reference step whose top-1/top-2
 * margin is below 2 × that bound (a near-tie).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { generate } from '../../src/engine/generate.ts';
import { Session } from '../../src/engine/session.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { GREEDY } from '../../src/sampling/sampler.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { maxAbsDiff } from '../unit/helpers/models.ts';

const fixtures = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const REL = 1e-4;
const GREEDY_TOKENS = 32;
const random = readdirSync(join(fixtures, 'models/random'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && /-(f32|q8_0|q4_0)$/.test(d.name))
  .map((d) => d.name)
  .filter((n) => ['llama', 'qwen2'].includes(JSON.parse(readFileSync(join(fixtures, 'models/random', n, 'expected.json'), 'utf8')).architecture))
  .sort();
const CASES = ['stories260K', ...random];

let server: ModelServer;
let root: string;

// a budget, not a timing assert: the first test of a fresh clone also waits for Vite to transform onnxruntime-web
// (its JS and 30 MB .wasm) for the page, which on the loaded 2-core machine once took it past the default 120 s
test.describe.configure({ timeout: 300_000 });

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cria-onnx-spec-'));
  server = await startModelServer({ port: 0, root });
});
test.afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Case {
  url: string;
  prompt: number[];
  nVocab: number;
  refLogits: Float32Array;
  refGreedy: number[];
  /** greedy steps before the first near-tie on the reference */
  agree: number;
  tol: number;
  /** a second prompt sharing the first's prefix (the cache is truncated to it), and the reference's greedy tokens after it */
  second: number[];
  secondGreedy: number[];
  secondAgree: number;
}

const prepared = new Map<string, Promise<Case>>();

/** Export the model (Q8_0 as 8-bit MatMulNBits, or as f32), serve it, and compute the reference's logits and greedy tokens. */
function prepare(name: string, q8: 'nbits' | 'f32' = 'nbits'): Promise<Case> {
  const key = `${name}-${q8}`;
  let p = prepared.get(key);
  if (!p) prepared.set(key, (p = prepareNow(name, q8)));
  return p;
}

async function prepareNow(name: string, q8: 'nbits' | 'f32'): Promise<Case> {
  const rel = name === 'stories260K' ? 'models/stories260K/stories260K-f32.gguf' : `models/random/${name}/${name}.gguf`;
  const prompt: number[] = name === 'stories260K' ? [1, 400, 300, 200, 77, 12, 5] : JSON.parse(readFileSync(join(fixtures, 'models/random', name, 'expected.json'), 'utf8')).prompts[0].tokens;
  const gguf = await readGguf(bytesSource(new Uint8Array(readFileSync(join(fixtures, rel))), rel));
  const ex = await exportOnnx(gguf, { externalThreshold: 64 << 10, q8 });
  for (const [path, bytes] of ex.files) {
    const at = join(root, `${name}-${q8}`, path);
    mkdirSync(dirname(at), { recursive: true });
    writeFileSync(at, bytes);
  }
  const nVocab = ex.config.nVocab;
  const ref = new Session(await Model.load(gguf, new CpuBackend()), { nCtx: Math.min(ex.config.nCtxTrain, 256) });
  const refLogits = await ref.appendAll(prompt);
  const tol = REL * Math.max(1, ...Array.from(refLogits, Math.abs));
  /** the reference's greedy tokens after `p`, and how many steps come before a near-tie */
  const greedy = async (p: number[]) => {
    ref.truncate(0);
    const it = generate(ref, { prompt: p, maxTokens: GREEDY_TOKENS, sampling: GREEDY });
    let r;
    while (!(r = await it.next()).done);
    const tokens = r.value.tokens;
    ref.truncate(0);
    const all = await ref.appendAll([...p, ...tokens.slice(0, -1)]);
    let agree = tokens.length;
    for (let s = 0; s < tokens.length; s++) {
      const row = Array.from(all.subarray((p.length - 1 + s) * nVocab, (p.length + s) * nVocab)).sort((x, y) => y - x);
      if (row[0] - row[1] < 2 * tol) {
        agree = s;
        break;
      }
    }
    return { tokens, agree };
  };
  const first = await greedy(prompt);
  const second = [...prompt.slice(0, Math.ceil(prompt.length / 2)), ...prompt.slice(0, 3)];
  const again = await greedy(second);
  return { url: `${server.url}/models/${name}-${q8}/`, prompt, nVocab, refLogits, refGreedy: first.tokens, agree: first.agree, tol, second, secondGreedy: again.tokens, secondAgree: again.agree };
}

for (const ep of ['wasm', 'webgpu'] as const) {
  test.describe(`onnxruntime-web's ${ep === 'wasm' ? 'WASM' : 'WebGPU'} EP in Chromium, against Cria's CPU reference on the GGUF`, () => {
    // on the WebGPU EP (SwiftShader: slow) one model per architecture and weight form is enough to check
    // its ops: stories260K (f32), llama Q4_0 (4-bit MatMulNBits), qwen2 Q8_0 (as f32, with biases); the
    // WASM EP runs every case
    for (const name of ep === 'wasm' ? CASES : CASES.filter((n) => ['stories260K', 'llama-gqa-q4_0', 'qwen2-q8_0'].includes(n))) {
      // the WebGPU EP computes MatMulNBits with 2 and 4 bits only: Q8_0 is checked there exported as f32
      // (cria export onnx --q8 f32), and the 8-bit export must be refused with a clear error (below)
      const q8 = ep === 'webgpu' && name.endsWith('q8_0') ? 'f32' : 'nbits';
      test(`${name}${q8 === 'f32' ? ' (Q8_0 exported as f32)' : ''}`, async ({ page }) => {
        const c = await prepare(name, q8);
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto('/test/gpu/pages/onnx.html');
        await page.waitForFunction(() => window.criaOnnx !== undefined);
        const r = await page.evaluate(([url, backend, prompt, n, second]) => window.criaOnnx!.run(url, backend, prompt, n, second), [c.url, ep, c.prompt, GREEDY_TOKENS, c.second] as const);
        expect(r.error).toBeNull();
        expect(r.info).toMatchObject({ runtime: 'onnx', backend: { kind: ep } });
        expect(r.backend).toContain(ep === 'wasm' ? 'WASM EP' : 'WebGPU EP');
        const d = maxAbsDiff(r.logits, c.refLogits);
        console.log(`${name} on the ${ep} EP: max |ORT − reference| ${d.max.toExponential(2)} (bound ${c.tol.toExponential(2)}), greedy agree ${c.agree}/${GREEDY_TOKENS}`);
        expect(d.max, `max |ORT (${ep}) − reference| at prompt position ${Math.floor(d.at / c.nVocab)}`).toBeLessThanOrEqual(c.tol);
        expect(r.tokens.slice(0, c.agree)).toEqual(c.refGreedy.slice(0, c.agree));
        // the second request keeps the first's prefix in the cache (truncated there: on WebGPU, copied on the device)
        expect(r.again.slice(0, c.secondAgree)).toEqual(c.secondGreedy.slice(0, c.secondAgree));
        expect(errors).toEqual([]);
      });
    }
  });
}

test('an 8-bit MatMulNBits graph on the WebGPU EP is refused before its weights are read, saying what to do', async ({ page }) => {
  const name = random.find((n) => n.endsWith('q8_0'))!;
  const c = await prepare(name, 'nbits');
  await page.goto('/test/gpu/pages/onnx.html');
  await page.waitForFunction(() => window.criaOnnx !== undefined);
  const r = await page.evaluate(([url, prompt]) => window.criaOnnx!.run(url, 'webgpu', prompt, 1), [c.url, c.prompt] as const);
  expect(r.error?.code).toBe('unsupported-type');
  expect(r.error?.message).toMatch(/8-bit MatMulNBits.*WebGPU.*backend "wasm".*--q8 f32/);
});

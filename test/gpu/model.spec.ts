/**
 * Whole models on WebGPU (SwiftShader here) against the CPU reference and llama.cpp:
 * - parity: every named intermediate of the forward pass vs the CPU reference; a failure names
 *   the FIRST tensor that diverges;
 * - stories260K F32/F16: greedy tokens equal expected_greedy.json, logits close to the stored ones;
 * - every random model: greedy tokens equal llama.cpp's (the dequantized-F32 twin for quantized
 *   files, see test/unit/model-random.test.ts for why), prompt-0 logits within tolerance.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';

const fixtures = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const json = (rel: string) => JSON.parse(readFileSync(fixtures + rel, 'utf8'));
const f32 = (rel: string) => {
  const b = readFileSync(fixtures + rel);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

async function open(page: Page) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/gpu/pages/model.html');
  await page.waitForFunction(() => window.criaModel !== undefined);
  return errors;
}

/**
 * GPU vs CPU reference, per named tensor: max|Δ| / max(1, max|ref|). The GPU accumulates in f32 (the
 * reference in f64), in a different order; over a few layers of width ≤ 1024 the relative error stays
 * near 1e-6 (measured ≤ ~3e-6). 1e-4 catches any wrong index, mask or scale while leaving ~30× headroom.
 */
const PARITY_BOUND = 1e-4;

/**
 * GPU logits vs llama.cpp (F32 models): both f32, different summation orders: measured ≤ ~2e-5;
 * bound 2e-4 (gemma2: 3e-3, llama.cpp's fp16 GELU table). Quantized models vs the dequantized twin:
 * same bounds (we multiply dequantized weights by f32 activations).
 */
const logitBound = (arch: string) => (arch === 'gemma2' ? 3e-3 : 2e-4);

const argmaxOf = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

const stories = json('models/stories260K/expected_greedy.json');

/**
 * The GPU paths parity runs (GpuBackend options) and the fewest tensors each has in common with the
 * reference for nLayer layers. `fused weights`: what the backend runs by default (wqkv, kqv_out,
 * ffn_inp, ffn_gate_up, ffn_act, l_out per layer + embeddings + logits); `plain weights`: one projection
 * per weight (what mixed-quant layers take), every named tensor. Both with f32 activations (GPUs'
 * default); the int8 activations (CPU adapters' default for Q8_0/Q4_0) are INT8_PATHS below.
 */
const PATHS = [
  ['fused weights', { fuseWeights: true, activations: 'f32' }, (nLayer: number) => 6 * nLayer + 2],
  ['plain weights', { fuseWeights: false, activations: 'f32' }, (nLayer: number) => 8 * nLayer + 2],
] as const;

/**
 * Int8 activations (src/reference/matmul_int8.ts): Q8_0/Q4_0 products quantize x per block of 32 first, as
 * llama.cpp's CPU backend does. Ground truth: the CPU reference with the same activations, per tensor
 * (PARITY_BOUND: the integers agree, so only f32 rounding differs, except a value at a rounding boundary
 * of x·127/max|x| going the other way), and llama.cpp's own logits (which round activations to Q8_0 too):
 * the bound model-random.test.ts uses for them, |Δ| < 0.35 and the same argmax wherever llama.cpp's
 * top1−top2 margin exceeds 0.7, and closer to them than the f32 activations. Measured on SwiftShader:
 * llama-gqa-q8_0 and phi3-q8_0 equal llama.cpp's logits to 1e-6, the others differ by 0.07–0.09 (one
 * flipped rounding propagates; f32 activations: 0.165–0.209).
 */
const INT8_PATHS = [
  ['int8 fused', { fuseWeights: true, activations: 'int8' }],
  ['int8 plain', { fuseWeights: false, activations: 'int8' }],
] as const;
const INT8_FILES = /-(q8_0|q4_0)$/;

for (const file of ['stories260K-f32.gguf', 'stories260K-f16.gguf']) {
  test(`stories260K ${file}: parity with the CPU reference, every named tensor (fused and plain paths)`, async ({ page }) => {
    const errors = await open(page);
    for (const [name, o, least] of PATHS) {
      const r = await page.evaluate(([u, t, b, opts]) => window.criaModel!.parity(u, t, b, opts), [`/fixtures/models/stories260K/${file}`, stories.teacher_forced_logits.tokens, PARITY_BOUND, o] as const);
      expect(r.tensors.length, `${name}: tensors compared`).toBeGreaterThanOrEqual(least(5));
      expect(r.firstBad, `${name}: first diverging tensor: ${JSON.stringify(r.firstBad)}`).toBeNull();
      console.log(`${file} (${name}): worst rel ${Math.max(...r.tensors.map((t) => t.rel)).toExponential(2)} over ${r.tensors.length} tensors`);
    }
    expect(errors).toEqual([]);
  });

  test(`stories260K ${file}: WebGPU greedy tokens equal expected_greedy.json (fused and plain weights)`, async ({ page }) => {
    await open(page);
    for (const [path, o] of PATHS) {
      for (const c of stories.cases) {
        const n = c.greedy_tokens.length - c.prompt_tokens.length;
        const r = await page.evaluate(([u, p, k, opts]) => window.criaModel!.greedy(u, p, k, opts), [`/fixtures/models/stories260K/${file}`, c.prompt_tokens, n, o] as const);
        expect(r.tokens, `${JSON.stringify(c.prompt)} (${path})`).toEqual(c.greedy_tokens.slice(c.prompt_tokens.length));
      }
    }
  });
}

test('stories260K F32: WebGPU teacher-forced logits within 1e-4 of the stored ones (fused and plain weights)', async ({ page }) => {
  await open(page);
  const tf = stories.teacher_forced_logits;
  const want = (tf.logits_per_position as number[][]).flat();
  for (const [path, o] of PATHS) {
    const got = await page.evaluate(([u, t, opts]) => window.criaModel!.logits(u, t, opts), ['/fixtures/models/stories260K/stories260K-f32.gguf', tf.tokens, o] as const);
    let max = 0;
    want.forEach((w, i) => (max = Math.max(max, Math.abs(w - got[i]))));
    // stored values are rounded to 1e-5; fp32 kernels: 1e-4 (the fixture README's bound)
    expect(max, path).toBeLessThan(1e-4);
    console.log(`stories260K F32 logits (${path}): max|Δ| ${max.toExponential(2)}`);
  }
});

test('the warm-up\'s compile-only batch (Backend.compileRecorded) compiles its pipelines and runs nothing; the same prompt then runs as if it had not been', async ({ page }) => {
  await open(page);
  const url = '/fixtures/models/stories260K/stories260K-f32.gguf';
  const prompt = [1, 403, 407, 261, 378, 6, 158, 29];
  const r = await page.evaluate(([u, p]) => window.criaModel!.compileOnly(u, p, 6), [url, prompt] as [string, number[]]);
  expect(r.compiled, 'nothing ran').toEqual({ dispatches: 0, submits: 0, bytesReadBack: 0 });
  expect(r.pipelines.afterCompile, 'the batch\'s pipelines were compiled').toBeGreaterThan(r.pipelines.before);
  // running the same batch needs no new pipeline; the decode steps after it may add their own (1-token variants)
  const plain = await page.evaluate(([u, p]) => window.criaModel!.greedy(u, p, 6), [url, prompt] as [string, number[]]);
  expect(r.tokens, 'greedy tokens equal a run without the compile-only pass').toEqual(plain.tokens);
  console.log(`compile-only batch of ${prompt.length}: pipelines ${r.pipelines.before} → ${r.pipelines.afterCompile} (after a real run: ${r.pipelines.afterRun}); tokens ${r.tokens.join(' ')}`);
});

test('decode makes one submit per token, reads back 4 bytes and creates no buffers', async ({ page }) => {
  await open(page);
  const r = await page.evaluate(([u, p, k]) => window.criaModel!.greedy(u, p, k), ['/fixtures/models/stories260K/stories260K-f32.gguf', [1], 9] as [string, number[], number]);
  expect(r.stats.length).toBeGreaterThan(2);
  for (const s of r.stats.slice(1)) {
    expect(s.submits).toBe(1);
    expect(s.bytesReadBack).toBe(4);
    expect(s.buffersCreated).toBe(0);
  }
  console.log(`stories260K decode step: ${JSON.stringify(r.stats[r.stats.length - 1])}`);
});

const randomDir = 'models/random/';
const cases = readdirSync(fixtures + randomDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

for (const name of cases) {
  test(`random ${name}: WebGPU vs llama.cpp (logits, greedy) and parity`, async ({ page }) => {
    const errors = await open(page);
    const e = json(`${randomDir}${name}/expected.json`);
    const url = `/fixtures/${randomDir}${name}/${name}.gguf`;
    const deq = e.dequantized_f32_reference;

    // both paths (mixed-quant files take the plain one for the layers whose parts differ in type)
    const parity: string[] = [];
    for (const [path, o] of PATHS) {
      const r = await page.evaluate(([u, t, b, opts]) => window.criaModel!.parity(u, t, b, opts), [url, e.prompts[2].tokens, PARITY_BOUND, o] as const);
      expect(r.firstBad, `${path}: first diverging tensor: ${JSON.stringify(r.firstBad)}`).toBeNull();
      parity.push(`${path} ${Math.max(...r.tensors.map((t) => t.rel)).toExponential(2)} over ${r.tensors.length}`);
    }

    const want = f32(`${randomDir}${name}/${deq ? deq.prompt0_logits.file : e.prompt0_logits.file}`);
    let max = 0;
    for (const [path, o] of PATHS) {
      const got = await page.evaluate(([u, t, opts]) => window.criaModel!.logits(u, t, opts), [url, e.prompts[0].tokens, o] as const);
      want.forEach((w, i) => (max = Math.max(max, Math.abs(w - got[i]))));
      expect(max, `max |Δlogit| vs ${deq ? 'the dequantized twin' : 'llama.cpp'} (${path})`).toBeLessThan(logitBound(e.architecture));
    }

    for (let p = 0; p < 3; p++) {
      const ref = deq ? deq.prompts[p] : e.prompts[p];
      const margins: number[] = deq ? ref.margins_top1_top2 : ref.steps.map((s: { margin_top1_top2: number }) => s.margin_top1_top2);
      const r = await page.evaluate(([u, t, k]) => window.criaModel!.greedy(u, t, k, { activations: 'f32' }), [url, e.prompts[p].tokens, 32] as [string, number[], number]);
      const firstTie = margins.findIndex((m) => m < 2 * logitBound(e.architecture));
      const n = firstTie < 0 ? 32 : firstTie + 1;
      expect(r.tokens.slice(0, n), `prompt ${p}`).toEqual(ref.greedy_continuation.slice(0, n));
    }
    let int8 = '';
    let int8Max = 0;
    if (INT8_FILES.test(name)) {
      const main = f32(`${randomDir}${name}/${e.prompt0_logits.file}`);
      const nVocab = e.hyperparameters.n_vocab;
      for (const [path, o] of INT8_PATHS) {
        const r = await page.evaluate(([u, t, b, opts]) => window.criaModel!.parity(u, t, b, opts), [url, e.prompts[2].tokens, PARITY_BOUND, o] as const);
        expect(r.firstBad, `${path}: first diverging tensor vs the int8 reference: ${JSON.stringify(r.firstBad)}`).toBeNull();
        const got = await page.evaluate(([u, t, opts]) => window.criaModel!.logits(u, t, opts), [url, e.prompts[0].tokens, o] as const);
        let m = 0;
        main.forEach((w, i) => (m = Math.max(m, Math.abs(w - got[i]))));
        expect(m, `${path}: max |Δlogit| vs llama.cpp's own (activation-rounded) logits`).toBeLessThan(0.35);
        int8Max = Math.max(int8Max, m);
        for (let row = 0; row < e.prompts[0].n_tokens; row++) {
          const ref = main.subarray(row * nVocab, (row + 1) * nVocab);
          const sorted = [...ref].sort((a, b) => b - a);
          if (sorted[0] - sorted[1] > 0.7) expect(argmaxOf(got.slice(row * nVocab, (row + 1) * nVocab)), `${path}: argmax at row ${row}`).toBe(argmaxOf(ref));
        }
        int8 += `; ${path}: parity ${Math.max(...r.tensors.map((t) => t.rel)).toExponential(2)} over ${r.tensors.length}, vs llama.cpp ${m.toExponential(2)}`;
      }
      // the f32 path against the same llama.cpp logits: further away
      const f = await page.evaluate(([u, t]) => window.criaModel!.logits(u, t, { activations: 'f32' }), [url, e.prompts[0].tokens] as const);
      let mf = 0;
      main.forEach((w, i) => (mf = Math.max(mf, Math.abs(w - f[i]))));
      expect(int8Max, 'int8 activations are closer to llama.cpp than f32 ones').toBeLessThan(mf);
      int8 += ` (f32 activations vs llama.cpp ${mf.toExponential(2)})`;
    }
    console.log(`${name}: logits max|Δ| ${max.toExponential(2)}, parity worst: ${parity.join('; ')}${int8}`);
    expect(errors).toEqual([]);
  });
}

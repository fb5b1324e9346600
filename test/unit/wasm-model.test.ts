/**
 * Whole models on the WebAssembly backend, in Node, against llama.cpp (the fixtures' goldens) and the
 * CPU reference:
 * - stories260K: greedy continuations equal llama.cpp's (the golden file);
 * - every random model whose types the backend computes with: prompt-0 logits at every position and
 *   32-step greedy continuations of three prompts.
 *
 * Tolerances, and why:
 * - F32 models: the same 1e-4 as the CPU reference (test/unit/model-random.test.ts): llama.cpp's own
 *   logits are f32 sums too; gemma2 3e-3 (ggml's GELU goes through an fp16 table, the kernel does not).
 * - Quantized models take llama.cpp's int8 arithmetic, so they are compared with llama.cpp's own
 *   logits: where no activation rounds differently, equal to ~1e-6; a last-bit difference in one
 *   activation can flip one int8 value and move logits by up to ~0.1 (the CPU reference's int8 path
 *   shows the same: 0.07–0.09, see model-random.test.ts); the bound is the reference's: 0.35, and the
 *   WebAssembly logits must be as close to llama.cpp's as the CPU reference's int8 path is (within
 *   that flip size, 0.1) and much closer than f32 activations where those differ by more than 0.15.
 * - Greedy tokens equal llama.cpp's up to the first step whose recorded top1−top2 margin is below
 *   twice the logit bound (a near-tie may legitimately flip after that).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { Model } from '../../src/model/model.ts';
import { argmax } from '../../src/sampling/sampler.ts';
import { createNodeWasmBackend } from '../../src/wasm/node.ts';
import { WASM_MATMUL_TYPES } from '../../src/wasm/kernels/matmul.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { fixtureGguf, loadCpuModel, maxAbsDiff, readF32, readJson } from './helpers/models.ts';

async function wasmModel(rel: string, threads = 1) {
  return Model.load(await fixtureGguf(rel), await createNodeWasmBackend({ threads }));
}

describe('stories260K on the WebAssembly backend', () => {
  const golden = readJson('models/stories260K/expected_greedy.json');
  const prompts: string[] = golden.cases.map((c: { prompt: string }) => c.prompt);
  it.each(prompts)('greedy continuation of %j equals llama.cpp', async (prompt) => {
    const c = golden.cases.find((x: { prompt: string }) => x.prompt === prompt);
    const s = new Session(await wasmModel('models/stories260K/stories260K-f32.gguf'));
    const want: number[] = c.greedy_tokens.slice(c.prompt_tokens.length);
    let logits = await s.eval(c.prompt_tokens);
    const got: number[] = [];
    while (got.length < want.length) {
      const id = argmax(logits);
      got.push(id);
      if (got.length < want.length) logits = await s.eval([id]);
    }
    expect(got).toEqual(want);
  });
});

const dir = 'models/random/';
const names = readdirSync(fixturePath(dir), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const supported = names.filter((n) => {
  const e = readJson(`${dir}${n}/expected.json`);
  return (e.tensor_types_present as string[]).every((t) => WASM_MATMUL_TYPES.has(t));
});

describe.each(supported)('random model %s on the WebAssembly backend', (name) => {
  const e = readJson(`${dir}${name}/expected.json`);
  const quantized = !!e.dequantized_f32_reference;
  const tol = quantized ? 0.35 : e.architecture === 'gemma2' ? 3e-3 : 1e-4;
  const file = `${dir}${name}/${name}.gguf`;

  it('prompt 0 logits at every position', async () => {
    const got = await new Session(await wasmModel(file)).eval(e.prompts[0].tokens, 'all');
    const main = readF32(`${dir}${name}/${e.prompt0_logits.file}`);
    const d = maxAbsDiff(got, main).max;
    expect(d, `vs llama.cpp`).toBeLessThan(tol);
    if (quantized) {
      const ref8 = await new Session(await loadCpuModel(file, { activations: 'int8' })).eval(e.prompts[0].tokens, 'all');
      const f32 = await new Session(await loadCpuModel(file)).eval(e.prompts[0].tokens, 'all');
      const dRef = maxAbsDiff(ref8, main).max;
      const dF32 = maxAbsDiff(f32, main).max;
      console.log(`${name}: WebAssembly vs llama.cpp ${d.toExponential(2)}; CPU reference int8 ${dRef.toExponential(2)}, f32 activations ${dF32.toExponential(2)}`);
      expect(d, 'as close to llama.cpp as the reference int8 path, within one rounding flip').toBeLessThan(dRef + 0.1);
      if (dF32 > 0.15) expect(d).toBeLessThan(dF32);
    }
  });

  it('two threads give the same logits bit for bit (every row, every head is computed whole by one thread)', async () => {
    const one = await new Session(await wasmModel(file)).eval(e.prompts[0].tokens, 'all');
    const m2 = await wasmModel(file, 2);
    const two = await new Session(m2).eval(e.prompts[0].tokens, 'all');
    m2.backend.dispose();
    expect(maxAbsDiff(two, one).max).toBe(0);
  });

  it.each([0, 1, 2])('greedy continuation of prompt %i', async (p) => {
    const s = new Session(await wasmModel(file));
    const ref = e.prompts[p];
    const want: number[] = ref.greedy_continuation;
    const margins: number[] = ref.steps.map((st: { margin_top1_top2: number }) => st.margin_top1_top2);
    let logits = await s.eval(ref.tokens);
    const got: number[] = [];
    while (got.length < want.length) {
      const id = argmax(logits);
      got.push(id);
      logits = await s.eval([id]);
    }
    const firstTie = margins.findIndex((m) => m < 2 * Math.min(tol, 0.1));
    const n = firstTie < 0 ? want.length : firstTie + 1;
    expect(got.slice(0, n)).toEqual(want.slice(0, n));
  });
});

/**
 * Every random-weight model in fixtures/models/random against llama.cpp
 * (libllama v0.5.0, CPU): prompt-0 logits at every position and 32-step
 * greedy continuations of three prompts, on the CPU reference engine.
 *
 * Ground truth per the fixture README's numerics section:
 * - F32 models: llama.cpp's own logits. Tolerance 1e-4 (float64 numpy agrees
 *   with llama.cpp to 4–6e-6; we measure ≈ 5e-6). gemma2: 3e-3, because
 *   ggml evaluates GELU through an fp16 lookup table (numpy-vs-llama.cpp
 *   1.2e-3; we measure 1.2e-3).
 * - Quantized / F16 models: we multiply dequantized weights by f32
 *   activations, so we compare tightly (same 1e-4) with llama.cpp run on the
 *   dequantized-F32 twin (`dequantized_f32_reference`), and only loosely with
 *   llama.cpp's own numbers, which round activations to Q8_0/Q8_K/F16 first:
 *   |Δ| < 0.35 everywhere, and the same argmax wherever llama.cpp's
 *   top1−top2 margin exceeds 0.7 (twice that bound).
 * - Q8_0/Q4_0 models with int8 activations (CpuBackend `activations: 'int8'`, the reference of the
 *   WebGPU backend's default on CPU adapters): x quantized per block of 32 as llama.cpp's CPU backend
 *   does for these types (f16 block scales included), so compared with llama.cpp's own logits: the loose
 *   bound above, and closer to them than the f32 activations are. Measured: phi3-q8_0 and qwen3-q8_0
 *   equal llama.cpp's logits (max |Δ| < 1e-5); the others differ by 0.07–0.09 (f32 activations:
 *   0.165–0.209) because the rounding to 8 bits is discontinuous: a last-bit difference in some x flips
 *   one integer and the difference propagates (the fixtures' README sees ≈ 0.11 between two llama.cpp
 *   versions). On WebGPU, where the sums are ordered differently, the exact ones are two others.
 * - Greedy tokens must equal the reference continuation up to the first step
 *   whose recorded margin is below 2× the logit tolerance (after that a tie
 *   could legitimately flip); in practice all 32 steps match.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { argmax } from '../../src/sampling/sampler.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { loadCpuModel, maxAbsDiff, readF32, readJson } from './helpers/models.ts';

const dir = 'models/random/';
const caseNames = readdirSync(fixturePath(dir), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe.each(caseNames)('random model %s on the CPU reference', (name) => {
  const e = readJson(`${dir}${name}/expected.json`);
  const deq = e.dequantized_f32_reference;
  const tol = e.architecture === 'gemma2' ? 3e-3 : 1e-4;
  const nVocab = e.hyperparameters.n_vocab;

  it('prompt 0 logits at every position', async () => {
    const model = await loadCpuModel(`${dir}${name}/${name}.gguf`);
    const s = new Session(model);
    const logits = await s.eval(e.prompts[0].tokens, 'all');
    const main = readF32(`${dir}${name}/${e.prompt0_logits.file}`);
    const tight = deq ? readF32(`${dir}${name}/${deq.prompt0_logits.file}`) : main;
    const d = maxAbsDiff(logits, tight);
    expect(d.max, `vs ${deq ? 'dequantized twin' : 'llama.cpp'}: max |Δ| ${d.max} at row ${Math.floor(d.at / nVocab)} col ${d.at % nVocab}`).toBeLessThan(tol);
    if (deq) {
      const loose = maxAbsDiff(logits, main);
      expect(loose.max, `vs llama.cpp's activation-rounded logits`).toBeLessThan(0.35);
      for (let r = 0; r < e.prompts[0].n_tokens; r++) {
        const row = main.subarray(r * nVocab, (r + 1) * nVocab);
        const top = argmax(row);
        let second = -Infinity;
        row.forEach((v, i) => {
          if (i !== top && v > second) second = v;
        });
        if (row[top] - second > 0.7) expect(argmax(logits.subarray(r * nVocab, (r + 1) * nVocab)), `argmax at row ${r}`).toBe(top);
      }
    }
  });

  // only the files whose products take int8 activations (a test per file, no skipped ones elsewhere)
  if (/-(q8_0|q4_0)$/.test(name)) it('int8 activations: prompt 0 logits against llama.cpp\'s own', async () => {
    const file = `${dir}${name}/${name}.gguf`;
    const main = readF32(`${dir}${name}/${e.prompt0_logits.file}`);
    const int8 = await new Session(await loadCpuModel(file, { activations: 'int8' })).eval(e.prompts[0].tokens, 'all');
    const f32 = await new Session(await loadCpuModel(file)).eval(e.prompts[0].tokens, 'all');
    const d8 = maxAbsDiff(int8, main).max;
    const d32 = maxAbsDiff(f32, main).max;
    expect(d8, 'int8 activations vs llama.cpp').toBeLessThan(0.35);
    expect(d8, `int8 activations (${d8}) are closer to llama.cpp than f32 ones (${d32})`).toBeLessThan(d32);
    expect(maxAbsDiff(int8, f32).max, 'the two paths differ (the int8 one is taken)').toBeGreaterThan(1e-3);
  });

  it.each([0, 1, 2])('greedy continuation of prompt %i', async (p) => {
    const model = await loadCpuModel(`${dir}${name}/${name}.gguf`);
    const s = new Session(model);
    const ref = deq ? deq.prompts[p] : e.prompts[p];
    const want: number[] = ref.greedy_continuation;
    const margins: number[] = deq ? ref.margins_top1_top2 : ref.steps.map((st: any) => st.margin_top1_top2);
    let logits = await s.eval(e.prompts[p].tokens);
    const got: number[] = [];
    while (got.length < want.length) {
      const id = argmax(logits);
      got.push(id);
      logits = await s.eval([id]);
    }
    const firstTie = margins.findIndex((m) => m < 2 * tol);
    const n = firstTie < 0 ? want.length : firstTie + 1;
    expect(got.slice(0, n)).toEqual(want.slice(0, n));
  });
});

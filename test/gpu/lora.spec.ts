/**
 * LoRA adapters on WebGPU (SwiftShader here): the GPU backend applies an adapter through its own
 * f32 matmul kernels, and fuses q|k|v and gate|up at load, so the adapter's fused form (stacked A,
 * block-diagonal B: src/model/lora.ts) is what runs. Compared with the CPU reference with the same
 * adapter (in this Node process; the reference itself matches llama.cpp with the adapter to ~1e-5,
 * test/unit/lora.test.ts):
 * - F32 base, f32 activations, fused and plain weights: logits within 1e-4 · max(1, max|logit|), the
 *   parity bound of model.spec.ts (f32 against f64 sums, measured ~1e-6 relative);
 * - Q8_0 base with int8 activations (llama.cpp's arithmetic): within 0.35, the bound of the int8 path
 *   against llama.cpp (a last-bit difference can flip one int8 value of x);
 * and the adapter moves the logits by far more than either bound; scale 0 gives the base logits.
 * A decode step with the adapter is still one submit, reads back 4 bytes and creates no buffers (its
 * products are 2 more matmuls and a scale per adapted weight, recorded in the same submit).
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { Session } from '../../src/engine/session.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { FIXTURES_DIR } from '../server/model-server.ts';
import { adapterBytes, randomAdapter } from '../unit/helpers/lora.ts';
import type { LoraReport } from './pages/model.ts';

test.setTimeout(180_000);

const CASES = [
  { name: 'llama-gqa-f32', opts: { fuseWeights: true, activations: 'f32' as const }, path: 'fused weights' },
  { name: 'llama-gqa-f32', opts: { fuseWeights: false, activations: 'f32' as const }, path: 'plain weights' },
  { name: 'qwen2-q8_0', opts: { fuseWeights: true, activations: 'int8' as const }, path: 'fused weights, int8 activations' },
];

for (const c of CASES) {
  test(`a random adapter on ${c.name} (${c.path}): WebGPU logits equal the CPU reference's with the adapter; one submit per decoded token`, async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/test/gpu/pages/model.html');
    await page.waitForFunction(() => window.criaModel !== undefined);
    const rel = `models/random/${c.name}/${c.name}.gguf`;
    const e = JSON.parse(readFileSync(`${FIXTURES_DIR}/models/random/${c.name}/expected.json`, 'utf8'));
    const tokens: number[] = e.prompts[0].tokens.slice(0, 24);
    const base = await readGguf(bytesSource(new Uint8Array(readFileSync(`${FIXTURES_DIR}/${rel}`))));
    const bytes = adapterBytes(randomAdapter(base, 21));
    const scales = [1, 0.5, 0];

    const ref = await Model.load(base, new CpuBackend(c.opts.activations === 'int8' ? { activations: 'int8' } : {}));
    await ref.addAdapter('a', await readGguf(bytesSource(bytes)));
    const want: Float32Array[] = [];
    for (const scale of scales) {
      ref.setAdapters(scale === 0 ? [] : [{ id: 'a', scale }]);
      want.push(await new Session(ref).eval(tokens, 'all'));
    }

    const r: LoraReport = await page.evaluate(([u, b, t, s, o]) => window.criaModel!.lora(u, b, t, s, o), [`/fixtures/${rel}`, Buffer.from(bytes).toString('base64'), tokens, scales, c.opts] as const);
    const lines: string[] = [];
    scales.forEach((scale, k) => {
      const got = r.logits[k]!;
      let d = 0;
      let top = 0;
      want[k]!.forEach((w, i) => {
        d = Math.max(d, Math.abs(w - got[i]!));
        top = Math.max(top, Math.abs(w));
      });
      const bound = c.opts.activations === 'int8' ? 0.35 : 1e-4 * Math.max(1, top);
      lines.push(`scale ${scale}: max |Δlogit| ${d.toExponential(2)} (bound ${bound.toExponential(2)})`);
      expect(d, `scale ${scale}`).toBeLessThan(bound);
    });
    let moved = 0;
    want[0]!.forEach((w, i) => (moved = Math.max(moved, Math.abs(w - want[2]![i]!))));
    expect(moved, 'the adapter moves the logits by far more than the bound').toBeGreaterThan(2);
    expect(r.step).toMatchObject({ submits: 1, bytesReadBack: 4, buffersCreated: 0 });
    expect(r.step.dispatches).toBeGreaterThan(r.stepWithout.dispatches);
    console.log(`LoRA on WebGPU, ${c.name} (${c.path}): ${lines.join('; ')}; adapter moved logits by up to ${moved.toFixed(2)}; a decode step ${r.step.dispatches} dispatches (${r.stepWithout.dispatches} without), 1 submit`);
    expect(errors).toEqual([]);
  });
}

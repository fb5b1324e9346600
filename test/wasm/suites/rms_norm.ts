/**
 * rms_norm against src/reference/rms_norm.ts. Both sum squares in f64; the kernel scales in f32
 * (x·s·w, two f32 roundings) where the reference rounds once: |error| ≤ 3·2^-24·|y| + the f32
 * rounding of s, so the bound is 1e-6·|y| + 1e-7.
 */
import { rmsNorm as reference } from '../../../src/reference/rms_norm.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { rmsNorm } from '../../../src/wasm/kernels/rms_norm.ts';
import { compare, type Suite } from '../harness.ts';

const CASES: [rows: number, cols: number, g: number][] = [
  [1, 1, 1],
  [1, 7, 7],
  [3, 64, 64],
  [2, 576, 576],
  [5, 256, 64], // per-head groups (qwen3's q/k norm)
  [4, 131, 131],
];

export const rmsNormSuite: Suite = {
  name: 'rms_norm',
  cases: CASES.map(([rows, cols, g]) => ({
    name: `${rows}×${cols} g=${g}`,
    run(ctx) {
      const rng = new Rng(rows * 101 + cols + g);
      const x = Float32Array.from({ length: rows * cols }, () => rng.normal() * 3);
      const w = Float32Array.from({ length: g }, () => 1 + 0.1 * rng.normal());
      ctx.heap.reset();
      const wp = ctx.heap.alloc(w.byteLength, 'w');
      ctx.heap.f32(wp, g).set(w);
      const xp = ctx.heap.scratch(x.byteLength);
      ctx.heap.f32(xp, x.length).set(x);
      const y = ctx.heap.f32(rmsNorm(ctx.run, ctx.heap, xp, rows, cols, wp, 1e-5, g), x.length).slice();
      const want = reference(x, cols, w, 1e-5, g);
      return compare('rms_norm', `${rows}×${cols} g=${g}`, y, want, (i) => 1e-6 * Math.abs(want[i]) + 1e-7);
    },
  })),
};

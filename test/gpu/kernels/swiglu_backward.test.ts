/** swiglu_backward on WebGPU vs src/reference/swiglu_backward.ts (float64 math, rounded to f32), which is checked against finite differences in test/unit/backward.test.ts. */
import { swigluBackward } from '../../../src/gpu/kernels/swiglu_backward.ts';
import { swigluBackward as reference } from '../../../src/reference/swiglu_backward.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  scale?: number;
}

export default defineSuite<Case>({
  kernel: 'swiglu_backward',
  cases: [
    { rows: 1, cols: 1 },
    { rows: 1, cols: 7 },
    { rows: 3, cols: 61 }, // prime
    { rows: 2, cols: 257 }, // not a multiple of WG
    { rows: 5, cols: 1536 }, // SmolLM2-135M FFN, a training batch
    { rows: 2, cols: 4864, scale: 20 }, // qwen2-0.5B FFN, large gates (σ saturates)
  ],
  name: (c) => `${c.rows}×${c.cols}${c.scale ? ` ×${c.scale}` : ''}`,
  async run(h, c) {
    const n = c.rows * c.cols;
    const s = c.scale ?? 3;
    const g = h.randn(n, 11, s);
    const u = h.randn(n, 12, 1);
    const dy = h.randn(n, 13, 1);
    const want = reference(g, u, dy);
    const got = swigluBackward(h.rec, h.tensor(c.rows, c.cols, g), h.tensor(c.rows, c.cols, u), h.tensor(c.rows, c.cols, dy));
    const [dg, du] = await h.readAll(got.dg, got.du);
    // both are products of dy, u (or g) and σ-terms in [0, 1.1]: f32 exp (a few ulp) and three multiplications,
    // measured against |dy·u·(1 + |g|)| (dg) and |dy·g| (du), the size of the terms they are made of
    const scaleG = Float64Array.from(g, (gi, i) => Math.abs(dy[i]! * u[i]! * (1 + Math.abs(gi))) || 1);
    const scaleU = Float64Array.from(g, (gi, i) => Math.abs(dy[i]! * gi) || 1);
    const both = (a: Float32Array, b: Float32Array, sa: Float64Array, sb: Float64Array) => Float64Array.from([...Float64Array.from(a, (v, i) => v / sa[i]!), ...Float64Array.from(b, (v, i) => v / sb[i]!)]);
    return compare(both(dg, du, scaleG, scaleU), both(want.dg, want.du, scaleG, scaleU), { atol: 2 ** -20, rtol: 2 ** -21, nmse: 1e-12, why: 'f32 exp and products vs f64, relative to the size of their terms' });
  },
});

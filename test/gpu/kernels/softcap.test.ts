/** softcap on WebGPU vs src/reference/softcap.ts (float64 math, rounded to f32). */
import { softcap } from '../../../src/gpu/kernels/softcap.ts';
import { softcap as reference } from '../../../src/reference/softcap.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  cap: number;
  scale?: number;
  extremes?: boolean;
}

const EDGES = [0, -0, 1e-30, -1e-6, 0.3, -0.3, 0.62, -0.62, 0.63, -0.63, 3, -3, 19.9, 20.1, -20.1, 1e4, -1e4, 1e30, -1e30, 3e38, -3e38];

export default defineSuite<Case>({
  kernel: 'softcap',
  cases: [
    { rows: 1, cols: 1, cap: 30 },
    { rows: 1, cols: 7, cap: 30 },
    { rows: 3, cols: 61, cap: 50 }, // prime
    { rows: 2, cols: 257, cap: 50 }, // not a multiple of WG
    { rows: 1, cols: 256000, cap: 30, scale: 10 }, // gemma2 final logits
    { rows: 8, cols: 4096, cap: 50, scale: 40 }, // gemma2 attention logits (8 heads × 4096 positions)
    { rows: 2, cols: 4096, cap: 30, scale: 1e4 }, // far into saturation
    { rows: 1, cols: EDGES.length, cap: 1, extremes: true },
  ],
  name: (c) => (c.extremes ? `edge values, cap ${c.cap}` : `${c.rows}×${c.cols} cap ${c.cap}${c.scale ? ` ×${c.scale}` : ''}`),
  async run(h, c) {
    const x = c.extremes ? Float32Array.from(EDGES) : h.randn(c.rows * c.cols, 7, c.scale ?? 1);
    const want = reference(x, c.cap);
    const got = await h.read(softcap(h.rec, h.tensor(c.rows, c.cols, x), c.cap));
    // y/cap = tanh(x/cap) ∈ [−1, 1]: x/cap rounds once, the polynomial branch is ≤ 2 ulp, the exp branch
    // loses a little more through e = e^(−2|t|); observed on SwiftShader ≤ 4 ulp of y. 8 ulp relative
    // plus cap·2⁻²⁴ absolute (for values next to ±cap) leave room for a GPU exp a few ulp worse.
    return compare(got, want, { atol: c.cap * 2 ** -24, rtol: 2 ** -20, nmse: 1e-12, why: 'f32 tanh (polynomial / exp) vs f64' });
  },
});

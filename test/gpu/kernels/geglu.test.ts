/** geglu on WebGPU (separate gate and up, or one fused gate|up tensor) vs src/reference/geglu.ts (float64 math, rounded to f32). */
import { geglu } from '../../../src/gpu/kernels/geglu.ts';
import { geglu as reference } from '../../../src/reference/geglu.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  scale?: number;
  /** the gate is a fixed list of edge values (0, ±tiny, around the clamps, ±1e30, ±3e38) */
  extremes?: boolean;
  /** one fused gate_up input [rows, 2·cols] (gate = first cols columns, up = the rest) */
  fused?: boolean;
}

const EDGES = [0, -0, 1e-6, -1e-6, 0.5, -0.5, 3, -3, 20, -20, 9.9, -9.9, 10.1, -10.1, 87.9, -87.9, 1e4, -1e4, 1e30, -1e30, 3e38, -3e38];

export default defineSuite<Case>({
  kernel: 'geglu',
  cases: [
    { rows: 1, cols: 1 },
    { rows: 1, cols: 7 },
    { rows: 3, cols: 61 }, // prime
    { rows: 2, cols: 257 }, // not a multiple of WG
    { rows: 5, cols: 4864 }, // qwen2-0.5B FFN
    { rows: 16, cols: 14336 }, // llama-3-8B FFN, a prefill chunk
    { rows: 2, cols: 8960, scale: 30 }, // large activations
    { rows: 1, cols: EDGES.length, extremes: true },
    // fused gate_up [rows, 2F]
    { rows: 1, cols: 1, fused: true },
    { rows: 3, cols: 61, fused: true },
    { rows: 1, cols: 1536, fused: true }, // SmolLM2-135M decode
    { rows: 7, cols: 4864, fused: true }, // qwen2-0.5B, prefill
    { rows: 2, cols: EDGES.length, extremes: true, fused: true },
  ],
  name: (c) => `${c.extremes ? `edge values ${c.rows}×${c.cols}` : `${c.rows}×${c.cols}${c.scale ? ` ×${c.scale}` : ''}`}${c.fused ? ' fused gate|up' : ''}`,
  async run(h, c) {
    const n = c.rows * c.cols;
    const s = c.scale ?? 3; // FFN gates reach ±10 in trained models
    const g = c.extremes ? Float32Array.from({ length: n }, (_, i) => EDGES[i % EDGES.length]) : h.randn(n, 5, s);
    // |up| < 1 on the edge row so g·up stays finite for g = ±3e38
    const u = c.extremes ? Float32Array.from({ length: n }, (_, i) => (i % 2 ? -0.5 : 0.75)) : h.randn(n, 6, s);
    const want = reference(g, u);
    let gu: Float32Array | undefined;
    if (c.fused) {
      gu = new Float32Array(2 * n);
      for (let r = 0; r < c.rows; r++) {
        gu.set(g.subarray(r * c.cols, (r + 1) * c.cols), 2 * r * c.cols);
        gu.set(u.subarray(r * c.cols, (r + 1) * c.cols), (2 * r + 1) * c.cols);
      }
    }
    const got = await h.read(gu ? geglu(h.rec, h.tensor(c.rows, 2 * c.cols, gu)) : geglu(h.rec, h.tensor(c.rows, c.cols, g), h.tensor(c.rows, c.cols, u)));
    // y = g·u·s with s = σ(2t(g)) ∈ [0, 1], so errors are measured against |g·u|: compare y/|g·u|.
    // exp's error grows with |x| (WGSL allows 3 + 2|x| ulp) but reaches y only through s(1 − s), which
    // is small exactly where |x| is large. Observed on SwiftShader: |Δ| ≤ 2.0e-7·|g·u| (≈ 2 ulp of s near
    // 1), and ≤ 9 ulp of y where s is tiny. atol 2⁻²¹ (4.8e-7) of |g·u| leaves 2.4× for a GPU whose exp
    // is a few ulp worse; rtol 2⁻²¹ of |y| adds the rounding of the final product.
    // The f64 reference itself cancels in ½g(1 + tanh t) for g ≲ −5 (it returns 0 where the true value
    // is ~1e-15·|g·u|); that error, ≤ 1.1e-16·|g·u|, is far inside atol.
    const norm = Float64Array.from(g, (gi, i) => Math.abs(gi * u[i]) || 1);
    return compare(
      Float64Array.from(got, (y, i) => y / norm[i]),
      Float64Array.from(want, (y, i) => y / norm[i]),
      { atol: 2 ** -21, rtol: 2 ** -21, nmse: 1e-12, why: 'f32 exp and division vs f64, relative to |g·u|' },
    );
  },
});

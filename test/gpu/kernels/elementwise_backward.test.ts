/**
 * geglu_backward and softcap_backward on WebGPU (through their launcher) vs src/reference/geglu_backward.ts
 * and softcap_backward.ts (float64), which are checked against finite differences in test/unit/backward.test.ts.
 */
import { gegluBackward, softcapBackward } from '../../../src/gpu/kernels/elementwise_backward.ts';
import { gegluBackward as refGeglu } from '../../../src/reference/geglu_backward.ts';
import { softcapBackward as refSoftcap } from '../../../src/reference/softcap_backward.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  op: 'geglu' | 'softcap';
  rows: number;
  cols: number;
  scale: number;
}

export default defineSuite<Case>({
  kernel: 'elementwise_backward',
  cases: [
    { op: 'geglu', rows: 1, cols: 1, scale: 1 },
    { op: 'geglu', rows: 3, cols: 61, scale: 3 },
    { op: 'geglu', rows: 2, cols: 9216, scale: 4 }, // gemma-2-2b FFN
    { op: 'geglu', rows: 1, cols: 257, scale: 40 }, // saturated tanh
    { op: 'softcap', rows: 1, cols: 7, scale: 10 },
    { op: 'softcap', rows: 4, cols: 256000, scale: 30 }, // gemma2 final logits (cap 30)
  ],
  name: (c) => `${c.op} ${c.rows}×${c.cols} ×${c.scale}`,
  async run(h, c) {
    const n = c.rows * c.cols;
    const x = h.randn(n, 61, c.scale);
    const dy = h.randn(n, 62);
    if (c.op === 'softcap') {
      const cap = 30;
      const want = refSoftcap(x, cap, dy);
      const got = await h.read(softcapBackward(h.rec, h.tensor(c.rows, c.cols, x), cap, h.tensor(c.rows, c.cols, dy)));
      // 1 − tanh² in f32: absolute error ~ a few ulp of 1, times |dy|
      return compare(got, want, { atol: 1e-6, rtol: 1e-5, nmse: 1e-11, why: 'f32 tanh (a few ulp) vs f64' });
    }
    const u = h.randn(n, 63);
    const want = refGeglu(x, u, dy);
    const got = gegluBackward(h.rec, h.tensor(c.rows, c.cols, x), h.tensor(c.rows, c.cols, u), h.tensor(c.rows, c.cols, dy));
    const [dg, du] = await h.readAll(got.dg, got.du);
    // the terms are up to |dy·u·x| in size (gelu' ≈ 1 + O(x·(1 − t²))): errors measured against that
    const sg = Float64Array.from(x, (v, i) => Math.abs(dy[i]! * u[i]!) * (1 + Math.abs(v)) || 1);
    const su = Float64Array.from(x, (v, i) => Math.abs(dy[i]! * v) || 1);
    const rel = (a: Float32Array, s: Float64Array) => Float64Array.from(a, (v, i) => v / s[i]!);
    return compare(Float64Array.from([...rel(dg, sg), ...rel(du, su)]), Float64Array.from([...rel(want.dg, sg), ...rel(want.du, su)]), { atol: 2e-6, rtol: 2e-6, nmse: 1e-11, why: 'f32 tanh and products vs f64, relative to the size of their terms' });
  },
});

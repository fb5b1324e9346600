/** rms_norm_backward on WebGPU vs src/reference/rms_norm_backward.ts (float64), which is checked against finite differences in test/unit/backward.test.ts. */
import { rmsNormBackward } from '../../../src/gpu/kernels/rms_norm_backward.ts';
import { rmsNormBackward as reference } from '../../../src/reference/rms_norm_backward.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  /** per-head groups (qwen3's q/k norms); default the row */
  group?: number;
}

export default defineSuite<Case>({
  kernel: 'rms_norm_backward',
  cases: [
    { rows: 1, cols: 1 },
    { rows: 1, cols: 7 },
    { rows: 3, cols: 61 }, // prime
    { rows: 5, cols: 64 }, // stories260K
    { rows: 4, cols: 576 }, // SmolLM2-135M
    { rows: 2, cols: 896 }, // Qwen2.5-0.5B
    { rows: 3, cols: 512, group: 64 }, // per-head groups
  ],
  name: (c) => `${c.rows}×${c.cols}${c.group ? `, groups of ${c.group}` : ''}`,
  async run(h, c) {
    const group = c.group ?? c.cols;
    const x = h.randn(c.rows * c.cols, 31, 2);
    const w = Float32Array.from(h.randn(group, 32, 0.3), (v) => 1 + v);
    const dy = h.randn(c.rows * c.cols, 33, 1);
    const want = reference(x, c.cols, w, 1e-5, dy, group).dx;
    const got = await h.read(rmsNormBackward(h.rec, h.tensor(c.rows, c.cols, x), h.tensor(1, group, w), 1e-5, h.tensor(c.rows, c.cols, dy), group));
    // dx = w·dy/r − x·k: two f32 sums over the group (x² and w·dy·x, ~n ulp each) and inverseSqrt (a few ulp)
    return compare(got, want, { atol: 2e-5, rtol: 1e-4, nmse: 1e-8, why: 'f32 sums over the group and inverseSqrt vs f64 (a group of 1: dx is nearly all cancellation, eps-sized)' });
  },
});

/** rms_norm on WebGPU vs src/reference/rms_norm.ts. */
import { rmsNorm } from '../../../src/gpu/kernels/rms_norm.ts';
import { rmsNorm as reference } from '../../../src/reference/rms_norm.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  group?: number;
  scale?: number;
}

export default defineSuite<Case>({
  kernel: 'rms_norm',
  cases: [
    { rows: 1, cols: 1 },
    { rows: 1, cols: 7 },
    { rows: 3, cols: 61 }, // prime, < WG
    { rows: 2, cols: 257 }, // not a multiple of WG
    { rows: 5, cols: 576 }, // SmolLM2-135M
    { rows: 1, cols: 4096 }, // 7–8B models
    { rows: 3, cols: 512, group: 64 }, // qwen3 per-head q norm
    { rows: 2, cols: 896, scale: 1000 }, // large activations
    { rows: 70000, cols: 2 }, // more groups than one grid dimension allows
  ],
  name: (c) => `${c.rows}×${c.cols}${c.group ? ` groups of ${c.group}` : ''}${c.scale ? ` ×${c.scale}` : ''}`,
  async run(h, c) {
    const group = c.group ?? c.cols;
    const x = h.randn(c.rows * c.cols, 1, c.scale ?? 1);
    const w = h.randn(group, 2);
    const eps = 1e-5;
    const want = reference(x, c.cols, w, eps, group);
    const got = await h.read(rmsNorm(h.rec, h.tensor(c.rows, c.cols, x), h.upload(w), eps, group));
    // f32 sum of squares in a tree vs float64 in the reference: relative error ~ log2(n)·2⁻²⁴ on the scale,
    // times |x·w| up to ~10 here; 1e-5 relative + 1e-5 absolute leaves ~10× headroom.
    return compare(got, want, { atol: 1e-5, rtol: 1e-5, nmse: 1e-10, why: 'f32 tree reduction vs f64 reference' });
  },
});

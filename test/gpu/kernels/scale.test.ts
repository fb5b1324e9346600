/** scale on WebGPU vs src/reference/scale.ts. */
import { scale } from '../../../src/gpu/kernels/scale.ts';
import { scale as reference } from '../../../src/reference/scale.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  s: number;
  xScale?: number;
}

export default defineSuite<Case>({
  kernel: 'scale',
  cases: [
    { rows: 1, cols: 1, s: 2 },
    { rows: 1, cols: 7, s: -0.5 },
    { rows: 3, cols: 61, s: 0.125 }, // prime
    { rows: 2, cols: 257, s: Math.sqrt(2304) }, // not a multiple of WG; gemma2-2b embedding scale (48)
    { rows: 5, cols: 3072, s: Math.sqrt(3072) }, // gemma-7b: √3072 is not an f32
    { rows: 64, cols: 2048, s: 1 / 3 }, // a prefill chunk
    { rows: 4, cols: 4096, s: 1e3, xScale: 1e4 }, // large activations
    { rows: 2, cols: 3, s: 0 },
  ],
  name: (c) => `${c.rows}×${c.cols} s=${c.s}${c.xScale ? ` x×${c.xScale}` : ''}`,
  async run(h, c) {
    const x = h.randn(c.rows * c.cols, 3, c.xScale ?? 1);
    // the kernel's s is an f32 uniform: compare against the reference with the same f32 s
    const want = reference(x, Math.fround(c.s));
    const got = await h.read(scale(h.rec, h.tensor(c.rows, c.cols, x), c.s));
    // one correctly rounded f32 multiply (f64 product of two f32 values is exact, then one rounding)
    return compare(got, want, { atol: 0, rtol: 0, nmse: 0, why: 'one correctly rounded f32 multiply: bit-exact' });
  },
});

/** add on WebGPU vs src/reference/add.ts. */
import { add } from '../../../src/gpu/kernels/add.ts';
import { add as reference } from '../../../src/reference/add.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  cols: number;
  scale?: number;
  /** cheap hashed values instead of normals, for the 16.8M-element grid test */
  hashed?: boolean;
}

/** Values in [−scale, scale) from an integer hash of i: fast enough for millions of elements. */
function hashed(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((Math.imul(i ^ seed, 0x9e3779b1) >>> 8) / 8388608 - 1) * scale;
  return out;
}

export default defineSuite<Case>({
  kernel: 'add',
  cases: [
    { rows: 1, cols: 1 },
    { rows: 1, cols: 7 },
    { rows: 3, cols: 61 }, // prime
    { rows: 2, cols: 257 }, // not a multiple of WG
    { rows: 5, cols: 896 }, // qwen2-0.5B residual
    { rows: 64, cols: 2048 }, // a prefill chunk
    { rows: 4, cols: 4096, scale: 1e4 }, // large activations
    { rows: 1, cols: 65536 * 256 + 3, hashed: true }, // more workgroups than one grid dimension allows
  ],
  name: (c) => `${c.rows}×${c.cols}${c.scale ? ` ×${c.scale}` : ''}`,
  async run(h, c) {
    const n = c.rows * c.cols;
    const s = c.scale ?? 1;
    const a = c.hashed ? hashed(n, 1, s) : h.randn(n, 1, s);
    const b = c.hashed ? hashed(n, 2, s) : h.randn(n, 2, s);
    const want = reference(a, b);
    const got = await h.read(add(h.rec, h.tensor(c.rows, c.cols, a), h.tensor(c.rows, c.cols, b)));
    // one IEEE f32 addition is correctly rounded; the reference adds in f64 and rounds to f32, which
    // gives the same value (f64 has ≥ 2·24 + 2 bits, so the double rounding is innocuous): exact.
    return compare(got, want, { atol: 0, rtol: 0, nmse: 0, why: 'one correctly rounded f32 add: bit-exact' });
  },
});

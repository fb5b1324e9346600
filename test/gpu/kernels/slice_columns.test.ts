/** slice_columns on WebGPU vs src/reference/slice_columns.ts. */
import { sliceColumns } from '../../../src/gpu/kernels/slice_columns.ts';
import { sliceColumns as reference } from '../../../src/reference/slice_columns.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  xCols: number;
  col0: number;
  cols: number;
  what?: string;
}

export default defineSuite<Case>({
  kernel: 'slice_columns',
  cases: [
    { rows: 1, xCols: 1, col0: 0, cols: 1 },
    { rows: 1, xCols: 7, col0: 3, cols: 4 },
    { rows: 3, xCols: 61, col0: 17, cols: 23 }, // primes
    { rows: 7, xCols: 300, col0: 1, cols: 257 }, // not a multiple of WG, odd offset
    { rows: 5, xCols: 896 + 2 * 128, col0: 896, cols: 128, what: 'qwen2-0.5B fused qkv → k' },
    { rows: 5, xCols: 3072 + 2 * 1024, col0: 3072 + 1024, cols: 1024, what: 'phi3 fused qkv → v' },
    { rows: 33, xCols: 2 * 8192, col0: 8192, cols: 8192, what: 'phi3 fused gate-up → up' },
    { rows: 2, xCols: 5, col0: 2, cols: 0, what: 'empty' },
  ],
  name: (c) => `${c.rows}×${c.xCols} [${c.col0}, ${c.col0 + c.cols})${c.what ? ` ${c.what}` : ''}`,
  async run(h, c) {
    const x = h.randn(c.rows * c.xCols, 4);
    const want = reference(x, c.xCols, c.col0, c.cols);
    const got = await h.read(sliceColumns(h.rec, h.tensor(c.rows, c.xCols, x), c.col0, c.cols));
    return compare(got, want, { atol: 0, rtol: 0, nmse: 0, why: 'a copy: bit-exact' });
  },
});

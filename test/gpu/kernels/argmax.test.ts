/**
 * argmax on WebGPU vs src/reference/argmax.ts (= the CPU sampler's argmax per row).
 * Indices must match exactly, including adversarial ties (lowest index wins, across threads,
 * workgroups and the two passes), NaN (never wins), ±∞ and −0 = +0.
 */
import { argmax } from '../../../src/gpu/kernels/argmax.ts';
import { argmax as reference } from '../../../src/reference/argmax.ts';
import type { Rng } from '../../../src/shared/rng.ts';
import { compare, defineSuite } from '../harness/suite.ts';

type Fill = 'randn' | 'ties' | 'nan' | 'plateau' | 'planted';

interface Case {
  rows: number;
  cols: number;
  fill: Fill;
  /** explicit rows (overrides rows/cols/fill) */
  values?: number[][];
  what?: string;
  /** for 'planted': columns that all get the row's maximum */
  at?: number[];
}

function make(c: Case, rng: Rng): Float32Array {
  if (c.values) return Float32Array.from(c.values.flat());
  const n = c.rows * c.cols;
  const x = Float32Array.from({ length: n }, () => rng.normal() * 4);
  for (let r = 0; r < c.rows; r++) {
    const row = x.subarray(r * c.cols, (r + 1) * c.cols);
    if (c.fill === 'ties') {
      // few distinct values: the maximum occurs many times in every row, in every chunk
      for (let i = 0; i < row.length; i++) row[i] = Math.round(row[i]);
    } else if (c.fill === 'nan') {
      // NaN in 1 of 7 places, and right after the true maximum
      for (let i = 0; i < row.length; i += 7) row[i] = NaN;
      const m = row.reduce((best, v, i) => (v > row[best] ? i : best), 1);
      if (m + 1 < row.length) row[m + 1] = NaN;
      row[0] = NaN;
    } else if (c.fill === 'plateau') {
      // every value equal: the answer is 0, whichever thread/chunk finishes first
      row.fill(1.5);
    } else if (c.fill === 'planted') {
      // the maximum planted at given columns (chunk and thread boundaries); ties → the lowest
      for (const a of c.at ?? []) row[a] = 100;
    }
  }
  return x;
}

export default defineSuite<Case>({
  kernel: 'argmax',
  cases: [
    { rows: 1, cols: 1, fill: 'randn' },
    { rows: 1, cols: 7, fill: 'randn' },
    { rows: 5, cols: 61, fill: 'randn' }, // prime, < WG
    { rows: 3, cols: 257, fill: 'ties' }, // not a multiple of WG
    { rows: 1, cols: 32000, fill: 'randn', what: 'llama2 vocab, split' },
    { rows: 1, cols: 49152, fill: 'ties', what: 'smollm2 vocab, split' },
    { rows: 2, cols: 151936, fill: 'nan', what: 'qwen2 vocab, split' },
    { rows: 1, cols: 256000, fill: 'plateau', what: 'gemma vocab, split' },
    { rows: 1, cols: 262144, fill: 'planted', at: [262143, 200000, 131072], what: 'ties across chunks' },
    { rows: 3, cols: 12289, fill: 'planted', at: [8192, 4096, 4095], what: 'chunk edges' },
    { rows: 1, cols: 12289, fill: 'planted', at: [12288], what: 'last element' },
    { rows: 2, cols: 9000, fill: 'planted', at: [4097, 511, 256, 255], what: 'thread edges' },
    { rows: 40, cols: 32000, fill: 'ties', what: 'scoring rows, one pass' },
    { rows: 33, cols: 5000, fill: 'nan', what: 'one pass, NaN' },
    {
      rows: 10,
      cols: 4,
      fill: 'randn',
      what: 'special values',
      values: [
        [NaN, NaN, NaN, NaN],
        [-Infinity, -Infinity, -Infinity, -Infinity],
        [NaN, -Infinity, NaN, -Infinity],
        [NaN, -Infinity, -3, NaN],
        [-1, 0, -0, -1],
        [-0, 0, -1, -2],
        [-1, -0, 0, -0],
        [1, Infinity, 2, Infinity],
        [-3.4e38, -3.4e38, -Infinity, NaN],
        [1e-45, -1e-45, 0, 1e-45],
      ],
    },
  ],
  name: (c) => `${c.values ? c.values.length : c.rows}×${c.values ? c.values[0].length : c.cols} ${c.fill}${c.what ? ` (${c.what})` : ''}`,
  async run(h, c) {
    const rows = c.values ? c.values.length : c.rows;
    const cols = c.values ? c.values[0].length : c.cols;
    const x = make(c, h.rng(11));
    const want = reference(x, cols);
    const out = argmax(h.rec, h.tensor(rows, cols, x));
    const read = h.rec.readback(out, 0, rows * 4);
    await h.rec.flush();
    const got = new Uint32Array(await read);
    return compare(got, want, { atol: 0, rtol: 0, nmse: 0, why: 'indices: exact' });
  },
});

/**
 * topk on WebGPU vs src/reference/topk.ts (= the CPU sampler's topIds per row, NaN as −∞).
 * Ids and values must match exactly, in order, including adversarial ties that straddle the cut
 * (so the lowest ids must be chosen among equal values, across threads, chunks and both passes),
 * chunks shorter than k, NaN, ±∞ and −0 = +0.
 */
import { decodeTopK, topk } from '../../../src/gpu/kernels/topk.ts';
import { topk as reference } from '../../../src/reference/topk.ts';
import type { Rng } from '../../../src/shared/rng.ts';
import { compare, defineSuite } from '../harness/suite.ts';

type Fill = 'randn' | 'ties' | 'nan' | 'plateau' | 'planted' | 'ulps';

interface Case {
  rows: number;
  cols: number;
  k: number;
  fill: Fill;
  /** 'planted': columns that all get the same large value */
  at?: number[];
  values?: number[][];
  what?: string;
}

function make(c: Case, rng: Rng): Float32Array {
  if (c.values) return Float32Array.from(c.values.flat());
  const x = Float32Array.from({ length: c.rows * c.cols }, () => rng.normal() * 4);
  for (let r = 0; r < c.rows; r++) {
    const row = x.subarray(r * c.cols, (r + 1) * c.cols);
    if (c.fill === 'ties') {
      // values on a coarse grid: the k-th value is shared by many ids, spread over every chunk
      for (let i = 0; i < row.length; i++) row[i] = Math.round(row[i] * 2) / 2;
    } else if (c.fill === 'nan') {
      for (let i = r; i < row.length; i += 5) row[i] = NaN;
      for (let i = 3; i < row.length; i += 11) row[i] = -Infinity;
    } else if (c.fill === 'plateau') {
      row.fill(-2.5);
    } else if (c.fill === 'planted') {
      for (const a of c.at ?? []) row[a] = 50;
    } else if (c.fill === 'ulps') {
      // distinct values one ulp apart, in a scrambled order: the threshold is found only by the
      // low key digits (every key shares its top 3 bytes)
      const base = new Uint32Array(Float32Array.of(3).buffer)[0];
      const bits = new Uint32Array(row.length);
      for (let i = 0; i < row.length; i++) bits[i] = base + ((Math.imul(i, 2654435761) >>> 0) % 200);
      row.set(new Float32Array(bits.buffer));
    }
  }
  return x;
}

const SPECIAL = [
  [NaN, NaN, NaN, NaN, NaN, NaN],
  [-Infinity, NaN, -Infinity, 1, NaN, -Infinity],
  [0, -0, -0, 0, -1, 1],
  [Infinity, 3.4e38, Infinity, -3.4e38, -Infinity, NaN],
  [1e-45, -1e-45, 0, -0, 1e-45, -1e-45],
];

export default defineSuite<Case>({
  kernel: 'topk',
  cases: [
    { rows: 1, cols: 1, k: 1, fill: 'randn' },
    { rows: 1, cols: 7, k: 40, fill: 'randn', what: 'k > cols' },
    { rows: 3, cols: 61, k: 5, fill: 'ties' }, // prime
    { rows: 2, cols: 257, k: 256, fill: 'ties', what: 'k = 256 ≈ cols' },
    { rows: 1, cols: 32000, k: 40, fill: 'randn', what: 'llama2 vocab, split' },
    { rows: 1, cols: 49152, k: 256, fill: 'ties', what: 'smollm2 vocab, split' },
    { rows: 2, cols: 151936, k: 50, fill: 'nan', what: 'qwen2 vocab, split' },
    { rows: 1, cols: 256000, k: 256, fill: 'plateau', what: 'gemma vocab, split, all equal' },
    { rows: 1, cols: 262144, k: 3, fill: 'planted', at: [262143, 200000, 131072, 70000, 65536, 4097, 4095], what: 'equal maxima across chunks' },
    { rows: 2, cols: 12289, k: 256, fill: 'ties', what: 'last chunk of 1 < k' },
    { rows: 1, cols: 5000, k: 64, fill: 'ulps', what: 'low key digits decide' },
    { rows: 32, cols: 10007, k: 40, fill: 'ties', what: 'many rows, one pass' },
    { rows: SPECIAL.length, cols: 6, k: 4, fill: 'randn', values: SPECIAL, what: 'NaN, ±∞, ±0' },
  ],
  name: (c) => `${c.rows}×${c.cols} k=${c.k} ${c.fill}${c.what ? ` (${c.what})` : ''}`,
  async run(h, c) {
    const x = make(c, h.rng(13));
    const want = reference(x, c.cols, c.k);
    const t = topk(h.rec, h.tensor(c.rows, c.cols, x), c.k);
    if (t.k !== want.k) throw new Error(`launcher k ${t.k}, reference k ${want.k}`);
    const read = h.rec.readback(t.buffer, 0, c.rows * t.k * 8);
    await h.rec.flush();
    const got = decodeTopK(await read, c.rows, t.k);
    // one array of ids then values; ±∞ as finite stand-ins so that equal infinities compare as equal
    const finite = (v: number) => (v === Infinity ? 1e300 : v === -Infinity ? -1e300 : v);
    const flat = (r: { ids: Uint32Array; values: Float32Array }) => Float64Array.from([...r.ids, ...Array.from(r.values, finite)]);
    return compare(flat(got), flat(want), { atol: 0, rtol: 0, nmse: 0, why: 'ids and values: exact (values are copies of logits)' });
  },
});

/**
 * Top-k reference, per row of `[rows, cols]` logits: the ids of the k largest values, sorted by
 * value descending, ties by lower id (src/sampling/sampler.ts topIds), and their values.
 * NaN counts as −∞ (and is reported as −∞: probability 0 for the sampler, instead of poisoning its
 * sums); −0 is reported as +0 (they tie). k is clamped to cols.
 */
import { topIds } from '../sampling/sampler.ts';

export function topk(logits: Float32Array, cols: number, k: number): { k: number; ids: Uint32Array; values: Float32Array } {
  const rows = cols > 0 ? logits.length / cols : 0;
  const kk = Math.min(k, cols);
  const ids = new Uint32Array(rows * kk);
  const values = new Float32Array(rows * kk);
  for (let r = 0; r < rows; r++) {
    const row = Float32Array.from(logits.subarray(r * cols, (r + 1) * cols), (v) => (Number.isNaN(v) ? -Infinity : v === 0 ? 0 : v));
    topIds(row, kk).forEach((id, j) => {
      ids[r * kk + j] = id;
      values[r * kk + j] = row[id];
    });
  }
  return { k: kk, ids, values };
}

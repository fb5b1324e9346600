/**
 * Scoring reference, per row r of `[rows, cols]` logits (float64 throughout):
 *   logprobs[r] = x[r, t] − log Σ_j e^(x[r, j]) with t = targets[r]   (NaN when t ≥ cols)
 *   argmax[r]   = src/sampling/sampler.ts argmax of the row (lowest index on ties, NaN never wins)
 */
import { argmax as argmaxRow } from '../sampling/sampler.ts';

export function logSoftmaxGather(logits: Float32Array, cols: number, targets: ArrayLike<number>): { logprobs: Float64Array; argmax: Uint32Array } {
  const rows = targets.length;
  const logprobs = new Float64Array(rows);
  const argmax = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * cols, (r + 1) * cols);
    let max = -Infinity;
    for (let i = 0; i < cols; i++) if (row[i] > max) max = row[i];
    let sum = 0;
    for (let i = 0; i < cols; i++) sum += Math.exp(row[i] - max);
    const t = targets[r];
    logprobs[r] = t < cols ? row[t] - max - Math.log(sum) : NaN;
    argmax[r] = argmaxRow(row);
  }
  return { logprobs, argmax };
}

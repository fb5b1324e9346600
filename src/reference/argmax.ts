/**
 * Argmax reference, per row of `[rows, cols]` logits: the index of the largest value, lowest index
 * on ties, NaN never wins (−∞ never wins either: a row with nothing above −∞ gives 0). This is
 * src/sampling/sampler.ts `argmax` applied to each row, so GPU greedy decoding picks what the CPU
 * sampler would.
 */
import { argmax as argmaxRow } from '../sampling/sampler.ts';

export function argmax(logits: Float32Array, cols: number): Uint32Array {
  const rows = cols > 0 ? logits.length / cols : 0;
  const out = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = argmaxRow(logits.subarray(r * cols, (r + 1) * cols));
  return out;
}

/**
 * RMSNorm reference. For each group of `groupSize` consecutive values of x
 * (default: a whole row): y = x / sqrt(mean(x²) + eps) · w, with w of length
 * groupSize. Sum of squares in float64 (ggml also sums in double).
 * x [rows, cols] → y [rows, cols]; w [groupSize].
 */
export function rmsNorm(x: Float32Array, cols: number, w: Float32Array, eps: number, groupSize = cols): Float32Array {
  const y = new Float32Array(x.length);
  for (let g0 = 0; g0 < x.length; g0 += groupSize) {
    let ss = 0;
    for (let i = 0; i < groupSize; i++) ss += x[g0 + i] * x[g0 + i];
    const s = 1 / Math.sqrt(ss / groupSize + eps);
    for (let i = 0; i < groupSize; i++) y[g0 + i] = x[g0 + i] * s * w[i];
  }
  return y;
}

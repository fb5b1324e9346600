/**
 * Backward of RMSNorm (src/reference/rms_norm.ts): y = x / r · w, r = sqrt(mean(x²) + eps), per group
 * of `groupSize` columns. Given dy: dw_i = Σ_rows dy_i · x_i / r, and per group
 *   dx_i = (w_i·dy_i) / r − x_i · Σ_j (w_j·dy_j·x_j) / (n · r³).
 * Float64 sums. x, dy [rows, cols], w [groupSize] → dx [rows, cols], dw [groupSize].
 */
export function rmsNormBackward(x: Float32Array, cols: number, w: Float32Array, eps: number, dy: Float32Array, groupSize = cols): { dx: Float32Array; dw: Float32Array } {
  const rows = x.length / cols;
  const dx = new Float32Array(x.length);
  const dw = new Float64Array(groupSize);
  for (let r = 0; r < rows; r++) {
    for (let g0 = 0; g0 < cols; g0 += groupSize) {
      const o = r * cols + g0;
      let ss = 0;
      for (let i = 0; i < groupSize; i++) ss += x[o + i]! * x[o + i]!;
      const rms = Math.sqrt(ss / groupSize + eps);
      let dot = 0;
      for (let i = 0; i < groupSize; i++) {
        dot += w[i]! * dy[o + i]! * x[o + i]!;
        dw[i]! += (dy[o + i]! * x[o + i]!) / rms;
      }
      const k = dot / (groupSize * rms * rms * rms);
      for (let i = 0; i < groupSize; i++) dx[o + i] = (w[i]! * dy[o + i]!) / rms - x[o + i]! * k;
    }
  }
  return { dx, dw: Float32Array.from(dw) };
}

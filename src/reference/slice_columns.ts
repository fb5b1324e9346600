/** Column slice reference: y[r, c] = x[r, col0 + c] for c < cols (x is `[rows, xCols]`, row-major). */
export function sliceColumns(x: Float32Array, xCols: number, col0: number, cols: number): Float32Array {
  const rows = xCols > 0 ? x.length / xCols : 0;
  const y = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) y.set(x.subarray(r * xCols + col0, r * xCols + col0 + cols), r * cols);
  return y;
}

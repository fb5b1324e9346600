/**
 * Backward of the product y = x · Wᵀ + b (src/reference/matmul.ts), W [out, in] as f32 rows (a
 * quantized weight dequantized first: its gradient w.r.t. x is the same product with the values the
 * forward used). Given dy [n, out]:
 *   dx = dy · W        [n, in]
 *   dW = dyᵀ · x       [out, in]   (only when asked: frozen weights have none)
 *   db = Σ_rows dy     [out]
 * Float64 sums.
 */
export function matmulBackwardInput(dy: Float32Array, n: number, w: Float32Array, inDim: number, outDim: number): Float32Array {
  const dx = new Float32Array(n * inDim);
  const acc = new Float64Array(inDim);
  for (let t = 0; t < n; t++) {
    acc.fill(0);
    for (let o = 0; o < outDim; o++) {
      const g = dy[t * outDim + o]!;
      if (g === 0) continue;
      const row = o * inDim;
      for (let i = 0; i < inDim; i++) acc[i]! += g * w[row + i]!;
    }
    dx.set(acc, t * inDim);
  }
  return dx;
}

export function matmulBackwardWeight(dy: Float32Array, x: Float32Array, n: number, inDim: number, outDim: number): Float32Array {
  const dw = new Float32Array(outDim * inDim);
  const acc = new Float64Array(inDim);
  for (let o = 0; o < outDim; o++) {
    acc.fill(0);
    for (let t = 0; t < n; t++) {
      const g = dy[t * outDim + o]!;
      if (g === 0) continue;
      const xo = t * inDim;
      for (let i = 0; i < inDim; i++) acc[i]! += g * x[xo + i]!;
    }
    dw.set(acc, o * inDim);
  }
  return dw;
}

export function matmulBackwardBias(dy: Float32Array, n: number, outDim: number): Float32Array {
  const db = new Float64Array(outDim);
  for (let t = 0; t < n; t++) for (let o = 0; o < outDim; o++) db[o]! += dy[t * outDim + o]!;
  return Float32Array.from(db);
}

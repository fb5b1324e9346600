/** Soft-capping reference: y = cap · tanh(x / cap), elementwise (gemma2 final logits). */
export function softcap(x: Float32Array, cap: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < y.length; i++) y[i] = cap * Math.tanh(x[i] / cap);
  return y;
}

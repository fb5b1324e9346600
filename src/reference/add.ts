/** Residual add reference: y = a + b, elementwise. */
export function add(a: Float32Array, b: Float32Array): Float32Array {
  const y = new Float32Array(a.length);
  for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
  return y;
}

/** Scale reference: y = s · x, elementwise (gemma's embedding scale). */
export function scale(x: Float32Array, s: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < y.length; i++) y[i] = x[i] * s;
  return y;
}

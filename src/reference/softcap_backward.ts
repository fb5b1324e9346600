/** Backward of soft-capping (src/reference/softcap.ts): y = cap·tanh(x/cap), dx = dy · (1 − tanh²(x/cap)). */
export function softcapBackward(x: Float32Array, cap: number, dy: Float32Array): Float32Array {
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const t = Math.tanh(x[i]! / cap);
    dx[i] = dy[i]! * (1 - t * t);
  }
  return dx;
}

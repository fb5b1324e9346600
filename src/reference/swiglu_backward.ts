/**
 * Backward of SwiGLU (src/reference/swiglu.ts): y = silu(g) · u, silu(g) = g·σ(g).
 *   dg = dy · u · σ(g) · (1 + g·(1 − σ(g))),   du = dy · silu(g).
 */
export function swigluBackward(g: Float32Array, u: Float32Array, dy: Float32Array): { dg: Float32Array; du: Float32Array } {
  const dg = new Float32Array(g.length);
  const du = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const x = g[i]!;
    const sg = 1 / (1 + Math.exp(-x));
    dg[i] = dy[i]! * u[i]! * sg * (1 + x * (1 - sg));
    du[i] = dy[i]! * x * sg;
  }
  return { dg, du };
}

/**
 * Backward of GeGLU (src/reference/geglu.ts): y = gelu(g)·u with the tanh GELU,
 * gelu(x) = ½x(1 + tanh(a(x + b x³))), a = √(2/π), b = 0.044715:
 *   gelu'(x) = ½(1 + t) + ½x(1 − t²)·a(1 + 3b x²),  t = tanh(a(x + b x³))
 *   dg = dy · u · gelu'(g),   du = dy · gelu(g).
 */
import { gelu } from './geglu.ts';

const A = Math.sqrt(2 / Math.PI);
const B = 0.044715;

export function geluDerivative(x: number): number {
  const t = Math.tanh(A * (x + B * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * A * (1 + 3 * B * x * x);
}

export function gegluBackward(g: Float32Array, u: Float32Array, dy: Float32Array): { dg: Float32Array; du: Float32Array } {
  const dg = new Float32Array(g.length);
  const du = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) {
    dg[i] = dy[i]! * u[i]! * geluDerivative(g[i]!);
    du[i] = dy[i]! * gelu(g[i]!);
  }
  return { dg, du };
}

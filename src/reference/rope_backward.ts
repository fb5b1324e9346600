/**
 * Backward of RoPE (src/reference/rope.ts). Each pair is multiplied by the 2×2 matrix
 * a·[[c, −s], [s, c]] (a = attnFactor), so its gradient is the transpose: the same pair of dy rotated
 * by −θ, times a. Entries past `dim` pass dy through. dy [n, nHeads·headDim] → dx, same shape.
 */
import type { RopeArgs } from './rope.ts';

export function ropeBackward(dy: Float32Array, n: number, p: RopeArgs, pos0: number): Float32Array {
  const dx = Float32Array.from(dy);
  const half = p.dim / 2;
  const rowLen = p.nHeads * p.headDim;
  for (let t = 0; t < n; t++) {
    const pos = pos0 + t;
    for (let j = 0; j < half; j++) {
      const theta = (pos * p.freqScale * Math.pow(p.base, (-2 * j) / p.dim)) / (p.freqFactors ? p.freqFactors[j]! : 1);
      const c = Math.cos(theta) * (p.attnFactor ?? 1);
      const s = Math.sin(theta) * (p.attnFactor ?? 1);
      for (let h = 0; h < p.nHeads; h++) {
        const o = t * rowLen + h * p.headDim;
        const i0 = p.type === 'normal' ? o + 2 * j : o + j;
        const i1 = p.type === 'normal' ? i0 + 1 : i0 + half;
        const g0 = dy[i0]!;
        const g1 = dy[i1]!;
        dx[i0] = g0 * c + g1 * s;
        dx[i1] = -g0 * s + g1 * c;
      }
    }
  }
  return dx;
}

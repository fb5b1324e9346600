/**
 * Rotary position embedding reference (llama.cpp's ggml_rope_ext with no
 * YaRN extrapolation). Row t is at position pos0 + t. In each head, pair j
 * (j < dim/2) is rotated by θ = pos · freqScale · base^(−2j/dim) / factor[j]:
 *   normal: the pair is (x[2j], x[2j+1])       (llama, adjacent pairs)
 *   neox:   the pair is (x[j], x[j + dim/2])   (qwen, phi3, gemma)
 * cos and sin are multiplied by `attnFactor` (LongRoPE's attention scale; 1 = none).
 * Entries past `dim` in a head pass through unchanged.
 * x [n, nHeads·headDim] → y, same shape. Angles in float64.
 */
import type { RopeType } from '../model/config.ts';

export interface RopeArgs {
  type: RopeType;
  nHeads: number;
  headDim: number;
  dim: number;
  base: number;
  freqScale: number;
  freqFactors?: Float32Array;
  attnFactor?: number;
}

export function rope(x: Float32Array, n: number, p: RopeArgs, pos0: number): Float32Array {
  const y = Float32Array.from(x);
  const half = p.dim / 2;
  const rowLen = p.nHeads * p.headDim;
  for (let t = 0; t < n; t++) {
    const pos = pos0 + t;
    for (let j = 0; j < half; j++) {
      const theta = (pos * p.freqScale * Math.pow(p.base, (-2 * j) / p.dim)) / (p.freqFactors ? p.freqFactors[j] : 1);
      const c = Math.cos(theta) * (p.attnFactor ?? 1);
      const s = Math.sin(theta) * (p.attnFactor ?? 1);
      for (let h = 0; h < p.nHeads; h++) {
        const o = t * rowLen + h * p.headDim;
        const i0 = p.type === 'normal' ? o + 2 * j : o + j;
        const i1 = p.type === 'normal' ? i0 + 1 : i0 + half;
        const x0 = x[i0];
        const x1 = x[i1];
        y[i0] = x0 * c - x1 * s;
        y[i1] = x0 * s + x1 * c;
      }
    }
  }
  return y;
}

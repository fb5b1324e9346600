/**
 * Activations quantized per block of 256 to int8, as llama.cpp's CPU backend does before a product
 * with K-quant weights (Q2_K…Q6_K, vec_dot_type Q8_K: ggml's quantize_row_q8_K_ref, which the x86
 * build calls as it is). For each block of 256 values x_j, in f32 step by step:
 *   max    = the x_j of largest |x_j|, the first one where several share it (so it carries a sign)
 *   iscale = -127 / max                 (0 and d = 0, q = 0 for an all-zero block)
 *   q_j    = min(127, nearest_int(iscale · x_j))   nearest_int = ties to even (ggml adds 1.5·2²³ in f32);
 *                                       q_j ∈ [-127, 127]: the largest value maps to -127
 *   d      = 1 / iscale                 an f32 (not f16, unlike Q8_0), negative when max > 0
 *   bsums  = Σ q_j over each 16 consecutive values (16 per block): they carry the K-quants' mins
 * The x86 AVX2 repacked path for Q4_K (ggml_quantize_mat_q8_K_4x8, 4 token rows at a time) takes the
 * positive max when +amax and −amax both occur in a block, where this takes the first: the only way the
 * two differ (then every q_j and d flip sign, and the product is the same up to rounding).
 * x [k] (k % 256 = 0) → q [k], d [k/256], bsums [k/16].
 */
import { CriaError } from '../shared/errors.ts';

export const Q8_K_BLOCK = 256;
/** values per bsum */
export const Q8_K_SUB = 16;

const f = Math.fround;

export interface Q8_KRow {
  /** the int8 values, [k] */
  readonly q: Int8Array;
  /** per block, the f32 scale 1/iscale, [k/256] */
  readonly d: Float32Array;
  /** per 16 values, Σ q (ggml keeps int16), [k/16] */
  readonly bsums: Int16Array;
}

/** ggml's nearest_int: v + 1.5·2²³ rounded to f32 is an integer, ties to even (|v| < 2²²) */
function nearestInt(v: number): number {
  return f(v + 12582912) - 12582912;
}

export function quantizeQ8_K(x: Float32Array): Q8_KRow {
  if (x.length % Q8_K_BLOCK !== 0) throw new CriaError('internal', `Q8_K activations need a multiple of ${Q8_K_BLOCK} values, got ${x.length}`);
  const nb = x.length / Q8_K_BLOCK;
  const q = new Int8Array(x.length);
  const d = new Float32Array(nb);
  const bsums = new Int16Array(x.length / Q8_K_SUB);
  for (let b = 0; b < nb; b++) {
    const o = b * Q8_K_BLOCK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < Q8_K_BLOCK; j++) {
      const a = Math.abs(x[o + j]);
      if (a > amax) {
        amax = a;
        max = x[o + j];
      }
    }
    if (amax === 0) continue; // d = 0, q = 0, bsums = 0
    const iscale = f(-127 / max);
    for (let j = 0; j < Q8_K_BLOCK; j++) q[o + j] = Math.min(127, nearestInt(f(iscale * x[o + j])));
    for (let s = 0; s < Q8_K_BLOCK / Q8_K_SUB; s++) {
      let sum = 0;
      for (let j = 0; j < Q8_K_SUB; j++) sum += q[o + s * Q8_K_SUB + j];
      bsums[o / Q8_K_SUB + s] = sum;
    }
    d[b] = f(1 / iscale);
  }
  return { q, d, bsums };
}

/**
 * Activations quantized per block of 32 to int8, as llama.cpp's CPU backend does before a product
 * with Q8_0/Q4_0/Q5_0 weights (vec_dot_type Q8_0) or Q4_1/Q5_1 weights (vec_dot_type Q8_1).
 * For each block b of 32 values x_j (all in f32, step by step):
 *   amax = max_j |x_j|
 *   d    = amax / 127                    the block's scale, stored as f16: d₁₆ = f16(d), ties to even
 *   id   = amax ≠ 0 ? 127 / amax : 0     (not 1/d: llama.cpp's x86 quantize_row_q8_0/q8_1 divide so,
 *                                         and the two differ by an ulp for ~28% of blocks)
 *   q_j  = round_half_even(x_j · id)      (_mm256_round_ps with _MM_ROUND_NEAREST; |q_j| ≤ 127)
 *   Q8_1 only: s = f16(d · Σ_j q_j)       (the unrounded f32 d times the exact integer sum, then f16)
 * This is the x86 AVX/AVX2 code path of ggml-cpu (arch/x86/quants.c), which produced the fixtures'
 * goldens. ggml's portable quantize_row_q8_0_ref uses id = 1/d and rounds halves away from zero;
 * its ARM and WASM paths use id = 1/d and round halves to even. The GPU kernel
 * (kernels/matmul_int8.wgsl) uses 1/d: its test allows for the one-step differences that follow.
 * x [k] (k % 32 = 0) → q [k], d [k/32] (the f16 values, as f32), s [k/32] (Q8_1).
 */
import { CriaError } from '../shared/errors.ts';
import { F16_TO_F32, f32ToF16 } from '../formats/half.ts';

export const Q8_BLOCK = 32;

const f = Math.fround;

/** v rounded to the nearest f16 (ties to even), as an f32 */
export function roundF16(v: number): number {
  return F16_TO_F32[f32ToF16(v)];
}

/** round half to even (AVX's _MM_ROUND_NEAREST, WGSL's round(), WASM's f32x4.nearest) */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface Q8_0Row {
  /** the int8 values, [k] */
  readonly q: Int8Array;
  /** per block, the f16 scale d₁₆ as f32, [k/32] */
  readonly d: Float32Array;
}

export interface Q8_1Row extends Q8_0Row {
  /** per block, f16(d · Σ q) as f32 (d unrounded), [k/32] */
  readonly s: Float32Array;
}

function check(x: Float32Array) {
  if (x.length % Q8_BLOCK !== 0) throw new CriaError('internal', `int8 activations need a multiple of ${Q8_BLOCK} values, got ${x.length}`);
}

/** one row quantized as ggml's x86 quantize_row_q8_0 */
export function quantizeQ8_0(x: Float32Array): Q8_0Row {
  return quantizeQ8_1(x);
}

/** one row quantized as ggml's x86 quantize_row_q8_1: quantizeQ8_0's q and d, and s per block */
export function quantizeQ8_1(x: Float32Array): Q8_1Row {
  check(x);
  const nb = x.length / Q8_BLOCK;
  const q = new Int8Array(x.length);
  const d = new Float32Array(nb);
  const s = new Float32Array(nb);
  for (let b = 0; b < nb; b++) {
    const o = b * Q8_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_BLOCK; j++) amax = Math.max(amax, Math.abs(x[o + j]));
    const db = f(amax / 127);
    const id = amax !== 0 ? f(127 / amax) : 0;
    let sum = 0;
    for (let j = 0; j < Q8_BLOCK; j++) {
      q[o + j] = roundHalfEven(f(x[o + j] * id));
      sum += q[o + j];
    }
    d[b] = roundF16(db);
    s[b] = roundF16(f(db * sum));
  }
  return { q, d, s };
}

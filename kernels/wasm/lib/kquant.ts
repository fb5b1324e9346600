// kquant: what the K-quant products (matmul_q2_k … matmul_q6_k, Q8_K activations) share.
//   Each kernel computes, per block of 256 and per row, an exact integer sum in i32 lanes, adds the
//   lanes (hadd_i32: still exact), and only then goes to f32, one row at a time, block after block. So
//   a row's result does not depend on which lanes held its partial sums: the relaxed-SIMD path (dot16)
//   groups them differently from the plain one and gives the same bits.
//   One row per pass: measured (single thread, SmolLM2's ffn_down 1536 → 576, weights read from memory
//   as in decode) Q4_K 69 µs and Q6_K 99 µs, against 95–149 and 209–231 µs with 4 rows per pass sharing
//   each x load: the 4-row pass's live vectors spill, and its 4 interleaved weight streams (one block of
//   each row in turn) defeat the prefetcher; one row reads its weights front to back.
//   The 4-rows-per-pass helpers (sum4, gather4, f16x4_to_f32, finish4: lane r of a vector = row r) serve
//   matmul_q4_1, matmul_q5_0 and matmul_q5_1.
// Reference: src/reference/matmul_int8.ts (matmulK)
import { finish } from './dot';

/** The sum of the 4 lanes of an i32x4 (exact: integer adds). */
// @ts-ignore: decorator
@inline
export function hadd_i32(v: v128): i32 {
  const s = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1);
}

/** The lane totals of 4 i32x4 vectors: [Σ a0, Σ a1, Σ a2, Σ a3] (exact: integer adds). */
// @ts-ignore: decorator
@inline
export function sum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 1, 4, 5), i32x4.shuffle(a0, a1, 2, 3, 6, 7));
  const s23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 1, 4, 5), i32x4.shuffle(a2, a3, 2, 3, 6, 7));
  return i32x4.add(i32x4.shuffle(s01, s23, 0, 2, 4, 6), i32x4.shuffle(s01, s23, 1, 3, 5, 7));
}

/** f16 bits in the low 16 bits of each i32 lane → f32 (finite values, subnormals included; exact). */
// @ts-ignore: decorator
@inline
export function f16x4_to_f32(h: v128): v128 {
  const mag = f32x4.mul(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), f32x4.splat(reinterpret<f32>(<u32>(127 + 112) << 23)));
  return v128.or(mag, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** The u32 at byte `off` of each of 4 blocks, one per lane. */
// @ts-ignore: decorator
@inline
export function gather4(p0: usize, p1: usize, p2: usize, p3: usize): v128 {
  let v = i32x4.splat(load<u32>(p0));
  v = i32x4.replace_lane(v, 1, load<u32>(p1));
  v = i32x4.replace_lane(v, 2, load<u32>(p2));
  return i32x4.replace_lane(v, 3, load<u32>(p3));
}

/** y[t, o..o+3] = v (+ bias[o..o+3]) (+ add[t, o..o+3]) when `four`, else y[t, o] from lane 0. */
// @ts-ignore: decorator
@inline
export function finish4(y: usize, bias: usize, add: usize, t: i32, o: i32, out: i32, v: v128, four: bool): void {
  if (!four) {
    finish(y, bias, add, t, o, out, f32x4.extract_lane(v, 0));
    return;
  }
  let s = v;
  if (bias) s = f32x4.add(s, v128.load(bias + (<usize>o << 2)));
  const at = (<usize>t * <usize>out + <usize>o) << 2;
  if (add) s = f32x4.add(s, v128.load(add + at));
  v128.store(y + at, s);
}

/**
 * Σ over 16 products code·x in i16 lanes (lane i: codes i and i+8 on the plain path, 2i and 2i+1 on
 * the relaxed one; the caller only ever adds all lanes). `code` in 0..127 (relaxed SIMD's i7 operand:
 * every runtime then computes the same integers), x in −127..127; each lane ≤ 2·127·127 in magnitude.
 */
// @ts-ignore: decorator
@inline
export function dot16(code: v128, x: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(x, code);
  return i16x8.add(i16x8.extmul_low_i8x16_s(code, x), i16x8.extmul_high_i8x16_s(code, x));
}

/** i16x8 splats of lane L (the sub-block scales): one constant shuffle each. */
// @ts-ignore: decorator
@inline
export function lane0(v: v128): v128 {
  return i16x8.shuffle(v, v, 0, 0, 0, 0, 0, 0, 0, 0);
}
// @ts-ignore: decorator
@inline
export function lane1(v: v128): v128 {
  return i16x8.shuffle(v, v, 1, 1, 1, 1, 1, 1, 1, 1);
}
// @ts-ignore: decorator
@inline
export function lane2(v: v128): v128 {
  return i16x8.shuffle(v, v, 2, 2, 2, 2, 2, 2, 2, 2);
}
// @ts-ignore: decorator
@inline
export function lane3(v: v128): v128 {
  return i16x8.shuffle(v, v, 3, 3, 3, 3, 3, 3, 3, 3);
}
// @ts-ignore: decorator
@inline
export function lane4(v: v128): v128 {
  return i16x8.shuffle(v, v, 4, 4, 4, 4, 4, 4, 4, 4);
}
// @ts-ignore: decorator
@inline
export function lane5(v: v128): v128 {
  return i16x8.shuffle(v, v, 5, 5, 5, 5, 5, 5, 5, 5);
}
// @ts-ignore: decorator
@inline
export function lane6(v: v128): v128 {
  return i16x8.shuffle(v, v, 6, 6, 6, 6, 6, 6, 6, 6);
}
// @ts-ignore: decorator
@inline
export function lane7(v: v128): v128 {
  return i16x8.shuffle(v, v, 7, 7, 7, 7, 7, 7, 7, 7);
}

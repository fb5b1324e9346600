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

/** acc + sc·Σ code·x over 32 values: codes lo (x at p) and hi (x at p + 16); sc in every i16 lane */
// @ts-ignore: decorator
@inline
export function step32(acc: v128, lo: v128, hi: v128, p: usize, sc: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(lo, v128.load(p)), dot16(hi, v128.load(p, 16))), sc));
}

/** acc + sc·Σ code·x over 16 values (x at p; sc in every i16 lane) */
// @ts-ignore: decorator
@inline
export function step16(acc: v128, code: v128, p: usize, sc: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(dot16(code, v128.load(p)), sc));
}

/** i16 lane s of v in every lane (s not a constant: a swizzle; lane s is bytes 2s and 2s + 1) */
// @ts-ignore: decorator
@inline
export function lane(v: v128, s: i32): v128 {
  return i8x16.swizzle(v, i16x8.splat(<i16>(0x0100 + 0x0202 * s)));
}

/**
 * Q4_K and Q5_K: the 8 sub-block scales of the block at wb (12 bytes at wb + 4) as i16 lanes (ggml's
 * get_scale_min_k4 on whole words: bytes 0..3 are u0's low 6 bits, 4..7 the low nibbles of u2 with
 * u0's top 2 bits above them).
 */
// @ts-ignore: decorator
@inline
export function k4_scales(wb: usize): v128 {
  const u0 = load<u32>(wb, 4);
  const u2 = load<u32>(wb, 12);
  const lo = u0 & 0x3f3f3f3f;
  const hi = (u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030);
  return i16x8.extend_low_i8x16_u(i32x4.replace_lane(i32x4.splat(lo), 1, hi));
}

/**
 * Q4_K and Q5_K: Σ_s mn_s·(Σ q_x over sub-block s of 32) of the block at wb, in 4 i32 lanes (mins:
 * bytes 0..3 u1's low 6 bits, 4..7 the high nibbles of u2 with u1's top 2 bits); bs: the block's 16 bsums.
 */
// @ts-ignore: decorator
@inline
export function k4_msum(wb: usize, bs: usize): v128 {
  const u1 = load<u32>(wb, 8);
  const u2 = load<u32>(wb, 12);
  const lo = u1 & 0x3f3f3f3f;
  const hi = ((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030);
  // the 8 sub-block sums of x: pairs of its 16 bsums (each |·| ≤ 32·127: an i16)
  const bs8 = i16x8.narrow_i32x4_s(i32x4.extadd_pairwise_i16x8_s(v128.load(bs)), i32x4.extadd_pairwise_i16x8_s(v128.load(bs, 16)));
  return i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(i32x4.replace_lane(i32x4.splat(lo), 1, hi)), bs8);
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

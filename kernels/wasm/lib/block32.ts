// block32: what the products with ggml's blocks of 32 and a 4- or 5-bit code (matmul_q4_1, matmul_q5_0,
// matmul_q5_1) share: the fifth bits as byte masks, and the integer dot product of a block.
// Reference: src/reference/matmul_int8_blocks.ts (the codes), src/reference/matmul_int8.ts (the sums)

/** 0xff in lane j where bit j of qh is set (elements 0..15); qh: the block's u32 splatted (v128.load32_splat). */
// @ts-ignore: decorator
@inline
export function set_lo(qh: v128): v128 {
  const bit = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return i8x16.eq(v128.and(i8x16.shuffle(qh, qh, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), bit), bit);
}

/** The same for elements 16..31 (bits 16..31 of qh). */
// @ts-ignore: decorator
@inline
export function set_hi(qh: v128): v128 {
  const bit = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return i8x16.eq(v128.and(i8x16.shuffle(qh, qh, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), bit), bit);
}

/**
 * Σ_j code_j·x_j over a block (lo: elements 0..15 against xa, hi: 16..31 against xb) as 8 i16 lanes whose
 * total is exact; how the 32 products are grouped into lanes differs between the paths, so callers use
 * only the total (extadd to i32, then lib/kquant.ts sum4). Codes in −16..31 on the plain path; on the
 * relaxed one they must be 0..127 (relaxed_dot's i7 operand: then every runtime computes the same
 * integers). |code·x| ≤ 31·127 and a lane adds 4 products: ≤ 15748, an i16 with room for a correction
 * of up to 16·4·127 (matmul_q5_0).
 * (Relaxed SIMD's i32x4.relaxed_dot_i8x16_i7x16_add_s would save the extadd, but V8 11.3, Node 20's,
 * computes it wrongly behind its flag: the i16x8 form is the one checked.)
 */
// @ts-ignore: decorator
@inline
export function dot32(lo: v128, hi: v128, xa: v128, xb: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xa, lo), i16x8.relaxed_dot_i8x16_i7x16_s(xb, hi));
  return i16x8.add(
    i16x8.add(i16x8.extmul_low_i8x16_s(lo, xa), i16x8.extmul_high_i8x16_s(lo, xa)),
    i16x8.add(i16x8.extmul_low_i8x16_s(hi, xb), i16x8.extmul_high_i8x16_s(hi, xb)),
  );
}

// q5: the fifth bits of a Q5_0/Q5_1 block (a u32 qh: bit j belongs to element j) as byte masks.
// set_lo(qh): 0xff in lane j where bit j is set (elements 0..15); set_hi(qh): the same for 16..31.
// qh is the u32 splatted to all four lanes (v128.load32_splat). Four SIMD ops per half: each byte of
// qh copied to 8 lanes, each lane tested against its own bit.

// @ts-ignore: decorator
@inline
export function set_lo(qh: v128): v128 {
  const bit = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return i8x16.eq(v128.and(i8x16.shuffle(qh, qh, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), bit), bit);
}

// @ts-ignore: decorator
@inline
export function set_hi(qh: v128): v128 {
  const bit = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return i8x16.eq(v128.and(i8x16.shuffle(qh, qh, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), bit), bit);
}

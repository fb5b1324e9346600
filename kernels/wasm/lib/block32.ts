// block32: the products with ggml's blocks of 32 (matmul_q4_1, matmul_q5_0, matmul_q5_1; matmul_q8_0,
// matmul_q4_0): each type's codes (code_lo, code_hi: the fifth bits as byte masks), the integer dot
// product of a block, and the loops they run (matmul_block32, matmul_block32_lanes), which each kernel
// calls with its type, a constant: inlined, the type's branches fold away at compile time, as if
// written once per type.
// matmul_block32: 4 rows per pass (one f32 lane each; a tail row is computed as 4 copies of itself); 4 tokens
//   per pass where the batch has them (prefill), sharing the decoding of each block's codes. A row's and
//   token's sums are the same operations whichever pass computes them.
// matmul_block32_lanes: 4 rows per pass share each activation load; a row's sum is kept in 4 f32 lanes
//   (lane i: the block's i32 partials i, scaled) and the lanes added at the end, one token at a time.
// Reference: src/reference/matmul_int8_blocks.ts (the codes), src/reference/matmul_int8.ts (the sums)
import { finish, hsum } from './dot';
import { f16_to_f32 } from './half';
import { f16x4_to_f32, finish4, gather4, sum4 } from './kquant';

/** The types matmul_block32 computes (compile-time constants: pass them literally). */
export const Q4_1: i32 = 0;
export const Q5_0: i32 = 1;
export const Q5_1: i32 = 2;
/** The types matmul_block32_lanes computes. */
export const Q8_0: i32 = 3;
export const Q4_0: i32 = 4;

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

/** Bytes of one block of the type. */
// @ts-ignore: decorator
@inline
function block_bytes(type: i32): usize {
  return type == Q4_1 ? 20 : type == Q5_0 ? 22 : 24;
}

/**
 * Codes of elements 0..15 of the block at wb. Q4_1: the low nibbles (0..15). Q5_1: with the fifth bit
 * (0..31). Q5_0: w5 − 16 on the plain path (an element whose fifth bit is clear gets 0xf0 over its
 * nibble, which as an i8 is nibble − 16), w5 on the relaxed one (its i7 operand; step corrects).
 */
// @ts-ignore: decorator
@inline
function code_lo(type: i32, wb: usize): v128 {
  if (type == Q4_1) return v128.and(v128.load(wb + 4), i8x16.splat(0x0f));
  if (type == Q5_1) return v128.or(v128.and(v128.load(wb + 8), i8x16.splat(0x0f)), v128.and(set_lo(v128.load32_splat(wb + 4)), i8x16.splat(0x10)));
  const nib = v128.and(v128.load(wb + 6), i8x16.splat(0x0f));
  const set = set_lo(v128.load32_splat(wb + 2));
  if (ASC_FEATURE_RELAXED_SIMD) return v128.or(nib, v128.and(set, i8x16.splat(0x10)));
  return v128.or(nib, v128.andnot(i8x16.splat(<i8>0xf0), set));
}

/** The same for elements 16..31 (the high nibbles, bits 16..31 of qh). */
// @ts-ignore: decorator
@inline
function code_hi(type: i32, wb: usize): v128 {
  if (type == Q4_1) return i8x16.shr_u(v128.load(wb + 4), 4);
  if (type == Q5_1) return v128.or(i8x16.shr_u(v128.load(wb + 8), 4), v128.and(set_hi(v128.load32_splat(wb + 4)), i8x16.splat(0x10)));
  const nib = i8x16.shr_u(v128.load(wb + 6), 4);
  const set = set_hi(v128.load32_splat(wb + 2));
  if (ASC_FEATURE_RELAXED_SIMD) return v128.or(nib, v128.and(set, i8x16.splat(0x10)));
  return v128.or(nib, v128.andnot(i8x16.splat(<i8>0xf0), set));
}

/**
 * One block of one token for 4 rows (codes l_r, h_r; dw: their d as f32): acc + f32(isum)·(dw·d_x).
 * xp: the token's 32 int8 values, dp: its scale.
 */
// @ts-ignore: decorator
@inline
function step(type: i32, l0: v128, h0: v128, l1: v128, h1: v128, l2: v128, h2: v128, l3: v128, h3: v128, dw: v128, xp: usize, dp: usize, acc: v128): v128 {
  const xa = v128.load(xp);
  const xb = v128.load(xp + 16);
  if (type == Q5_0) {
    // relaxed path: −16·Σx in i16 lanes (pairs of x, as relaxed_dot pairs them: |·| ≤ 16·4·127)
    const corr = ASC_FEATURE_RELAXED_SIMD ? i16x8.mul(i16x8.add(i16x8.extadd_pairwise_i8x16_s(xa), i16x8.extadd_pairwise_i8x16_s(xb)), i16x8.splat(-16)) : i16x8.splat(0);
    const is = sum4(
      i32x4.extadd_pairwise_i16x8_s(i16x8.add(dot32(l0, h0, xa, xb), corr)),
      i32x4.extadd_pairwise_i16x8_s(i16x8.add(dot32(l1, h1, xa, xb), corr)),
      i32x4.extadd_pairwise_i16x8_s(i16x8.add(dot32(l2, h2, xa, xb), corr)),
      i32x4.extadd_pairwise_i16x8_s(i16x8.add(dot32(l3, h3, xa, xb), corr)),
    );
    return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(is), f32x4.mul(dw, f32x4.splat(load<f32>(dp)))));
  }
  const is = sum4(
    i32x4.extadd_pairwise_i16x8_s(dot32(l0, h0, xa, xb)),
    i32x4.extadd_pairwise_i16x8_s(dot32(l1, h1, xa, xb)),
    i32x4.extadd_pairwise_i16x8_s(dot32(l2, h2, xa, xb)),
    i32x4.extadd_pairwise_i16x8_s(dot32(l3, h3, xa, xb)),
  );
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(is), f32x4.mul(dw, f32x4.splat(load<f32>(dp)))));
}

/** Q4_1/Q5_1: the mins' term of one block of one token for 4 rows (mw: their m as f32; sp: the token's s). */
// @ts-ignore: decorator
@inline
function mstep(mw: v128, sp: usize, mins: v128): v128 {
  return f32x4.add(mins, f32x4.mul(mw, f32x4.splat(load<f32>(sp))));
}

/** The sums, with the mins' term where the type has one (acc + mins; Q5_0: acc). */
// @ts-ignore: decorator
@inline
function total(type: i32, acc: v128, mins: v128): v128 {
  return type == Q5_0 ? acc : f32x4.add(acc, mins);
}

/**
 * y[t, o] for rows [o0, o1) and every token, of the type's weights w times activations (q, d; s: the
 * Q8_1 sums, for Q4_1/Q5_1 only); the memory layouts are in each kernel's header.
 */
// @ts-ignore: decorator
@inline
export function matmul_block32(type: i32, w: usize, q: usize, d: usize, s: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const block = block_bytes(type);
  const mins = type != Q5_0;
  const nb = k >> 5;
  const rowBytes = <usize>nb * block;
  const xRow = <usize>k;
  const dRow = <usize>nb << 2;
  for (let o = o0; o < o1; ) {
    const four = o + 4 <= o1;
    const r0 = w + <usize>o * rowBytes;
    const r1 = four ? r0 + rowBytes : r0;
    const r2 = four ? r1 + rowBytes : r0;
    const r3 = four ? r2 + rowBytes : r0;
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      const qt = q + <usize>t * xRow;
      const dt = <usize>t * dRow;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      let m0 = f32x4.splat(0);
      let m1 = f32x4.splat(0);
      let m2 = f32x4.splat(0);
      let m3 = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const ob = <usize>b * block;
        const l0 = code_lo(type, r0 + ob);
        const h0 = code_hi(type, r0 + ob);
        const l1 = code_lo(type, r1 + ob);
        const h1 = code_hi(type, r1 + ob);
        const l2 = code_lo(type, r2 + ob);
        const h2 = code_hi(type, r2 + ob);
        const l3 = code_lo(type, r3 + ob);
        const h3 = code_hi(type, r3 + ob);
        const dm = gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob); // d (| m << 16) of each row
        const dw = f16x4_to_f32(dm);
        const mw = mins ? f16x4_to_f32(i32x4.shr_u(dm, 16)) : dw;
        const xp = qt + (<usize>b << 5);
        const bp = dt + (<usize>b << 2);
        a0 = step(type, l0, h0, l1, h1, l2, h2, l3, h3, dw, xp, d + bp, a0);
        a1 = step(type, l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + xRow, d + bp + dRow, a1);
        a2 = step(type, l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + 2 * xRow, d + bp + 2 * dRow, a2);
        a3 = step(type, l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + 3 * xRow, d + bp + 3 * dRow, a3);
        if (mins) {
          m0 = mstep(mw, s + bp, m0);
          m1 = mstep(mw, s + bp + dRow, m1);
          m2 = mstep(mw, s + bp + 2 * dRow, m2);
          m3 = mstep(mw, s + bp + 3 * dRow, m3);
        }
      }
      finish4(y, bias, add, t, o, out, total(type, a0, m0), four);
      finish4(y, bias, add, t + 1, o, out, total(type, a1, m1), four);
      finish4(y, bias, add, t + 2, o, out, total(type, a2, m2), four);
      finish4(y, bias, add, t + 3, o, out, total(type, a3, m3), four);
    }
    for (; t < n; t++) {
      const qt = q + <usize>t * xRow;
      const dt = <usize>t * dRow;
      let acc = f32x4.splat(0);
      let m = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const ob = <usize>b * block;
        const dm = gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob);
        const bp = dt + (<usize>b << 2);
        acc = step(type, code_lo(type, r0 + ob), code_hi(type, r0 + ob), code_lo(type, r1 + ob), code_hi(type, r1 + ob), code_lo(type, r2 + ob), code_hi(type, r2 + ob), code_lo(type, r3 + ob), code_hi(type, r3 + ob), f16x4_to_f32(dm), qt + (<usize>b << 5), d + bp, acc);
        if (mins) m = mstep(f16x4_to_f32(i32x4.shr_u(dm, 16)), s + bp, m);
      }
      finish4(y, bias, add, t, o, out, total(type, acc, m), four);
    }
    o += four ? 4 : 1;
  }
}

/**
 * Q8_0, Q4_0: the integer dot product of the block at wb with 32 int8 values (xa, xb) in 4 i32 lanes.
 * Q8_0: |w·x| ≤ 127·127, Q4_0: codes − 8 in −8..7, |w·x| ≤ 8·127: two products fit an i16 lane, so
 * low + high halves add in i16 before widening.
 */
// @ts-ignore: decorator
@inline
function block_dot(type: i32, wb: usize, xa: v128, xb: v128): v128 {
  let lo: v128;
  let hi: v128;
  if (type == Q8_0) {
    lo = v128.load(wb + 2);
    hi = v128.load(wb + 18);
  } else {
    const packed = v128.load(wb + 2);
    const eight = i8x16.splat(8);
    lo = i8x16.sub(v128.and(packed, i8x16.splat(0x0f)), eight); // elements 0..15, −8..7
    hi = i8x16.sub(i8x16.shr_u(packed, 4), eight); // elements 16..31
  }
  const s0 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extmul_low_i8x16_s(lo, xa), i16x8.extmul_high_i8x16_s(lo, xa)));
  const s1 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extmul_low_i8x16_s(hi, xb), i16x8.extmul_high_i8x16_s(hi, xb)));
  return i32x4.add(s0, s1);
}

/** y[t, o] for rows [o0, o1) and every token, of Q8_0 or Q4_0 weights w times Q8_0 activations (q, d). */
// @ts-ignore: decorator
@inline
export function matmul_block32_lanes(type: i32, w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const block: usize = type == Q8_0 ? 34 : 18;
  const nb = k >> 5;
  const rowBytes = <usize>nb * block;
  let o = o0;
  for (; o + 4 <= o1; o += 4) {
    const r0 = w + <usize>o * rowBytes;
    const r1 = r0 + rowBytes;
    const r2 = r1 + rowBytes;
    const r3 = r2 + rowBytes;
    for (let t = 0; t < n; t++) {
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      for (let b = 0; b < nb; b++) {
        const xa = v128.load(qt + (<usize>b << 5));
        const xb = v128.load(qt + (<usize>b << 5) + 16);
        const dx = load<f32>(dt + (<usize>b << 2));
        const ob = <usize>b * block;
        a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(block_dot(type, r0 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r0 + ob)) * dx)));
        a1 = f32x4.add(a1, f32x4.mul(f32x4.convert_i32x4_s(block_dot(type, r1 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r1 + ob)) * dx)));
        a2 = f32x4.add(a2, f32x4.mul(f32x4.convert_i32x4_s(block_dot(type, r2 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r2 + ob)) * dx)));
        a3 = f32x4.add(a3, f32x4.mul(f32x4.convert_i32x4_s(block_dot(type, r3 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r3 + ob)) * dx)));
      }
      finish(y, bias, add, t, o, out, hsum(a0));
      finish(y, bias, add, t, o + 1, out, hsum(a1));
      finish(y, bias, add, t, o + 2, out, hsum(a2));
      finish(y, bias, add, t, o + 3, out, hsum(a3));
    }
  }
  for (; o < o1; o++) {
    const r0 = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      let a0 = f32x4.splat(0);
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      for (let b = 0; b < nb; b++) {
        const ob = <usize>b * block;
        const s = block_dot(type, r0 + ob, v128.load(qt + (<usize>b << 5)), v128.load(qt + (<usize>b << 5) + 16));
        a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(f16_to_f32(load<u16>(r0 + ob)) * load<f32>(dt + (<usize>b << 2)))));
      }
      finish(y, bias, add, t, o, out, hsum(a0));
    }
  }
}

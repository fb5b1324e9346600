// matmul_q4_1: y[t, o] = Σ_b (f32(d_w[o,b]·d_x[t,b])·Σ_j w4[o,32b+j]·q_x[t,32b+j] + f32(m_w[o,b]·s_x[t,b])) (+ bias[o]) (+ add[t, o])
//   Q4_1 weights (value = d·q + m, q ∈ [0, 15]) times Q8_1 activations (quantize_q8_1: int8 q, scale d,
//   s = d·Σq per block), llama.cpp's CPU arithmetic (ggml_vec_dot_q4_1_q8_1): per block an exact integer
//   sum, then in f32, per row and token, block after block: acc += f32(isum)·f32(d_w·d_x), and apart, as
//   ggml's x86 code does (summs), mins += m_w·s_x (exact products of two f16 values); y = acc + mins.
//   The codes are 0..15, within relaxed SIMD's i7 operand: both paths compute the same integers.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q4_1 [out, k] (20-byte blocks: f16 d, f16 m, 16 bytes: element j in the low nibble of
//   byte j, element j+16 in its high nibble), q i8 [n, k], d f32 [n, k/32], s f32 [n, k/32],
//   bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass (one f32 lane each; a tail row is computed as 4 copies of itself); 4 tokens
//   per pass where the batch has them (prefill), sharing the decoding of each block's codes. A row's and
//   token's sums are the same operations whichever pass computes them.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { dot32 } from './lib/block32';
import { f16x4_to_f32, finish4, gather4, sum4 } from './lib/kquant';

const BLOCK: usize = 20;

/** Codes of elements 0..15 of the block at wb. */
// @ts-ignore: decorator
@inline
function code_lo(wb: usize): v128 {
  return v128.and(v128.load(wb + 4), i8x16.splat(0x0f));
}

/** Codes of elements 16..31. */
// @ts-ignore: decorator
@inline
function code_hi(wb: usize): v128 {
  return i8x16.shr_u(v128.load(wb + 4), 4);
}

/** One block of one token for 4 rows (codes l_r, h_r; dw: their d as f32): acc + f32(isum)·(dw·d_x). */
// @ts-ignore: decorator
@inline
function step(l0: v128, h0: v128, l1: v128, h1: v128, l2: v128, h2: v128, l3: v128, h3: v128, dw: v128, xp: usize, dp: usize, acc: v128): v128 {
  const xa = v128.load(xp);
  const xb = v128.load(xp + 16);
  const is = sum4(
    i32x4.extadd_pairwise_i16x8_s(dot32(l0, h0, xa, xb)),
    i32x4.extadd_pairwise_i16x8_s(dot32(l1, h1, xa, xb)),
    i32x4.extadd_pairwise_i16x8_s(dot32(l2, h2, xa, xb)),
    i32x4.extadd_pairwise_i16x8_s(dot32(l3, h3, xa, xb)),
  );
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(is), f32x4.mul(dw, f32x4.splat(load<f32>(dp)))));
}

/** The mins' term of one block of one token for 4 rows (mw: their m as f32; sp: the token's s). */
// @ts-ignore: decorator
@inline
function mstep(mw: v128, sp: usize, mins: v128): v128 {
  return f32x4.add(mins, f32x4.mul(mw, f32x4.splat(load<f32>(sp))));
}

export function matmul_q4_1(w: usize, q: usize, d: usize, s: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 5;
  const rowBytes = <usize>nb * BLOCK;
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
        const ob = <usize>b * BLOCK;
        const l0 = code_lo(r0 + ob);
        const h0 = code_hi(r0 + ob);
        const l1 = code_lo(r1 + ob);
        const h1 = code_hi(r1 + ob);
        const l2 = code_lo(r2 + ob);
        const h2 = code_hi(r2 + ob);
        const l3 = code_lo(r3 + ob);
        const h3 = code_hi(r3 + ob);
        const dm = gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob); // d | m << 16 of each row
        const dw = f16x4_to_f32(dm);
        const mw = f16x4_to_f32(i32x4.shr_u(dm, 16));
        const xp = qt + (<usize>b << 5);
        const bp = dt + (<usize>b << 2);
        a0 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp, d + bp, a0);
        a1 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + xRow, d + bp + dRow, a1);
        a2 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + 2 * xRow, d + bp + 2 * dRow, a2);
        a3 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + 3 * xRow, d + bp + 3 * dRow, a3);
        m0 = mstep(mw, s + bp, m0);
        m1 = mstep(mw, s + bp + dRow, m1);
        m2 = mstep(mw, s + bp + 2 * dRow, m2);
        m3 = mstep(mw, s + bp + 3 * dRow, m3);
      }
      finish4(y, bias, add, t, o, out, f32x4.add(a0, m0), four);
      finish4(y, bias, add, t + 1, o, out, f32x4.add(a1, m1), four);
      finish4(y, bias, add, t + 2, o, out, f32x4.add(a2, m2), four);
      finish4(y, bias, add, t + 3, o, out, f32x4.add(a3, m3), four);
    }
    for (; t < n; t++) {
      const qt = q + <usize>t * xRow;
      const dt = <usize>t * dRow;
      let acc = f32x4.splat(0);
      let mins = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const ob = <usize>b * BLOCK;
        const dm = gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob);
        const bp = dt + (<usize>b << 2);
        acc = step(code_lo(r0 + ob), code_hi(r0 + ob), code_lo(r1 + ob), code_hi(r1 + ob), code_lo(r2 + ob), code_hi(r2 + ob), code_lo(r3 + ob), code_hi(r3 + ob), f16x4_to_f32(dm), qt + (<usize>b << 5), d + bp, acc);
        mins = mstep(f16x4_to_f32(i32x4.shr_u(dm, 16)), s + bp, mins);
      }
      finish4(y, bias, add, t, o, out, f32x4.add(acc, mins), four);
    }
    o += four ? 4 : 1;
  }
}

// matmul_q5_0: y[t, o] = Σ_b f32(d_w[o,b]·d_x[t,b])·Σ_j (w5[o,32b+j] − 16)·q_x[t,32b+j] (+ bias[o]) (+ add[t, o])
//   Q5_0 weights times Q8_0 activations (int8 q and scale d per block: quantize_q8_1's q and d, which are
//   ggml's x86 quantize_row_q8_0), llama.cpp's CPU arithmetic (ggml_vec_dot_q5_0_q8_0): per block an
//   exact integer sum, then in f32, per row and token, block after block: acc += f32(isum)·f32(d_w·d_x).
//   Plain SIMD takes the signed codes (−16..15); relaxed SIMD the unsigned ones (0..31, its i7 operand)
//   and subtracts 16·Σ q_x: the same integers, so the same results.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q5_0 [out, k] (22-byte blocks: f16 d, u32 qh: bit j is element j's fifth bit, 16 bytes:
//   element j's low 4 bits in the low nibble of byte j, element j+16's in its high nibble),
//   q i8 [n, k], d f32 [n, k/32], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass (one f32 lane each; a tail row is computed as 4 copies of itself); 4 tokens
//   per pass where the batch has them (prefill), sharing the decoding of each block's codes. A row's and
//   token's sums are the same operations whichever pass computes them.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { dot32, set_hi, set_lo } from './lib/block32';
import { f16x4_to_f32, finish4, gather4, sum4 } from './lib/kquant';

const BLOCK: usize = 22;

/** Codes of elements 0..15 of the block at wb: w5 − 16 (plain), w5 (relaxed). */
// @ts-ignore: decorator
@inline
function code_lo(wb: usize): v128 {
  const nib = v128.and(v128.load(wb + 6), i8x16.splat(0x0f));
  const set = set_lo(v128.load32_splat(wb + 2));
  // plain: an element whose fifth bit is clear gets 0xf0 over its nibble, which as an i8 is nibble − 16
  if (ASC_FEATURE_RELAXED_SIMD) return v128.or(nib, v128.and(set, i8x16.splat(0x10)));
  return v128.or(nib, v128.andnot(i8x16.splat(<i8>0xf0), set));
}

/** The same for elements 16..31. */
// @ts-ignore: decorator
@inline
function code_hi(wb: usize): v128 {
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
function step(l0: v128, h0: v128, l1: v128, h1: v128, l2: v128, h2: v128, l3: v128, h3: v128, dw: v128, xp: usize, dp: usize, acc: v128): v128 {
  const xa = v128.load(xp);
  const xb = v128.load(xp + 16);
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

export function matmul_q5_0(w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
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
      const dt = d + <usize>t * dRow;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
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
        const dw = f16x4_to_f32(gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob));
        const xp = qt + (<usize>b << 5);
        const dp = dt + (<usize>b << 2);
        a0 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp, dp, a0);
        a1 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + xRow, dp + dRow, a1);
        a2 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + 2 * xRow, dp + 2 * dRow, a2);
        a3 = step(l0, h0, l1, h1, l2, h2, l3, h3, dw, xp + 3 * xRow, dp + 3 * dRow, a3);
      }
      finish4(y, bias, add, t, o, out, a0, four);
      finish4(y, bias, add, t + 1, o, out, a1, four);
      finish4(y, bias, add, t + 2, o, out, a2, four);
      finish4(y, bias, add, t + 3, o, out, a3, four);
    }
    for (; t < n; t++) {
      const qt = q + <usize>t * xRow;
      const dt = d + <usize>t * dRow;
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const ob = <usize>b * BLOCK;
        const dw = f16x4_to_f32(gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob));
        acc = step(code_lo(r0 + ob), code_hi(r0 + ob), code_lo(r1 + ob), code_hi(r1 + ob), code_lo(r2 + ob), code_hi(r2 + ob), code_lo(r3 + ob), code_hi(r3 + ob), dw, qt + (<usize>b << 5), dt + (<usize>b << 2), acc);
      }
      finish4(y, bias, add, t, o, out, acc, four);
    }
    o += four ? 4 : 1;
  }
}

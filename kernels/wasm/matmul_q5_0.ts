// matmul_q5_0: y[t, o] = Σ_b f32(d_w[o,b]·d_x[t,b])·Σ_j (w5[o,32b+j] − 16)·q_x[t,32b+j] (+ bias[o]) (+ add[t, o])
//   Q5_0 weights times Q8_0 activations (int8 q and scale d per block: quantize_q8_1's q and d, which are
//   ggml's x86 quantize_row_q8_0), llama.cpp's CPU arithmetic (ggml_vec_dot_q5_0_q8_0): per block an
//   exact integer sum, then in f32, per row, block after block: acc += f32(isum)·f32(d_w·d_x).
//   Plain SIMD takes the signed codes (−16..15); relaxed SIMD the unsigned ones (0..31, its i7 operand)
//   and subtracts 16·Σ q_x: the same integers, so the same results.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q5_0 [out, k] (22-byte blocks: f16 d, u32 qh: bit j is element j's fifth bit, 16 bytes:
//   element j's low 4 bits in the low nibble of byte j, element j+16's in its high nibble),
//   q i8 [n, k], d f32 [n, k/32], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass (one f32 lane each); a tail row is computed as 4 copies of itself.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { dot32, set_hi, set_lo } from './lib/block32';
import { f16x4_to_f32, finish4, gather4, sum4 } from './lib/kquant';

const BLOCK: usize = 22;

/** Σ_j (w5_j − 16)·x_j of the block at wb in 4 i32 lanes (exact total); corr: −16·Σ x_j in i16 lanes (relaxed path). */
// @ts-ignore: decorator
@inline
function block_dot(wb: usize, xa: v128, xb: v128, corr: v128): v128 {
  const qh = v128.load32_splat(wb + 2);
  const packed = v128.load(wb + 6);
  const nib_lo = v128.and(packed, i8x16.splat(0x0f));
  const nib_hi = i8x16.shr_u(packed, 4);
  if (ASC_FEATURE_RELAXED_SIMD) {
    // the unsigned codes 0..31 (relaxed_dot's i7 operand), then −16·Σx
    const five = i8x16.splat(0x10);
    const lo = v128.or(nib_lo, v128.and(set_lo(qh), five));
    const hi = v128.or(nib_hi, v128.and(set_hi(qh), five));
    return i32x4.extadd_pairwise_i16x8_s(i16x8.add(dot32(lo, hi, xa, xb), corr));
  }
  // an element whose fifth bit is clear gets 0xf0 over its nibble: as an i8 that is nibble − 16;
  // one whose bit is set keeps its nibble (nibble + 16 − 16)
  const neg = i8x16.splat(<i8>0xf0);
  return i32x4.extadd_pairwise_i16x8_s(dot32(v128.or(nib_lo, v128.andnot(neg, set_lo(qh))), v128.or(nib_hi, v128.andnot(neg, set_hi(qh))), xa, xb));
}

export function matmul_q5_0(w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 5;
  const rowBytes = <usize>nb * BLOCK;
  for (let o = o0; o < o1; ) {
    const four = o + 4 <= o1;
    const r0 = w + <usize>o * rowBytes;
    const r1 = four ? r0 + rowBytes : r0;
    const r2 = four ? r1 + rowBytes : r0;
    const r3 = four ? r2 + rowBytes : r0;
    for (let t = 0; t < n; t++) {
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const xa = v128.load(qt + (<usize>b << 5));
        const xb = v128.load(qt + (<usize>b << 5) + 16);
        // relaxed path: −16·Σx in i16 lanes (pairs of x: |·| ≤ 16·4·127)
        const corr = ASC_FEATURE_RELAXED_SIMD ? i16x8.mul(i16x8.add(i16x8.extadd_pairwise_i8x16_s(xa), i16x8.extadd_pairwise_i8x16_s(xb)), i16x8.splat(-16)) : i16x8.splat(0);
        const ob = <usize>b * BLOCK;
        const is = sum4(block_dot(r0 + ob, xa, xb, corr), block_dot(r1 + ob, xa, xb, corr), block_dot(r2 + ob, xa, xb, corr), block_dot(r3 + ob, xa, xb, corr));
        // d of each row (f16, the low half of the block's first word) times d_x: exact in f32
        const sd = f32x4.mul(f16x4_to_f32(gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob)), f32x4.splat(load<f32>(dt + (<usize>b << 2))));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(is), sd));
      }
      finish4(y, bias, add, t, o, out, acc, four);
    }
    o += four ? 4 : 1;
  }
}

// matmul_q5_1: y[t, o] = Σ_b (f32(d_w[o,b]·d_x[t,b])·Σ_j w5[o,32b+j]·q_x[t,32b+j] + f32(m_w[o,b]·s_x[t,b])) (+ bias[o]) (+ add[t, o])
//   Q5_1 weights (value = d·q + m, q ∈ [0, 31]) times Q8_1 activations (quantize_q8_1: int8 q, scale d,
//   s = d·Σq per block), llama.cpp's CPU arithmetic (ggml_vec_dot_q5_1_q8_1): per block an exact integer
//   sum, then in f32, per row, block after block: acc += f32(isum)·f32(d_w·d_x), and apart, as ggml's x86
//   code does (summs), mins += m_w·s_x (exact products of two f16 values); y = acc + mins.
//   The codes are 0..31, within relaxed SIMD's i7 operand: both paths compute the same integers.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q5_1 [out, k] (24-byte blocks: f16 d, f16 m, u32 qh: bit j is element j's fifth bit,
//   16 bytes: element j's low 4 bits in the low nibble of byte j, element j+16's in its high nibble),
//   q i8 [n, k], d f32 [n, k/32], s f32 [n, k/32], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass (one f32 lane each); a tail row is computed as 4 copies of itself.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { dot32, set_hi, set_lo } from './lib/block32';
import { f16x4_to_f32, finish4, gather4, sum4 } from './lib/kquant';

const BLOCK: usize = 24;

/** Σ_j w5_j·x_j of the block at wb, in 4 i32 lanes (exact total). */
// @ts-ignore: decorator
@inline
function block_dot(wb: usize, xa: v128, xb: v128): v128 {
  const qh = v128.load32_splat(wb + 4);
  const packed = v128.load(wb + 8);
  const five = i8x16.splat(0x10);
  return i32x4.extadd_pairwise_i16x8_s(dot32(v128.or(v128.and(packed, i8x16.splat(0x0f)), v128.and(set_lo(qh), five)), v128.or(i8x16.shr_u(packed, 4), v128.and(set_hi(qh), five)), xa, xb));
}

export function matmul_q5_1(w: usize, q: usize, d: usize, s: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
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
      const st = s + ((<usize>t * <usize>nb) << 2);
      let acc = f32x4.splat(0);
      let mins = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const xa = v128.load(qt + (<usize>b << 5));
        const xb = v128.load(qt + (<usize>b << 5) + 16);
        const ob = <usize>b * BLOCK;
        const is = sum4(block_dot(r0 + ob, xa, xb), block_dot(r1 + ob, xa, xb), block_dot(r2 + ob, xa, xb), block_dot(r3 + ob, xa, xb));
        const dm = gather4(r0 + ob, r1 + ob, r2 + ob, r3 + ob); // d | m << 16 of each row
        const sd = f32x4.mul(f16x4_to_f32(dm), f32x4.splat(load<f32>(dt + (<usize>b << 2))));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(is), sd));
        mins = f32x4.add(mins, f32x4.mul(f16x4_to_f32(i32x4.shr_u(dm, 16)), f32x4.splat(load<f32>(st + (<usize>b << 2)))));
      }
      finish4(y, bias, add, t, o, out, f32x4.add(acc, mins), four);
    }
    o += four ? 4 : 1;
  }
}

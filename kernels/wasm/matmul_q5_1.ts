// matmul_q5_1: y[t, o] = Σ_b (f32(d_w[o,b]·d_x[t,b])·Σ_j w5[o,32b+j]·q_x[t,32b+j] + f32(m_w[o,b]·s_x[t,b])) (+ bias[o]) (+ add[t, o])
//   Q5_1 weights (value = d·q + m, q ∈ [0, 31]) times Q8_1 activations (quantize_q8_1: int8 q, scale d,
//   s = d·Σq per block), llama.cpp's CPU arithmetic (ggml_vec_dot_q5_1_q8_1): per block an exact integer
//   sum, then in f32, per row and token, block after block: acc += f32(isum)·f32(d_w·d_x), and apart, as
//   ggml's x86 code does (summs), mins += m_w·s_x (exact products of two f16 values); y = acc + mins.
//   The codes are 0..31, within relaxed SIMD's i7 operand: both paths compute the same integers.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q5_1 [out, k] (24-byte blocks: f16 d, f16 m, u32 qh: bit j is element j's fifth bit,
//   16 bytes: element j's low 4 bits in the low nibble of byte j, element j+16's in its high nibble),
//   q i8 [n, k], d f32 [n, k/32], s f32 [n, k/32], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: the loop of lib/block32.ts (matmul_block32): 4 rows and, in prefill, 4 tokens per pass.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { matmul_block32, Q5_1 } from './lib/block32';

export function matmul_q5_1(w: usize, q: usize, d: usize, s: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  matmul_block32(Q5_1, w, q, d, s, bias, add, y, k, out, n, o0, o1);
}

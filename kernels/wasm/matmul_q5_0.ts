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
// Tunables: the loop of lib/block32.ts (matmul_block32): 4 rows and, in prefill, 4 tokens per pass.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { matmul_block32, Q5_0 } from './lib/block32';

export function matmul_q5_0(w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  matmul_block32(Q5_0, w, q, d, 0, bias, add, y, k, out, n, o0, o1);
}

// matmul_q8_0: y[t, o] = Σ_b d_w[o,b]·d_x[t,b]·Σ_j w[o,32b+j]·q_x[t,32b+j] (+ bias[o]) (+ add[t, o])
//   Q8_0 weights times int8 activations (quantize_q8_0), llama.cpp's CPU arithmetic: an exact integer
//   sum per block of 32, then in f32 the block's scales (f16 weight scale · activation scale) times it,
//   summed over blocks in 4 lanes (block b in lane b mod 4... each lane a partial of the block's 4 i32
//   partials), lanes added at the end.
// Threads: output rows [o0, o1), every token (rows are independent).
// Memory: w: GGUF Q8_0 [out, k] (34-byte blocks: f16 d, 32 × i8), q i8 [n, k], d f32 [n, k/32],
//   bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: the loop of lib/block32.ts (matmul_block32_lanes): 4 rows per pass share each activation load.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { matmul_block32_lanes, Q8_0 } from './lib/block32';

export function matmul_q8_0(w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  matmul_block32_lanes(Q8_0, w, q, d, bias, add, y, k, out, n, o0, o1);
}

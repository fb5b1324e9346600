// matmul_q2_k: y[t, o] = Σ_b [ f32(d_w·d_x)·Σ_s sc_s·Σ_{j∈s} q_w·q_x − f32(dmin_w·d_x)·Σ_s mn_s·Σ_{j∈s} q_x ]
//   (+ bias[o]) (+ add[t, o]): Q2_K weights times Q8_K activations (quantize_q8_k), llama.cpp's CPU
//   arithmetic (ggml_vec_dot_q2_K_q8_K): per block of 256, 16 sub-blocks of 16 with 4-bit scales sc and
//   mins mn, 2-bit codes q_w (0..3); both integer sums exact (i32), the mins' from the activations'
//   bsums; then in f32, per row, block after block: acc = acc + f32(isum)·f32(d_w·d_x) − f32(msum)·f32(dmin_w·d_x).
//   Relaxed SIMD: i16x8.relaxed_dot_i8x16_i7x16_s takes the codes (0..3, within its i7 operand): the
//   same integers as the plain path's extmul, so the same results.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q2_K [out, k] (84-byte blocks: 16 bytes sc | mn << 4, qs[64], f16 d, f16 dmin;
//   element 128h + 32j + l is bits 2j..2j+1 of qs[32h + l]), q i8 [n, k], d f32 [n, k/256],
//   bsums i16 [n, k/16], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: one row per pass, one token at a time (see lib/kquant.ts).
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { hadd_i32, lane, step16 } from './lib/kquant';

/** Σ_s sc_s·Σ_{j∈s} q_w·q_x of the block at wb, in 4 i32 lanes (|·| ≤ 16·15·16·3·127 < 2^31). */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize): v128 {
  const s = v128.and(v128.load(wb), i8x16.splat(0x0f));
  const sc0 = i16x8.extend_low_i8x16_u(s);
  const sc1 = i16x8.extend_high_i8x16_u(s);
  let acc = i32x4.splat(0);
  for (let h = 0; h < 2; h++) {
    const q0 = v128.load(wb + 16 + (<usize>h << 5));
    const q1 = v128.load(wb + 32 + (<usize>h << 5));
    const sc = h ? sc1 : sc0; // sub-blocks 8h..8h+7
    for (let j = 0; j < 4; j++) {
      const x = xb + (<usize>h << 7) + (<usize>j << 5);
      // bits 2j..2j+1 of each byte (an i16 shift: each byte keeps its own bits)
      acc = step16(acc, v128.and(i16x8.shr_u(q0, 2 * j), i8x16.splat(3)), x, lane(sc, 2 * j));
      acc = step16(acc, v128.and(i16x8.shr_u(q1, 2 * j), i8x16.splat(3)), x + 16, lane(sc, 2 * j + 1));
    }
  }
  return acc;
}

/** Σ_s mn_s·bsum_s of the block at wb, in 4 i32 lanes; bs: the block's 16 bsums. */
// @ts-ignore: decorator
@inline
function msum(wb: usize, bs: usize): v128 {
  const mn = v128.and(i16x8.shr_u(v128.load(wb), 4), i8x16.splat(0x0f));
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(mn), v128.load(bs)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(mn), v128.load(bs, 16)));
}

export function matmul_q2_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 84;
  for (let o = o0; o < o1; o++) {
    const row = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      const qt = q + <usize>t * <usize>k;
      const st = bsums + <usize>t * (<usize>k >> 3);
      const dt = d + <usize>t * (<usize>nb << 2);
      let acc: f32 = 0;
      for (let b = 0; b < nb; b++) {
        const wb = row + <usize>b * 84;
        const is = hadd_i32(isum(wb, qt + (<usize>b << 8)));
        const ms = hadd_i32(msum(wb, st + (<usize>b << 5)));
        const dx = load<f32>(dt + (<usize>b << 2));
        acc = acc + <f32>is * (f16_to_f32(load<u16>(wb, 80)) * dx) - <f32>ms * (f16_to_f32(load<u16>(wb, 82)) * dx);
      }
      finish(y, bias, add, t, o, out, acc);
    }
  }
}

// matmul_q4_k: y[t, o] = Σ_b [ f32(d_w·d_x)·Σ_s sc_s·Σ_{j∈s} q_w·q_x − f32(dmin_w·d_x)·Σ_s mn_s·Σ_{j∈s} q_x ]
//   (+ bias[o]) (+ add[t, o]): Q4_K weights times Q8_K activations (quantize_q8_k), llama.cpp's CPU
//   arithmetic (ggml_vec_dot_q4_K_q8_K): per block of 256, 8 sub-blocks of 32 with 6-bit scales sc and
//   mins mn; both integer sums exact (i32), the mins' from the activations' bsums; then in f32, per row,
//   block after block: acc = acc + f32(isum)·f32(d_w·d_x) − f32(msum)·f32(dmin_w·d_x).
//   Relaxed SIMD: i16x8.relaxed_dot_i8x16_i7x16_s takes the 4-bit codes (0..15, within its i7 operand),
//   the same integers as the plain path's extmul, so the same results.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q4_K [out, k] (144-byte blocks: f16 d, f16 dmin, 12 bytes of scales and mins, 128
//   bytes qs: element 64c + l the low nibble of qs[32c + l], 64c + 32 + l its high nibble), q i8 [n, k],
//   d f32 [n, k/256], bsums i16 [n, k/16], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: one row per pass (see lib/kquant.ts: measured faster than 4 rows sharing each x load); 4
//   tokens per pass (prefill) share the decoding of each block's codes and scales.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { hadd_i32, k4_msum, k4_scales, lane, lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7, step32 } from './lib/kquant';

/** Σ_s sc_s·Σ_{j∈s} q_w·q_x of the block at wb, in 4 i32 lanes (|·| < 2^31: ≤ 8·63·32·15·127). */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize): v128 {
  const sc = k4_scales(wb);
  const m4 = i8x16.splat(0x0f);
  // chunk c: 32 bytes of qs; low nibbles are sub-block 2c (x[64c..64c+31]), high ones 2c+1
  let a = v128.load(wb, 16);
  let b = v128.load(wb, 32);
  let acc = step32(i32x4.splat(0), v128.and(a, m4), v128.and(b, m4), xb, lane0(sc));
  acc = step32(acc, v128.and(i16x8.shr_u(a, 4), m4), v128.and(i16x8.shr_u(b, 4), m4), xb + 32, lane1(sc));
  a = v128.load(wb, 48);
  b = v128.load(wb, 64);
  acc = step32(acc, v128.and(a, m4), v128.and(b, m4), xb + 64, lane2(sc));
  acc = step32(acc, v128.and(i16x8.shr_u(a, 4), m4), v128.and(i16x8.shr_u(b, 4), m4), xb + 96, lane3(sc));
  a = v128.load(wb, 80);
  b = v128.load(wb, 96);
  acc = step32(acc, v128.and(a, m4), v128.and(b, m4), xb + 128, lane4(sc));
  acc = step32(acc, v128.and(i16x8.shr_u(a, 4), m4), v128.and(i16x8.shr_u(b, 4), m4), xb + 160, lane5(sc));
  a = v128.load(wb, 112);
  b = v128.load(wb, 128);
  acc = step32(acc, v128.and(a, m4), v128.and(b, m4), xb + 192, lane6(sc));
  return step32(acc, v128.and(i16x8.shr_u(a, 4), m4), v128.and(i16x8.shr_u(b, 4), m4), xb + 224, lane7(sc));
}

export function matmul_q4_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 144;
  const xs = <usize>k; // bytes between two tokens' x
  const ss = <usize>k >> 3; // bytes between two tokens' bsums (k/16 i16)
  const ds = <usize>nb << 2; // bytes between two tokens' scales
  const m4 = i8x16.splat(0x0f);
  for (let o = o0; o < o1; o++) {
    const row = w + <usize>o * rowBytes;
    let t = 0;
    // 4 tokens at a time share each block's codes (prefill): the same integers and f32 steps per token
    for (; t + 4 <= n; t += 4) {
      const qt = q + <usize>t * xs;
      const st = bsums + <usize>t * ss;
      const dt = d + <usize>t * ds;
      let f0: f32 = 0;
      let f1: f32 = 0;
      let f2: f32 = 0;
      let f3: f32 = 0;
      for (let b = 0; b < nb; b++) {
        const wb = row + <usize>b * 144;
        const sc = k4_scales(wb);
        let a0 = i32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        for (let c: usize = 0; c < 4; c++) {
          const a = v128.load(wb + 16 + (c << 5));
          const bb = v128.load(wb + 32 + (c << 5));
          const x = qt + (<usize>b << 8) + (c << 6);
          // the scales of sub-blocks 2c and 2c + 1 in every lane
          const sl = lane(sc, 2 * <i32>c);
          const sh = lane(sc, 2 * <i32>c + 1);
          let lo = v128.and(a, m4);
          let hi = v128.and(bb, m4);
          a0 = step32(a0, lo, hi, x, sl);
          a1 = step32(a1, lo, hi, x + xs, sl);
          a2 = step32(a2, lo, hi, x + 2 * xs, sl);
          a3 = step32(a3, lo, hi, x + 3 * xs, sl);
          lo = v128.and(i16x8.shr_u(a, 4), m4);
          hi = v128.and(i16x8.shr_u(bb, 4), m4);
          a0 = step32(a0, lo, hi, x + 32, sh);
          a1 = step32(a1, lo, hi, x + xs + 32, sh);
          a2 = step32(a2, lo, hi, x + 2 * xs + 32, sh);
          a3 = step32(a3, lo, hi, x + 3 * xs + 32, sh);
        }
        const dw = f16_to_f32(load<u16>(wb));
        const dm = f16_to_f32(load<u16>(wb, 2));
        const sb = st + (<usize>b << 5);
        const db = dt + (<usize>b << 2);
        let dx = load<f32>(db);
        f0 = f0 + <f32>hadd_i32(a0) * (dw * dx) - <f32>hadd_i32(k4_msum(wb, sb)) * (dm * dx);
        dx = load<f32>(db + ds);
        f1 = f1 + <f32>hadd_i32(a1) * (dw * dx) - <f32>hadd_i32(k4_msum(wb, sb + ss)) * (dm * dx);
        dx = load<f32>(db + 2 * ds);
        f2 = f2 + <f32>hadd_i32(a2) * (dw * dx) - <f32>hadd_i32(k4_msum(wb, sb + 2 * ss)) * (dm * dx);
        dx = load<f32>(db + 3 * ds);
        f3 = f3 + <f32>hadd_i32(a3) * (dw * dx) - <f32>hadd_i32(k4_msum(wb, sb + 3 * ss)) * (dm * dx);
      }
      finish(y, bias, add, t, o, out, f0);
      finish(y, bias, add, t + 1, o, out, f1);
      finish(y, bias, add, t + 2, o, out, f2);
      finish(y, bias, add, t + 3, o, out, f3);
    }
    // one token at a time (decode, and what is left of a batch)
    for (; t < n; t++) {
      const qt = q + <usize>t * xs;
      const st = bsums + <usize>t * ss;
      const dt = d + <usize>t * ds;
      let acc: f32 = 0;
      for (let b = 0; b < nb; b++) {
        const wb = row + <usize>b * 144;
        const is = hadd_i32(isum(wb, qt + (<usize>b << 8)));
        const ms = hadd_i32(k4_msum(wb, st + (<usize>b << 5)));
        const dx = load<f32>(dt + (<usize>b << 2));
        acc = acc + <f32>is * (f16_to_f32(load<u16>(wb)) * dx) - <f32>ms * (f16_to_f32(load<u16>(wb, 2)) * dx);
      }
      finish(y, bias, add, t, o, out, acc);
    }
  }
}

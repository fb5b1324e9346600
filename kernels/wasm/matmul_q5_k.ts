// matmul_q5_k: y[t, o] = Σ_b [ f32(d_w·d_x)·Σ_s sc_s·Σ_{j∈s} q_w·q_x − f32(dmin_w·d_x)·Σ_s mn_s·Σ_{j∈s} q_x ]
//   (+ bias[o]) (+ add[t, o]): Q5_K weights times Q8_K activations (quantize_q8_k), llama.cpp's CPU
//   arithmetic (ggml_vec_dot_q5_K_q8_K): as matmul_q4_k with 5-bit codes q_w (0..31); both integer
//   sums exact (i32), the mins' from the activations' bsums; then in f32, per row, block after block:
//   acc = acc + f32(isum)·f32(d_w·d_x) − f32(msum)·f32(dmin_w·d_x).
//   Relaxed SIMD: i16x8.relaxed_dot_i8x16_i7x16_s takes the codes (0..31, within its i7 operand): the
//   same integers as the plain path's extmul, so the same results.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q5_K [out, k] (176-byte blocks: f16 d, f16 dmin, 12 bytes of scales and mins as Q4_K,
//   qh[32], qs[128]: element 64c + l is the low nibble of qs[32c + l] with bit 2c of qh[l] above it,
//   64c + 32 + l the high nibble with bit 2c + 1), q i8 [n, k], d f32 [n, k/256], bsums i16 [n, k/16],
//   bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: one row per pass (see lib/kquant.ts); 4 tokens per pass (prefill) share the decoding of
//   each block's codes and scales.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { hadd_i32, k4_msum, k4_scales, lane, step32 } from './lib/kquant';

// The codes of 16 lanes of chunk c: a = qs[32c + l..], g = qh[l..] >> 2c (an i16 shift: each byte's
// bits 0 and 1 are still its own bits 2c and 2c + 1). Low: nibble | bit 0 << 4; high: nibble | bit 1 << 4.
// @ts-ignore: decorator
@inline
function lo5(a: v128, g: v128): v128 {
  return v128.or(v128.and(a, i8x16.splat(0x0f)), v128.and(i16x8.shl(g, 4), i8x16.splat(0x10)));
}
// @ts-ignore: decorator
@inline
function hi5(a: v128, g: v128): v128 {
  return v128.or(v128.and(i16x8.shr_u(a, 4), i8x16.splat(0x0f)), v128.and(i16x8.shl(g, 3), i8x16.splat(0x10)));
}

/** Σ_s sc_s·Σ_{j∈s} q_w·q_x of the block at wb, in 4 i32 lanes (|·| ≤ 8·63·32·31·127 < 2^31). */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize): v128 {
  const sc = k4_scales(wb);
  const h0 = v128.load(wb, 16);
  const h1 = v128.load(wb, 32);
  let acc = i32x4.splat(0);
  for (let c = 0; c < 4; c++) {
    const a = v128.load(wb + 48 + (<usize>c << 5));
    const b = v128.load(wb + 64 + (<usize>c << 5));
    const g0 = i16x8.shr_u(h0, 2 * c);
    const g1 = i16x8.shr_u(h1, 2 * c);
    const x = xb + (<usize>c << 6);
    acc = step32(acc, lo5(a, g0), lo5(b, g1), x, lane(sc, 2 * c));
    acc = step32(acc, hi5(a, g0), hi5(b, g1), x + 32, lane(sc, 2 * c + 1));
  }
  return acc;
}

export function matmul_q5_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 176;
  const xs = <usize>k; // bytes between two tokens' x
  const ss = <usize>k >> 3; // bytes between two tokens' bsums (k/16 i16)
  const ds = <usize>nb << 2; // bytes between two tokens' scales
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
        const wb = row + <usize>b * 176;
        const sc = k4_scales(wb);
        const h0 = v128.load(wb, 16);
        const h1 = v128.load(wb, 32);
        let a0 = i32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        for (let c = 0; c < 4; c++) {
          const a = v128.load(wb + 48 + (<usize>c << 5));
          const bb = v128.load(wb + 64 + (<usize>c << 5));
          const g0 = i16x8.shr_u(h0, 2 * c);
          const g1 = i16x8.shr_u(h1, 2 * c);
          const x = qt + (<usize>b << 8) + (<usize>c << 6);
          const sl = lane(sc, 2 * c);
          const sh = lane(sc, 2 * c + 1);
          let lo = lo5(a, g0);
          let hi = lo5(bb, g1);
          a0 = step32(a0, lo, hi, x, sl);
          a1 = step32(a1, lo, hi, x + xs, sl);
          a2 = step32(a2, lo, hi, x + 2 * xs, sl);
          a3 = step32(a3, lo, hi, x + 3 * xs, sl);
          lo = hi5(a, g0);
          hi = hi5(bb, g1);
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
        const wb = row + <usize>b * 176;
        const is = hadd_i32(isum(wb, qt + (<usize>b << 8)));
        const ms = hadd_i32(k4_msum(wb, st + (<usize>b << 5)));
        const dx = load<f32>(dt + (<usize>b << 2));
        acc = acc + <f32>is * (f16_to_f32(load<u16>(wb)) * dx) - <f32>ms * (f16_to_f32(load<u16>(wb, 2)) * dx);
      }
      finish(y, bias, add, t, o, out, acc);
    }
  }
}

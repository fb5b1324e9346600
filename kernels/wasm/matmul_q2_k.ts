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
// Tunables: one row per pass (see lib/kquant.ts); 4 tokens per pass (prefill) share the decoding of
//   each block's codes and scales.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { hadd_i32, lane, lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7, step16 } from './lib/kquant';

/** bits 2j..2j+1 of each byte (an i16 shift: each byte keeps its own bits) */
// @ts-ignore: decorator
@inline
function code(q: v128, j2: i32): v128 {
  return v128.and(i16x8.shr_u(q, j2), i8x16.splat(3));
}

/** One half (128 values) of a block: qs at p, x at x, scales sc (i16x8, sub-blocks 8h..8h+7). */
// @ts-ignore: decorator
@inline
function half(acc: v128, p: usize, x: usize, sc: v128): v128 {
  const q0 = v128.load(p);
  const q1 = v128.load(p, 16);
  acc = step16(acc, code(q0, 0), x, lane0(sc));
  acc = step16(acc, code(q1, 0), x + 16, lane1(sc));
  acc = step16(acc, code(q0, 2), x + 32, lane2(sc));
  acc = step16(acc, code(q1, 2), x + 48, lane3(sc));
  acc = step16(acc, code(q0, 4), x + 64, lane4(sc));
  acc = step16(acc, code(q1, 4), x + 80, lane5(sc));
  acc = step16(acc, code(q0, 6), x + 96, lane6(sc));
  return step16(acc, code(q1, 6), x + 112, lane7(sc));
}

/** Σ_s sc_s·Σ_{j∈s} q_w·q_x of the block at wb, in 4 i32 lanes (|·| ≤ 16·15·16·3·127 < 2^31). */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize): v128 {
  const s = v128.and(v128.load(wb), i8x16.splat(0x0f));
  const acc = half(i32x4.splat(0), wb + 16, xb, i16x8.extend_low_i8x16_u(s));
  return half(acc, wb + 48, xb + 128, i16x8.extend_high_i8x16_u(s));
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
        const wb = row + <usize>b * 84;
        const s = v128.and(v128.load(wb), i8x16.splat(0x0f));
        let a0 = i32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        for (let h = 0; h < 2; h++) {
          const q0 = v128.load(wb + 16 + (<usize>h << 5));
          const q1 = v128.load(wb + 32 + (<usize>h << 5));
          const sc = h ? i16x8.extend_high_i8x16_u(s) : i16x8.extend_low_i8x16_u(s);
          for (let j = 0; j < 4; j++) {
            const x = qt + (<usize>b << 8) + (<usize>h << 7) + (<usize>j << 5);
            let c = code(q0, 2 * j);
            let sl = lane(sc, 2 * j);
            a0 = step16(a0, c, x, sl);
            a1 = step16(a1, c, x + xs, sl);
            a2 = step16(a2, c, x + 2 * xs, sl);
            a3 = step16(a3, c, x + 3 * xs, sl);
            c = code(q1, 2 * j);
            sl = lane(sc, 2 * j + 1);
            a0 = step16(a0, c, x + 16, sl);
            a1 = step16(a1, c, x + xs + 16, sl);
            a2 = step16(a2, c, x + 2 * xs + 16, sl);
            a3 = step16(a3, c, x + 3 * xs + 16, sl);
          }
        }
        const dw = f16_to_f32(load<u16>(wb, 80));
        const dm = f16_to_f32(load<u16>(wb, 82));
        const sb = st + (<usize>b << 5);
        const db = dt + (<usize>b << 2);
        let dx = load<f32>(db);
        f0 = f0 + <f32>hadd_i32(a0) * (dw * dx) - <f32>hadd_i32(msum(wb, sb)) * (dm * dx);
        dx = load<f32>(db + ds);
        f1 = f1 + <f32>hadd_i32(a1) * (dw * dx) - <f32>hadd_i32(msum(wb, sb + ss)) * (dm * dx);
        dx = load<f32>(db + 2 * ds);
        f2 = f2 + <f32>hadd_i32(a2) * (dw * dx) - <f32>hadd_i32(msum(wb, sb + 2 * ss)) * (dm * dx);
        dx = load<f32>(db + 3 * ds);
        f3 = f3 + <f32>hadd_i32(a3) * (dw * dx) - <f32>hadd_i32(msum(wb, sb + 3 * ss)) * (dm * dx);
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

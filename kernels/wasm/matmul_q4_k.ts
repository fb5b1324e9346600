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
// Tunables: one row per pass (see lib/kquant.ts: measured faster than 4 rows sharing each x load).
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { dot16, hadd_i32, lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7 } from './lib/kquant';

/** Σ_s sc_s·Σ_{j∈s} q_w·q_x of the block at wb, in 4 i32 lanes (|·| < 2^31: ≤ 8·63·32·15·127). */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize): v128 {
  // ggml's get_scale_min_k4 on whole words: bytes 0..3 of sc are u0's low 6 bits, 4..7 the low
  // nibbles of u2 with u0's top 2 bits above them
  const u0 = load<u32>(wb, 4);
  const u2 = load<u32>(wb, 12);
  const lo = u0 & 0x3f3f3f3f;
  const hi = (u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030);
  const sc = i16x8.extend_low_i8x16_u(i32x4.replace_lane(i32x4.splat(lo), 1, hi));
  const m4 = i8x16.splat(0x0f);
  // chunk c: 32 bytes of qs; low nibbles are sub-block 2c (x[64c..64c+31]), high ones 2c+1
  let a = v128.load(wb, 16);
  let b = v128.load(wb, 32);
  let acc = i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(a, m4), v128.load(xb)), dot16(v128.and(b, m4), v128.load(xb, 16))), lane0(sc));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(i16x8.shr_u(a, 4), m4), v128.load(xb, 32)), dot16(v128.and(i16x8.shr_u(b, 4), m4), v128.load(xb, 48))), lane1(sc)));
  a = v128.load(wb, 48);
  b = v128.load(wb, 64);
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(a, m4), v128.load(xb, 64)), dot16(v128.and(b, m4), v128.load(xb, 80))), lane2(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(i16x8.shr_u(a, 4), m4), v128.load(xb, 96)), dot16(v128.and(i16x8.shr_u(b, 4), m4), v128.load(xb, 112))), lane3(sc)));
  a = v128.load(wb, 80);
  b = v128.load(wb, 96);
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(a, m4), v128.load(xb, 128)), dot16(v128.and(b, m4), v128.load(xb, 144))), lane4(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(i16x8.shr_u(a, 4), m4), v128.load(xb, 160)), dot16(v128.and(i16x8.shr_u(b, 4), m4), v128.load(xb, 176))), lane5(sc)));
  a = v128.load(wb, 112);
  b = v128.load(wb, 128);
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(a, m4), v128.load(xb, 192)), dot16(v128.and(b, m4), v128.load(xb, 208))), lane6(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(dot16(v128.and(i16x8.shr_u(a, 4), m4), v128.load(xb, 224)), dot16(v128.and(i16x8.shr_u(b, 4), m4), v128.load(xb, 240))), lane7(sc)));
  return acc;
}

/** Σ_s mn_s·(Σ q_x over sub-block s) of the block at wb, in 4 i32 lanes; bs8: the 8 sub-block sums (i16). */
// @ts-ignore: decorator
@inline
function msum(wb: usize, bs8: v128): v128 {
  const u1 = load<u32>(wb, 8);
  const u2 = load<u32>(wb, 12);
  const lo = u1 & 0x3f3f3f3f;
  const hi = ((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030);
  return i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(i32x4.replace_lane(i32x4.splat(lo), 1, hi)), bs8);
}

export function matmul_q4_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 144;
  for (let o = o0; o < o1; o++) {
    const row = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      const st = bsums + ((<usize>t * <usize>(k >> 4)) << 1);
      let acc: f32 = 0;
      for (let b = 0; b < nb; b++) {
        const wb = row + <usize>b * 144;
        const sb = st + (<usize>b << 5);
        // the 8 sub-block sums of x: pairs of its 16 bsums (each |·| ≤ 32·127: an i16)
        const bs8 = i16x8.narrow_i32x4_s(i32x4.extadd_pairwise_i16x8_s(v128.load(sb)), i32x4.extadd_pairwise_i16x8_s(v128.load(sb, 16)));
        const is = hadd_i32(isum(wb, qt + (<usize>b << 8)));
        const ms = hadd_i32(msum(wb, bs8));
        const dx = load<f32>(dt + (<usize>b << 2));
        acc = acc + <f32>is * (f16_to_f32(load<u16>(wb)) * dx) - <f32>ms * (f16_to_f32(load<u16>(wb, 2)) * dx);
      }
      finish(y, bias, add, t, o, out, acc);
    }
  }
}

// matmul_q6_k: y[t, o] = Σ_b f32(d_w·d_x)·Σ_s sc_s·Σ_{j∈s} q_w·q_x (+ bias[o]) (+ add[t, o])
//   Q6_K weights times Q8_K activations (quantize_q8_k), llama.cpp's CPU arithmetic
//   (ggml_vec_dot_q6_K_q8_K): per block of 256, 16 sub-blocks of 16 with signed 8-bit scales sc and
//   q_w = code − 32 (code: 6 bits, 0..63). The integer sum is exact (i32) and taken as llama.cpp's AVX2
//   path does, on the unsigned codes: Σ_s sc_s·Σ_j code·q_x − 32·Σ_s sc_s·bsum_s (the activations'
//   bsums); then in f32, per row, block after block: acc = acc + f32(isum)·f32(d_w·d_x).
//   Relaxed SIMD: i16x8.relaxed_dot_i8x16_i7x16_s takes the codes (0..63, within its i7 operand):
//   the same integers as the plain path's extmul, so the same results.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q6_K [out, k] (210-byte blocks: ql[128], qh[64], scales i8[16], f16 d; in half h,
//   for l < 32, elements 128h + l + 32i take ql[64h + l + 32(i&1)] (low nibble for i < 2, high for
//   i ≥ 2) and bits 2i..2i+1 of qh[32h + l]), q i8 [n, k], d f32 [n, k/256], bsums i16 [n, k/16],
//   bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: one row per pass (see lib/kquant.ts: measured faster than 4 rows sharing each x load).
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { dot16, hadd_i32, lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7 } from './lib/kquant';

/**
 * One half (128 values) of a block: ql at p, qh at h, x at xb, scales sc (i16x8, sub-blocks 8h..8h+7).
 * Codes per 16 lanes: (ql nibble) | (2 bits of qh) << 4; the shifts are i16x8 ones, the masks keep
 * each byte's own bits.
 */
// @ts-ignore: decorator
@inline
function half(p: usize, h: usize, xb: usize, sc: v128): v128 {
  const m4 = i8x16.splat(0x0f);
  const m30 = i8x16.splat(0x30);
  const a0 = v128.load(p);
  const a1 = v128.load(p, 16);
  const c0 = v128.load(p, 32);
  const c1 = v128.load(p, 48);
  const h0 = v128.load(h);
  const h1 = v128.load(h, 16);
  let acc = i32x4.dot_i16x8_s(dot16(v128.or(v128.and(a0, m4), v128.and(i16x8.shl(h0, 4), m30)), v128.load(xb)), lane0(sc));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(dot16(v128.or(v128.and(a1, m4), v128.and(i16x8.shl(h1, 4), m30)), v128.load(xb, 16)), lane1(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(dot16(v128.or(v128.and(c0, m4), v128.and(i16x8.shl(h0, 2), m30)), v128.load(xb, 32)), lane2(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(dot16(v128.or(v128.and(c1, m4), v128.and(i16x8.shl(h1, 2), m30)), v128.load(xb, 48)), lane3(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(dot16(v128.or(v128.and(i16x8.shr_u(a0, 4), m4), v128.and(h0, m30)), v128.load(xb, 64)), lane4(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(dot16(v128.or(v128.and(i16x8.shr_u(a1, 4), m4), v128.and(h1, m30)), v128.load(xb, 80)), lane5(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(dot16(v128.or(v128.and(i16x8.shr_u(c0, 4), m4), v128.and(i16x8.shr_u(h0, 2), m30)), v128.load(xb, 96)), lane6(sc)));
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(dot16(v128.or(v128.and(i16x8.shr_u(c1, 4), m4), v128.and(i16x8.shr_u(h1, 2), m30)), v128.load(xb, 112)), lane7(sc)));
  return acc;
}

/** Σ_s sc_s·Σ_{j∈s} (code − 32)·q_x of the block at wb, in 4 i32 lanes (|·| ≤ 16·128·16·63·127 < 2^31). */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize, bs0: v128, bs1: v128): v128 {
  const s = v128.load(wb, 192);
  const sc0 = i16x8.extend_low_i8x16_s(s);
  const sc1 = i16x8.extend_high_i8x16_s(s);
  const acc = i32x4.add(half(wb, wb + 128, xb, sc0), half(wb + 64, wb + 160, xb + 128, sc1));
  // the codes' offset of 32: 32·Σ_s sc_s·bsum_s
  return i32x4.sub(acc, i32x4.shl(i32x4.add(i32x4.dot_i16x8_s(sc0, bs0), i32x4.dot_i16x8_s(sc1, bs1)), 5));
}

export function matmul_q6_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 210;
  for (let o = o0; o < o1; o++) {
    const row = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      const st = bsums + ((<usize>t * <usize>(k >> 4)) << 1);
      let acc: f32 = 0;
      for (let b = 0; b < nb; b++) {
        const wb = row + <usize>b * 210;
        const sb = st + (<usize>b << 5);
        const s = hadd_i32(isum(wb, qt + (<usize>b << 8), v128.load(sb), v128.load(sb, 16)));
        acc = acc + <f32>s * (f16_to_f32(load<u16>(wb, 208)) * load<f32>(dt + (<usize>b << 2)));
      }
      finish(y, bias, add, t, o, out, acc);
    }
  }
}

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
// Tunables: one row per pass (see lib/kquant.ts: measured faster than 4 rows sharing each x load); 4
//   tokens per pass (prefill) share the decoding of each block's codes.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { hadd_i32, lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7, step16 } from './lib/kquant';

// The codes of 16 lanes: (ql nibble) | (2 bits of qh) << 4, for the 4 positions of a half (see Memory);
// a: ql[l..], c: ql[32 + l..], h: qh[l..]. The shifts are i16x8 ones: the masks keep each byte's own bits.
// @ts-ignore: decorator
@inline
function code0(a: v128, h: v128): v128 {
  return v128.or(v128.and(a, i8x16.splat(0x0f)), v128.and(i16x8.shl(h, 4), i8x16.splat(0x30)));
}
// @ts-ignore: decorator
@inline
function code1(c: v128, h: v128): v128 {
  return v128.or(v128.and(c, i8x16.splat(0x0f)), v128.and(i16x8.shl(h, 2), i8x16.splat(0x30)));
}
// @ts-ignore: decorator
@inline
function code2(a: v128, h: v128): v128 {
  return v128.or(v128.and(i16x8.shr_u(a, 4), i8x16.splat(0x0f)), v128.and(h, i8x16.splat(0x30)));
}
// @ts-ignore: decorator
@inline
function code3(c: v128, h: v128): v128 {
  return v128.or(v128.and(i16x8.shr_u(c, 4), i8x16.splat(0x0f)), v128.and(i16x8.shr_u(h, 2), i8x16.splat(0x30)));
}

/** One half (128 values) of a block: ql at p, qh at h, x at xb, scales sc (i16x8, sub-blocks 8h..8h+7). */
// @ts-ignore: decorator
@inline
function half(p: usize, h: usize, xb: usize, sc: v128): v128 {
  const a0 = v128.load(p);
  const a1 = v128.load(p, 16);
  const c0 = v128.load(p, 32);
  const c1 = v128.load(p, 48);
  const h0 = v128.load(h);
  const h1 = v128.load(h, 16);
  let acc = step16(i32x4.splat(0), code0(a0, h0), xb, lane0(sc));
  acc = step16(acc, code0(a1, h1), xb + 16, lane1(sc));
  acc = step16(acc, code1(c0, h0), xb + 32, lane2(sc));
  acc = step16(acc, code1(c1, h1), xb + 48, lane3(sc));
  acc = step16(acc, code2(a0, h0), xb + 64, lane4(sc));
  acc = step16(acc, code2(a1, h1), xb + 80, lane5(sc));
  acc = step16(acc, code3(c0, h0), xb + 96, lane6(sc));
  return step16(acc, code3(c1, h1), xb + 112, lane7(sc));
}

/** Σ_s sc_s·Σ_{j∈s} (code − 32)·q_x of the block at wb, in 4 i32 lanes (|·| ≤ 16·128·16·63·127 < 2^31). */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize, bs: usize): v128 {
  const s = v128.load(wb, 192);
  const sc0 = i16x8.extend_low_i8x16_s(s);
  const sc1 = i16x8.extend_high_i8x16_s(s);
  return offset(i32x4.add(half(wb, wb + 128, xb, sc0), half(wb + 64, wb + 160, xb + 128, sc1)), sc0, sc1, bs);
}

/** acc − 32·Σ_s sc_s·bsum_s: the codes' offset of 32 (bs: the block's 16 bsums) */
// @ts-ignore: decorator
@inline
function offset(acc: v128, sc0: v128, sc1: v128, bs: usize): v128 {
  return i32x4.sub(acc, i32x4.shl(i32x4.add(i32x4.dot_i16x8_s(sc0, v128.load(bs)), i32x4.dot_i16x8_s(sc1, v128.load(bs, 16))), 5));
}

export function matmul_q6_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 210;
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
        const wb = row + <usize>b * 210;
        let a0 = i32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        for (let h: usize = 0; h < 256; h += 128) {
          for (let l: usize = 0; l < 32; l += 16) {
            const a = v128.load(wb + (h >> 1) + l);
            const c = v128.load(wb + (h >> 1) + l, 32);
            const hh = v128.load(wb + 128 + (h >> 2) + l);
            const x = qt + (<usize>b << 8) + h + l;
            const sp = wb + 192 + (h >> 4) + (l >> 4); // the scale of the sub-block of code0
            let code = code0(a, hh);
            let sc = i16x8.splat(load<i8>(sp));
            a0 = step16(a0, code, x, sc);
            a1 = step16(a1, code, x + xs, sc);
            a2 = step16(a2, code, x + 2 * xs, sc);
            a3 = step16(a3, code, x + 3 * xs, sc);
            code = code1(c, hh);
            sc = i16x8.splat(load<i8>(sp, 2));
            a0 = step16(a0, code, x + 32, sc);
            a1 = step16(a1, code, x + xs + 32, sc);
            a2 = step16(a2, code, x + 2 * xs + 32, sc);
            a3 = step16(a3, code, x + 3 * xs + 32, sc);
            code = code2(a, hh);
            sc = i16x8.splat(load<i8>(sp, 4));
            a0 = step16(a0, code, x + 64, sc);
            a1 = step16(a1, code, x + xs + 64, sc);
            a2 = step16(a2, code, x + 2 * xs + 64, sc);
            a3 = step16(a3, code, x + 3 * xs + 64, sc);
            code = code3(c, hh);
            sc = i16x8.splat(load<i8>(sp, 6));
            a0 = step16(a0, code, x + 96, sc);
            a1 = step16(a1, code, x + xs + 96, sc);
            a2 = step16(a2, code, x + 2 * xs + 96, sc);
            a3 = step16(a3, code, x + 3 * xs + 96, sc);
          }
        }
        const s = v128.load(wb, 192);
        const sc0 = i16x8.extend_low_i8x16_s(s);
        const sc1 = i16x8.extend_high_i8x16_s(s);
        const dw = f16_to_f32(load<u16>(wb, 208));
        const sb = st + (<usize>b << 5);
        const db = dt + (<usize>b << 2);
        f0 = f0 + <f32>hadd_i32(offset(a0, sc0, sc1, sb)) * (dw * load<f32>(db));
        f1 = f1 + <f32>hadd_i32(offset(a1, sc0, sc1, sb + ss)) * (dw * load<f32>(db + ds));
        f2 = f2 + <f32>hadd_i32(offset(a2, sc0, sc1, sb + 2 * ss)) * (dw * load<f32>(db + 2 * ds));
        f3 = f3 + <f32>hadd_i32(offset(a3, sc0, sc1, sb + 3 * ss)) * (dw * load<f32>(db + 3 * ds));
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
        const wb = row + <usize>b * 210;
        const s = hadd_i32(isum(wb, qt + (<usize>b << 8), st + (<usize>b << 5)));
        acc = acc + <f32>s * (f16_to_f32(load<u16>(wb, 208)) * load<f32>(dt + (<usize>b << 2)));
      }
      finish(y, bias, add, t, o, out, acc);
    }
  }
}

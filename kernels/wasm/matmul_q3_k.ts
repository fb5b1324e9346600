// matmul_q3_k: y[t, o] = Σ_b f32(d_w·d_x)·Σ_s sc_s·Σ_{j∈s} q_w·q_x (+ bias[o]) (+ add[t, o])
//   Q3_K weights times Q8_K activations (quantize_q8_k), llama.cpp's CPU arithmetic
//   (ggml_vec_dot_q3_K_q8_K): per block of 256, 16 sub-blocks of 16 with signed 6-bit scales sc
//   (−32..31) and q_w = u − 4, u = 2 bits of qs | the hmask bit << 2 (0..7). The integer sum is exact
//   (i32) and taken on the unsigned codes: Σ_s sc_s·Σ_j u·q_x − 4·Σ_s sc_s·bsum_s (the activations'
//   bsums); then in f32, per row, block after block: acc = acc + f32(isum)·f32(d_w·d_x).
//   Relaxed SIMD: i16x8.relaxed_dot_i8x16_i7x16_s takes the codes u (0..7, within its i7 operand): the
//   same integers as the plain path's extmul, so the same results.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q3_K [out, k] (110-byte blocks: hmask[32], qs[64], 12 bytes of scales, f16 d; element
//   128h + 32j + l takes bits 2j..2j+1 of qs[32h + l] and bit 4h + j of hmask[l]), q i8 [n, k],
//   d f32 [n, k/256], bsums i16 [n, k/16], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: one row per pass (see lib/kquant.ts); 4 tokens per pass (prefill) share the decoding of
//   each block's codes and scales.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { hadd_i32, lane, lane0, lane1, lane2, lane3, lane4, lane5, lane6, lane7, step16 } from './lib/kquant';

/**
 * The 16 scales of the block at wb as i8 lanes, −32..31 (llama.cpp's aux words: bytes 0..7 of the
 * 12 give the low nibbles of scales 0..7 and, shifted, of 8..15; bytes 8..11 the top 2 bits of each).
 */
// @ts-ignore: decorator
@inline
function scales(wb: usize): v128 {
  const a0 = load<u32>(wb, 96);
  const a1 = load<u32>(wb, 100);
  const tmp = load<u32>(wb, 104);
  let v = i32x4.splat((a0 & 0x0f0f0f0f) | ((tmp & 0x03030303) << 4));
  v = i32x4.replace_lane(v, 1, (a1 & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4));
  v = i32x4.replace_lane(v, 2, ((a0 >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4));
  v = i32x4.replace_lane(v, 3, ((a1 >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4));
  return i8x16.sub(v, i8x16.splat(32));
}

/** The codes u of 16 lanes: q = qs bytes, m = hmask bytes; bits j2 = 2j of q, bit hb of m (i16 shifts: each byte keeps its own bits). */
// @ts-ignore: decorator
@inline
function code(q: v128, m: v128, j2: i32, hb: i32): v128 {
  return v128.or(v128.and(i16x8.shr_u(q, j2), i8x16.splat(3)), v128.and(i16x8.shl(i16x8.shr_u(m, hb), 2), i8x16.splat(4)));
}

/** One half h (128 values) of a block: qs at p, hmask m0|m1, x at x, scales sc (i16x8, sub-blocks 8h..8h+7). */
// @ts-ignore: decorator
@inline
function half(acc: v128, p: usize, m0: v128, m1: v128, h4: i32, x: usize, sc: v128): v128 {
  const q0 = v128.load(p);
  const q1 = v128.load(p, 16);
  acc = step16(acc, code(q0, m0, 0, h4), x, lane0(sc));
  acc = step16(acc, code(q1, m1, 0, h4), x + 16, lane1(sc));
  acc = step16(acc, code(q0, m0, 2, h4 + 1), x + 32, lane2(sc));
  acc = step16(acc, code(q1, m1, 2, h4 + 1), x + 48, lane3(sc));
  acc = step16(acc, code(q0, m0, 4, h4 + 2), x + 64, lane4(sc));
  acc = step16(acc, code(q1, m1, 4, h4 + 2), x + 80, lane5(sc));
  acc = step16(acc, code(q0, m0, 6, h4 + 3), x + 96, lane6(sc));
  return step16(acc, code(q1, m1, 6, h4 + 3), x + 112, lane7(sc));
}

/** acc − 4·Σ_s sc_s·bsum_s: the codes' offset of 4 (bs: the block's 16 bsums) */
// @ts-ignore: decorator
@inline
function offset(acc: v128, sc0: v128, sc1: v128, bs: usize): v128 {
  return i32x4.sub(acc, i32x4.shl(i32x4.add(i32x4.dot_i16x8_s(sc0, v128.load(bs)), i32x4.dot_i16x8_s(sc1, v128.load(bs, 16))), 2));
}

/** Σ_s sc_s·Σ_{j∈s} (u − 4)·q_x of the block at wb, in 4 i32 lanes (|·| ≤ 16·32·16·7·127 < 2^31); bs: the block's 16 bsums. */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize, bs: usize): v128 {
  const s = scales(wb);
  const sc0 = i16x8.extend_low_i8x16_s(s);
  const sc1 = i16x8.extend_high_i8x16_s(s);
  const m0 = v128.load(wb);
  const m1 = v128.load(wb, 16);
  const acc = half(i32x4.splat(0), wb + 32, m0, m1, 0, xb, sc0);
  return offset(half(acc, wb + 64, m0, m1, 4, xb + 128, sc1), sc0, sc1, bs);
}

export function matmul_q3_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 110;
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
        const wb = row + <usize>b * 110;
        const s = scales(wb);
        const sc0 = i16x8.extend_low_i8x16_s(s);
        const sc1 = i16x8.extend_high_i8x16_s(s);
        const m0 = v128.load(wb);
        const m1 = v128.load(wb, 16);
        let a0 = i32x4.splat(0);
        let a1 = a0;
        let a2 = a0;
        let a3 = a0;
        for (let h = 0; h < 2; h++) {
          const q0 = v128.load(wb + 32 + (<usize>h << 5));
          const q1 = v128.load(wb + 48 + (<usize>h << 5));
          const sc = h ? sc1 : sc0;
          for (let j = 0; j < 4; j++) {
            const x = qt + (<usize>b << 8) + (<usize>h << 7) + (<usize>j << 5);
            let c = code(q0, m0, 2 * j, 4 * h + j);
            let sl = lane(sc, 2 * j);
            a0 = step16(a0, c, x, sl);
            a1 = step16(a1, c, x + xs, sl);
            a2 = step16(a2, c, x + 2 * xs, sl);
            a3 = step16(a3, c, x + 3 * xs, sl);
            c = code(q1, m1, 2 * j, 4 * h + j);
            sl = lane(sc, 2 * j + 1);
            a0 = step16(a0, c, x + 16, sl);
            a1 = step16(a1, c, x + xs + 16, sl);
            a2 = step16(a2, c, x + 2 * xs + 16, sl);
            a3 = step16(a3, c, x + 3 * xs + 16, sl);
          }
        }
        const dw = f16_to_f32(load<u16>(wb, 108));
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
        const wb = row + <usize>b * 110;
        const s = hadd_i32(isum(wb, qt + (<usize>b << 8), st + (<usize>b << 5)));
        acc = acc + <f32>s * (f16_to_f32(load<u16>(wb, 108)) * load<f32>(dt + (<usize>b << 2)));
      }
      finish(y, bias, add, t, o, out, acc);
    }
  }
}

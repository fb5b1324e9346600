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
// Tunables: one row per pass, one token at a time (see lib/kquant.ts).
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { hadd_i32, lane, step16 } from './lib/kquant';

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

/** Σ_s sc_s·Σ_{j∈s} (u − 4)·q_x of the block at wb, in 4 i32 lanes (|·| ≤ 16·32·16·7·127 < 2^31); bs: the block's 16 bsums. */
// @ts-ignore: decorator
@inline
function isum(wb: usize, xb: usize, bs: usize): v128 {
  const s = scales(wb);
  const sc0 = i16x8.extend_low_i8x16_s(s);
  const sc1 = i16x8.extend_high_i8x16_s(s);
  const m0 = v128.load(wb);
  const m1 = v128.load(wb, 16);
  let acc = i32x4.splat(0);
  for (let h = 0; h < 2; h++) {
    const q0 = v128.load(wb + 32 + (<usize>h << 5));
    const q1 = v128.load(wb + 48 + (<usize>h << 5));
    const sc = h ? sc1 : sc0; // sub-blocks 8h..8h+7
    for (let j = 0; j < 4; j++) {
      const x = xb + (<usize>h << 7) + (<usize>j << 5);
      acc = step16(acc, code(q0, m0, 2 * j, 4 * h + j), x, lane(sc, 2 * j));
      acc = step16(acc, code(q1, m1, 2 * j, 4 * h + j), x + 16, lane(sc, 2 * j + 1));
    }
  }
  // the codes' offset of 4: 4·Σ_s sc_s·bsum_s
  return i32x4.sub(acc, i32x4.shl(i32x4.add(i32x4.dot_i16x8_s(sc0, v128.load(bs)), i32x4.dot_i16x8_s(sc1, v128.load(bs, 16))), 2));
}

export function matmul_q3_k(w: usize, q: usize, d: usize, bsums: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 8;
  const rowBytes = <usize>nb * 110;
  for (let o = o0; o < o1; o++) {
    const row = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      const qt = q + <usize>t * <usize>k;
      const st = bsums + <usize>t * (<usize>k >> 3);
      const dt = d + <usize>t * (<usize>nb << 2);
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

/**
 * Q6_K: 256 elements in 210 bytes (ggml block_q6_K). 16 sub-blocks of 16 with
 * int8 scales; symmetric 6-bit quants (4 low bits + 2 high bits), stored +32.
 *   byte   0..127  ql[128]     low 4 bits; for half h (0..1), l = 0..31, e = 128h + l:
 *                              ql[64h + l] & 15 → e,     ql[64h + 32 + l] & 15 → e + 32,
 *                              ql[64h + l] >> 4 → e + 64, ql[64h + 32 + l] >> 4 → e + 96
 *   byte 128..191  qh[64]      high 2 bits: qh[32h + l] >> 2k & 3 belongs to element e + 32k
 *   byte 192..207  scales[16]  int8, sub-block s covers elements 16s..16s+15
 *   byte 208..209  d           f16 super-scale
 * value = (d·scale)·(q − 32)
 */
import { QK_K, fr, makeQxQuants, nearestInt, readF16, writeF16 } from './common.ts';

const SIZE = 210;

export function dequant_q6_k(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const d = readF16(src, o + 208);
    for (let h = 0; h < 2; h++) {
      const y = i * QK_K + 128 * h;
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const sc = o + 192 + 8 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const a = src[ql + l];
        const b = src[ql + 32 + l];
        const hb = src[qh + l];
        const q1 = ((a & 0xf) | ((hb & 3) << 4)) - 32;
        const q2 = ((b & 0xf) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((b >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        out[y + l] = fr(d * ((src[sc + is] << 24) >> 24)) * q1;
        out[y + 32 + l] = fr(d * ((src[sc + is + 2] << 24) >> 24)) * q2;
        out[y + 64 + l] = fr(d * ((src[sc + is + 4] << 24) >> 24)) * q3;
        out[y + 96 + l] = fr(d * ((src[sc + is + 6] << 24) >> 24)) * q4;
      }
    }
  }
}

/** ggml quantize_row_q6_K_ref (no importance matrix). */
export function quant_q6_k(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  for (let i = 0; i < nBlocks; i++) {
    const xo = i * QK_K;
    const o = i * SIZE;
    dst.fill(0, o, o + SIZE);
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQxQuants(16, 32, x, xo + 16 * j, L, 16 * j);
      const a = Math.abs(scales[j]);
      if (a > maxAbsScale) {
        maxAbsScale = a;
        maxScale = scales[j];
      }
    }
    if (maxAbsScale < fr(1e-15)) continue; // all zero: the whole block stays 0 (d = +0)
    const iscale = fr(-128 / maxScale);
    const dAll = writeF16(dst, o + 208, fr(1 / iscale));
    for (let j = 0; j < 16; j++) dst[o + 192 + j] = Math.min(127, nearestInt(fr(iscale * scales[j])));
    for (let j = 0; j < 16; j++) {
      const d = fr(dAll * ((dst[o + 192 + j] << 24) >> 24));
      if (d === 0) continue; // keep the levels make_qx_quants chose
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fr(x[xo + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      const j = 128 * h;
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l];
        const q2 = L[j + l + 32];
        const q3 = L[j + l + 64];
        const q4 = L[j + l + 96];
        dst[o + 64 * h + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        dst[o + 64 * h + 32 + l] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        dst[o + 128 + 32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}

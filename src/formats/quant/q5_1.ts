/**
 * Q5_1: 32 elements in 24 bytes, 5-bit with a per-block minimum (ggml block_q5_1).
 *   byte  0..1   d       f16 scale
 *   byte  2..3   m       f16 minimum
 *   byte  4..7   qh      u32 little-endian: bit j is the 5th bit of element j
 *   byte  8..23  qs[16]  low 4 bits: element j in the low nibble of qs[j], element j+16 in the high nibble
 * value = q · d + m
 */
import { fr, readF16, writeF16 } from './common.ts';

const QK = 32;
const SIZE = 24;

export function dequant_q5_1(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const y = i * QK;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const qh = src[o + 4] | (src[o + 5] << 8) | (src[o + 6] << 16) | (src[o + 7] << 24);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[y + j] = fr(((q & 0xf) | h0) * d) + m;
      out[y + j + 16] = fr(((q >> 4) | h1) * d) + m;
    }
  }
}

/** ggml quantize_row_q5_1_ref: d = (max − min) / 31, m = min. */
export function quant_q5_1(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const xo = i * QK;
    const o = i * SIZE;
    let min = Infinity;
    let max = -Infinity;
    for (let j = 0; j < QK; j++) {
      const v = x[xo + j];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fr(fr(max - min) / 31);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, Math.trunc(fr(fr(fr(x[xo + j] - min) * id) + 0.5)));
      const q1 = Math.min(31, Math.trunc(fr(fr(fr(x[xo + j + 16] - min) * id) + 0.5)));
      dst[o + 8 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
      qh |= ((q0 & 0x10) >> 4) << j;
      qh |= ((q1 & 0x10) >> 4) << (j + 16);
    }
    dst[o + 4] = qh & 0xff;
    dst[o + 5] = (qh >>> 8) & 0xff;
    dst[o + 6] = (qh >>> 16) & 0xff;
    dst[o + 7] = qh >>> 24;
  }
}

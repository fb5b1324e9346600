/**
 * Q5_0: 32 elements in 22 bytes, symmetric 5-bit (ggml block_q5_0).
 *   byte  0..1   d       f16 scale
 *   byte  2..5   qh      u32 little-endian: bit j is the 5th bit of element j
 *   byte  6..21  qs[16]  low 4 bits: element j in the low nibble of qs[j], element j+16 in the high nibble
 * value = (q − 16) · d
 */
import { fr, readF16, signedAbsMax, writeF16 } from './common.ts';

const QK = 32;
const SIZE = 22;

export function dequant_q5_0(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const y = i * QK;
    const d = readF16(src, o);
    const qh = src[o + 2] | (src[o + 3] << 8) | (src[o + 4] << 16) | (src[o + 5] << 24);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[y + j] = (((q & 0xf) | h0) - 16) * d;
      out[y + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

/** ggml quantize_row_q5_0_ref: d = (the signed value of largest magnitude) / −16. */
export function quant_q5_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const xo = i * QK;
    const o = i * SIZE;
    const { max } = signedAbsMax(x, xo, QK);
    const d = fr(max / -16);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, Math.trunc(fr(fr(x[xo + j] * id) + 16.5)));
      const q1 = Math.min(31, Math.trunc(fr(fr(x[xo + j + 16] * id) + 16.5)));
      dst[o + 6 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
      qh |= ((q0 & 0x10) >> 4) << j;
      qh |= ((q1 & 0x10) >> 4) << (j + 16);
    }
    dst[o + 2] = qh & 0xff;
    dst[o + 3] = (qh >>> 8) & 0xff;
    dst[o + 4] = (qh >>> 16) & 0xff;
    dst[o + 5] = qh >>> 24;
  }
}

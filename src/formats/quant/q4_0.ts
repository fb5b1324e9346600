/**
 * Q4_0: 32 elements in 18 bytes, symmetric 4-bit (ggml block_q4_0).
 *   byte  0..1   d       f16 scale
 *   byte  2..17  qs[16]  element j in the low nibble of qs[j], element j+16 in the high nibble
 * value = (q − 8) · d
 */
import { fr, readF16, signedAbsMax, writeF16 } from './common.ts';

const QK = 32;
const SIZE = 18;

export function dequant_q4_0(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const y = i * QK;
    const d = readF16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      out[y + j] = ((q & 0xf) - 8) * d;
      out[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

/** ggml quantize_row_q4_0_ref: d = (the signed value of largest magnitude) / −8. */
export function quant_q4_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const xo = i * QK;
    const o = i * SIZE;
    const { max } = signedAbsMax(x, xo, QK);
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < 16; j++) {
      const x0 = fr(x[xo + j] * id);
      const x1 = fr(x[xo + j + 16] * id);
      const q0 = Math.min(15, Math.trunc(fr(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(x1 + 8.5)));
      dst[o + 2 + j] = q0 | (q1 << 4);
    }
  }
}

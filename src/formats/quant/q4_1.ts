/**
 * Q4_1: 32 elements in 20 bytes, 4-bit with a per-block minimum (ggml block_q4_1).
 *   byte  0..1   d       f16 scale
 *   byte  2..3   m       f16 minimum
 *   byte  4..19  qs[16]  element j in the low nibble of qs[j], element j+16 in the high nibble
 * value = q · d + m
 */
import { fr, readF16, writeF16 } from './common.ts';

const QK = 32;
const SIZE = 20;

export function dequant_q4_1(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const y = i * QK;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      out[y + j] = fr((q & 0xf) * d) + m;
      out[y + j + 16] = fr((q >> 4) * d) + m;
    }
  }
}

/** ggml quantize_row_q4_1_ref: d = (max − min) / 15, m = min. */
export function quant_q4_1(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
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
    const d = fr(fr(max - min) / 15);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const x0 = fr(fr(x[xo + j] - min) * id);
      const x1 = fr(fr(x[xo + j + 16] - min) * id);
      const q0 = Math.min(15, Math.trunc(fr(x0 + 0.5)));
      const q1 = Math.min(15, Math.trunc(fr(x1 + 0.5)));
      dst[o + 4 + j] = q0 | (q1 << 4);
    }
  }
}

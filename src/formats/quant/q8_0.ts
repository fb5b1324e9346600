/**
 * Q8_0: 32 elements in 34 bytes, symmetric 8-bit (ggml block_q8_0).
 *   byte  0..1   d       f16 scale
 *   byte  2..33  qs[32]  int8, element j = qs[j]
 * value = q · d
 */
import { fr, readF16, roundAway, writeF16 } from './common.ts';

const QK = 32;
const SIZE = 34;

export function dequant_q8_0(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const y = i * QK;
    const d = readF16(src, o);
    for (let j = 0; j < QK; j++) out[y + j] = ((src[o + 2 + j] << 24) >> 24) * d;
  }
}

/** ggml quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d). */
export function quant_q8_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const xo = i * QK;
    const o = i * SIZE;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[xo + j]));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK; j++) dst[o + 2 + j] = roundAway(fr(x[xo + j] * id)) & 0xff;
  }
}

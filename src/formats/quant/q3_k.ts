/**
 * Q3_K: 256 elements in 110 bytes (ggml block_q3_K). 16 sub-blocks of 16 with
 * signed 6-bit scales; symmetric 3-bit quants (2 low bits + 1 high bit).
 *   byte   0..31   hmask[32]   high bits: bit k of hmask[l] belongs to element 32k + l
 *   byte  32..95   qs[64]      low 2 bits; for half h and shift 2k, qs[32h + l] >> 2k & 3
 *                              is element 128h + 32k + l
 *   byte  96..107  scales[12]  sixteen 6-bit scales, stored +32: for s = 0..15
 *                              low 4 bits  = s < 8 ? scales[s] & 15 : scales[s-8] >> 4
 *                              high 2 bits = scales[8 + s%4] >> 2·⌊s/4⌋ & 3
 *   byte 108..109  d           f16 super-scale
 * value = (d·(scale − 32))·(q − (high bit ? 0 : 4))
 */
import { QK_K, fr, makeQ3Quants, nearestInt, readF16, writeF16 } from './common.ts';

const SIZE = 110;

function scaleQ3(b: Uint8Array, o: number, s: number): number {
  const lo = s < 8 ? b[o + 96 + s] & 0xf : b[o + 96 + s - 8] >> 4;
  const hi = (b[o + 104 + (s & 3)] >> (2 * (s >> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

export function dequant_q3_k(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const d = readF16(src, o + 108);
    let y = i * QK_K;
    let s = 0;
    let m = 1;
    for (let h = 0; h < 2; h++) {
      const q = o + 32 + 32 * h;
      for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (let half = 0; half < 32; half += 16) {
          const dl = fr(d * scaleQ3(src, o, s++));
          for (let l = half; l < half + 16; l++) {
            out[y++] = dl * (((src[q + l] >> shift) & 3) - (src[o + l] & m ? 0 : 4));
          }
        }
      }
    }
  }
}

/** ggml quantize_row_q3_K_ref (no importance matrix). */
export function quant_q3_k(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const L = new Uint8Array(QK_K);
  const lsigned = new Int8Array(16);
  const scales = new Float32Array(16);
  for (let i = 0; i < nBlocks; i++) {
    const xo = i * QK_K;
    const o = i * SIZE;
    dst.fill(0, o, o + SIZE);
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQ3Quants(16, 4, x, xo + 16 * j, L, 16 * j, lsigned);
      const a = Math.abs(scales[j]);
      if (a > amax) {
        amax = a;
        maxScale = scales[j];
      }
    }
    if (maxScale !== 0) {
      const iscale = fr(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        // C stores nearest_int's result in an int8_t before clamping
        const l = Math.max(-32, Math.min(31, (nearestInt(fr(iscale * scales[j])) << 24) >> 24)) + 32;
        if (j < 8) dst[o + 96 + j] = l & 0xf;
        else dst[o + 96 + j - 8] |= (l & 0xf) << 4;
        dst[o + 104 + (j % 4)] |= (l >> 4) << (2 * (j >> 2));
      }
      writeF16(dst, o + 108, fr(1 / iscale));
    } else {
      writeF16(dst, o + 108, 0);
    }
    const dAll = readF16(dst, o + 108);
    for (let j = 0; j < 16; j++) {
      const d = fr(dAll * scaleQ3(dst, o, j));
      if (d === 0) continue; // keep the levels make_q3_quants chose
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fr(x[xo + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }
    // high bit of element j goes to bit ⌊j/32⌋ of hmask[j % 32]
    for (let j = 0; j < QK_K; j++) {
      if (L[j] > 3) {
        dst[o + (j & 31)] |= 1 << (j >> 5);
        L[j] -= 4;
      }
    }
    for (let j = 0; j < QK_K; j += 128) {
      for (let l = 0; l < 32; l++) {
        dst[o + 32 + j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
      }
    }
  }
}

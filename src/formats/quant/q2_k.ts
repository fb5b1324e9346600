/**
 * Q2_K: 256 elements in 84 bytes (ggml block_q2_K). 16 sub-blocks of 16, each
 * with a 4-bit scale and a 4-bit min, both multiplied by f16 super-scales.
 *   byte  0..15  scales[16]  sub-block s: scale = scales[s] & 15, min = scales[s] >> 4
 *   byte 16..79  qs[64]      2-bit quants; for half h (0..1) and shift 2k (k = 0..3),
 *                            qs[32h + l] >> 2k & 3 is element 128h + 32k + l (l = 0..31)
 *   byte 80..81  d           f16 super-scale for the scales
 *   byte 82..83  dmin        f16 super-scale for the mins
 * value = (d·scale)·q − (dmin·min)
 */
import { QK_K, fr, makeQkx2Quants, nearestInt, readF16, writeF16 } from './common.ts';

const SIZE = 84;

export function dequant_q2_k(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const d = readF16(src, o + 80);
    const dmin = readF16(src, o + 82);
    let y = i * QK_K;
    let s = 0;
    for (let h = 0; h < 2; h++) {
      const q = o + 16 + 32 * h;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = src[o + s++];
          const dl = fr(d * (sc & 0xf));
          const ml = fr(dmin * (sc >> 4));
          for (let l = 0; l < 16; l++) out[y++] = fr(dl * ((src[q + half + l] >> shift) & 3)) - ml;
        }
      }
    }
  }
}

/** ggml quantize_row_q2_K_ref (no importance matrix). */
export function quant_q2_k(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const L = new Uint8Array(QK_K);
  const laux = new Uint8Array(16);
  const weights = new Float32Array(16);
  const mins = new Float32Array(16);
  const scales = new Float32Array(16);
  const minOut = new Float32Array(1);
  const q4scale = 15;
  for (let i = 0; i < nBlocks; i++) {
    const xo = i * QK_K;
    const o = i * SIZE;
    dst.fill(0, o, o + SIZE);
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xo + 16 * j + l]);
      scales[j] = makeQkx2Quants(16, 3, x, xo + 16 * j, weights, L, 16 * j, minOut, laux, -0.5, 0.1, 15, true);
      mins[j] = minOut[0];
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    if (maxScale > 0) {
      const iscale = fr(q4scale / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(fr(iscale * scales[j]));
      writeF16(dst, o + 80, fr(maxScale / q4scale));
    } else {
      writeF16(dst, o + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = fr(q4scale / maxMin);
      for (let j = 0; j < 16; j++) dst[o + j] |= nearestInt(fr(iscale * mins[j])) << 4;
      writeF16(dst, o + 82, fr(maxMin / q4scale));
    } else {
      writeF16(dst, o + 82, 0);
    }
    const dAll = readF16(dst, o + 80);
    const mAll = readF16(dst, o + 82);
    for (let j = 0; j < 16; j++) {
      const d = fr(dAll * (dst[o + j] & 0xf));
      if (d === 0) continue; // keep the levels make_qkx2_quants chose
      const dm = fr(mAll * (dst[o + j] >> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fr(fr(x[xo + 16 * j + ii] + dm) / d));
        L[16 * j + ii] = Math.max(0, Math.min(3, l));
      }
    }
    for (let j = 0; j < QK_K; j += 128) {
      for (let l = 0; l < 32; l++) {
        dst[o + 16 + j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
      }
    }
  }
}

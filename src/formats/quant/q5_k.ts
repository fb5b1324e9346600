/**
 * Q5_K: 256 elements in 176 bytes (ggml block_q5_K). Q4_K plus a 5th bit per element.
 *   byte  0..1    d           f16 super-scale for the scales
 *   byte  2..3    dmin        f16 super-scale for the mins
 *   byte  4..15   scales[12]  8 × (6-bit scale, 6-bit min), see scaleMinK4 in common.ts
 *   byte 16..47   qh[32]      5th bits: bit k of qh[l] belongs to element 32k + l
 *   byte 48..175  qs[128]     low 4 bits, laid out as in Q4_K: for chunk c (0..3),
 *                             qs[32c + l] & 15 is element 64c + l, qs[32c + l] >> 4 is element 64c + 32 + l
 * value = (d·scale)·(q + 16·bit) − (dmin·min)
 */
import { QK_K, fr, readF16, scaleMinK4 } from './common.ts';
import { fitScalesK4, scratchK4 } from './q4_k.ts';

const SIZE = 176;

export function dequant_q5_k(src: Uint8Array, out: Float32Array, nBlocks: number): void {
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    let y = i * QK_K;
    for (let c = 0; c < 4; c++) {
      const sm1 = scaleMinK4(src, o + 4, 2 * c);
      const sm2 = scaleMinK4(src, o + 4, 2 * c + 1);
      const d1 = fr(d * (sm1 & 0xff));
      const m1 = fr(dmin * (sm1 >> 8));
      const d2 = fr(d * (sm2 & 0xff));
      const m2 = fr(dmin * (sm2 >> 8));
      const q = o + 48 + 32 * c;
      const u1 = 1 << (2 * c);
      const u2 = 2 << (2 * c);
      for (let l = 0; l < 32; l++) out[y + l] = fr(d1 * ((src[q + l] & 0xf) + (src[o + 16 + l] & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = fr(d2 * ((src[q + l] >> 4) + (src[o + 16 + l] & u2 ? 16 : 0))) - m2;
      y += 64;
    }
  }
}

/** ggml quantize_row_q5_K_ref (no importance matrix). */
export function quant_q5_k(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const L = new Uint8Array(QK_K);
  const scratch = scratchK4();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    dst.fill(0, o, o + SIZE);
    fitScalesK4(x, i * QK_K, dst, o, 31, -0.5, 15, L, scratch);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        const l1 = L[64 * c + l];
        const l2 = L[64 * c + 32 + l];
        if (l1 > 15) dst[o + 16 + l] |= 1 << (2 * c);
        if (l2 > 15) dst[o + 16 + l] |= 2 << (2 * c);
        dst[o + 48 + 32 * c + l] = (l1 & 0xf) | ((l2 & 0xf) << 4);
      }
    }
  }
}

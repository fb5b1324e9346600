/**
 * Q4_K: 256 elements in 144 bytes (ggml block_q4_K). 8 sub-blocks of 32, each
 * with a 6-bit scale and a 6-bit min, both multiplied by f16 super-scales.
 *   byte  0..1    d           f16 super-scale for the scales
 *   byte  2..3    dmin        f16 super-scale for the mins
 *   byte  4..15   scales[12]  8 × (6-bit scale, 6-bit min), see scaleMinK4 in common.ts
 *   byte 16..143  qs[128]     4-bit quants; for chunk c (0..3): qs[32c + l] & 15 is element 64c + l,
 *                             qs[32c + l] >> 4 is element 64c + 32 + l (sub-blocks 2c and 2c+1)
 * value = (d·scale)·q − (dmin·min)
 */
import { QK_K, fr, makeQkx2Quants, nearestInt, packScaleMinK4, readF16, scaleMinK4, writeF16 } from './common.ts';

const SIZE = 144;

export function dequant_q4_k(src: Uint8Array, out: Float32Array, nBlocks: number): void {
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
      const q = o + 16 + 32 * c;
      for (let l = 0; l < 32; l++) out[y + l] = fr(d1 * (src[q + l] & 0xf)) - m1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = fr(d2 * (src[q + l] >> 4)) - m2;
      y += 64;
    }
  }
}

/**
 * The per-super-block part shared by Q4_K and Q5_K (ggml quantize_row_q4_K_ref /
 * q5_K_ref): fit each 32-element sub-block with make_qkx2_quants (weights
 * rms + |x|), quantize the 8 scales and mins to 6 bits against f16 super-scales
 * (written to dst[o..o+16)), then requantize every element against the scale it
 * will actually be decoded with. Leaves the levels (0..nmax) in L.
 */
export function fitScalesK4(
  x: Float32Array, xo: number, dst: Uint8Array, o: number, nmax: number, rmin: number, nstep: number,
  L: Uint8Array, scratch: { laux: Uint8Array; weights: Float32Array; scales: Float32Array; mins: Float32Array; ls: Uint8Array; lm: Uint8Array; minOut: Float32Array },
): void {
  const { laux, weights, scales, mins, ls, lm, minOut } = scratch;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const xj = xo + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[xj + l] * x[xj + l]));
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[xj + l]);
    scales[j] = makeQkx2Quants(32, nmax, x, xj, weights, L, 32 * j, minOut, laux, rmin, 0.1, nstep, false);
    mins[j] = minOut[0];
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    // C assigns nearest_int's int to a uint8_t (mod 256) before MIN(63, ·)
    ls[j] = Math.min(63, nearestInt(fr(invScale * scales[j])) & 0xff);
    lm[j] = Math.min(63, nearestInt(fr(invMin * mins[j])) & 0xff);
  }
  packScaleMinK4(dst, o + 4, ls, lm);
  const dAll = writeF16(dst, o, fr(maxScale / 63));
  const mAll = writeF16(dst, o + 2, fr(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const sm = scaleMinK4(dst, o + 4, j);
    const d = fr(dAll * (sm & 0xff));
    if (d === 0) continue; // keep the levels make_qkx2_quants chose
    const dm = fr(mAll * (sm >> 8));
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fr(fr(x[xo + 32 * j + ii] + dm) / d));
      L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
}

export function scratchK4() {
  return {
    laux: new Uint8Array(32),
    weights: new Float32Array(32),
    scales: new Float32Array(8),
    mins: new Float32Array(8),
    ls: new Uint8Array(8),
    lm: new Uint8Array(8),
    minOut: new Float32Array(1),
  };
}

/** ggml quantize_row_q4_K_ref (no importance matrix). */
export function quant_q4_k(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const L = new Uint8Array(QK_K);
  const scratch = scratchK4();
  for (let i = 0; i < nBlocks; i++) {
    const o = i * SIZE;
    dst.fill(0, o, o + SIZE);
    fitScalesK4(x, i * QK_K, dst, o, 15, -1, 20, L, scratch);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) dst[o + 16 + 32 * c + l] = L[64 * c + l] | (L[64 * c + 32 + l] << 4);
    }
  }
}

/**
 * Pieces shared by the block codecs in this folder.
 *
 * Float32 emulation: JS arithmetic is f64. ggml's reference code computes in C
 * `float`, so every intermediate it rounds must be rounded here too, with
 * `fr` (Math.fround) after each operation, in ggml's order. One f64 operation
 * on f32 inputs followed by fround equals the f32 operation (+ − × ÷ sqrt:
 * 53 ≥ 2·24 + 2, so double rounding is harmless). Storing into a Float32Array
 * rounds as well, so the last operation of a dequantizer needs no fround.
 */
import { F16_TO_F32, f32ToF16 } from '../half.ts';

export const fr = Math.fround;

/** Elements per super-block of the K-quants (ggml QK_K). */
export const QK_K = 256;

/** Exact value of the little-endian f16 at `b[o]`. */
export function readF16(b: Uint8Array, o: number): number {
  return F16_TO_F32[b[o] | (b[o + 1] << 8)];
}

/** Round `x` to f16 (ties to even), store it little-endian at `b[o]`, and return the stored value. */
export function writeF16(b: Uint8Array, o: number, x: number): number {
  const h = f32ToF16(x);
  b[o] = h & 0xff;
  b[o + 1] = h >>> 8;
  return F16_TO_F32[h];
}

/**
 * ggml nearest_int: adds 1.5·2^23 in f32 so the FPU rounds to an integer,
 * ties to even. Valid for |v| ≤ 2^22 − 1, which ggml asserts.
 */
export function nearestInt(v: number): number {
  return fr(v + 12582912) - 12582912;
}

/** C `roundf`: halves away from zero (unlike Math.round). */
export function roundAway(v: number): number {
  return v >= 0 ? Math.floor(v + 0.5) : -Math.floor(0.5 - v);
}

/** Largest |x| and the signed value that has it (first one wins ties), over x[o..o+n). */
export function signedAbsMax(x: Float32Array, o: number, n: number): { amax: number; max: number } {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[o + j];
    const a = Math.abs(v);
    if (amax < a) {
      amax = a;
      max = v;
    }
  }
  return { amax, max };
}

/**
 * Scale j (0..7) and min of a Q4_K/Q5_K super-block: 8 pairs of 6-bit values
 * packed in 12 bytes at `b[o]` (ggml get_scale_min_k4):
 *   j < 4:  sc = b[j] & 63,                        m = b[j+4] & 63
 *   j ≥ 4:  sc = (b[j+4] & 15) | (b[j-4] >> 6) << 4, m = (b[j+4] >> 4) | (b[j] >> 6) << 4
 * Returns sc | m << 8.
 */
export function scaleMinK4(b: Uint8Array, o: number, j: number): number {
  if (j < 4) return (b[o + j] & 63) | ((b[o + j + 4] & 63) << 8);
  const sc = (b[o + j + 4] & 0xf) | ((b[o + j - 4] >> 6) << 4);
  const m = (b[o + j + 4] >> 4) | ((b[o + j] >> 6) << 4);
  return sc | (m << 8);
}

/** Inverse of scaleMinK4 for all 8 pairs (ls, lm already clamped to 0..63); writes 12 bytes at `b[o]`. */
export function packScaleMinK4(b: Uint8Array, o: number, ls: Uint8Array, lm: Uint8Array): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      b[o + j] = ls[j];
      b[o + j + 4] = lm[j];
    } else {
      b[o + j + 4] = (ls[j] & 0xf) | ((lm[j] & 0xf) << 4);
      b[o + j - 4] |= (ls[j] >> 4) << 6;
      b[o + j] |= (lm[j] >> 4) << 6;
    }
  }
}

/** ggml GROUP_MAX_EPS: below this a group counts as all zero. */
const GROUP_MAX_EPS = fr(1e-15);
/** 0.1f */
const F32_TENTH = fr(0.1);

/**
 * ggml make_qkx2_quants: asymmetric quantization of x[xo..xo+n) to L[lo..] in
 * 0..nmax with value ≈ scale·L − min, weighted by w[0..n). Tries nstep+1
 * scales around nmax/(max−min) and keeps the one with the lowest weighted
 * error (squared, or absolute with useMad). Returns the scale; the (positive)
 * min is written to `minOut[0]`. `laux` is scratch of length ≥ n.
 */
export function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xo: number, w: Float32Array, L: Uint8Array, lo: number,
  minOut: Float32Array, laux: Uint8Array, rmin: number, rdelta: number, nstep: number, useMad: boolean,
): number {
  let min = x[xo];
  let max = x[xo];
  let sumW = w[0];
  let sumX = fr(sumW * x[xo]);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    sumW = fr(sumW + w[i]);
    sumX = fr(sumX + fr(w[i] * xi));
  }
  rmin = fr(rmin);
  rdelta = fr(rdelta);
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    minOut[0] = -min;
    return 0;
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i];
    const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(xi - min)))));
    L[lo + i] = l;
    let diff = fr(fr(fr(scale * l) + min) - xi);
    diff = useMad ? Math.abs(diff) : fr(diff * diff);
    bestError = fr(bestError + fr(w[i] * diff));
  }
  if (nstep < 1) {
    minOut[0] = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // `min` is the best fit so far, as in ggml: later steps are relative to it
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i];
      const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(xi - min)))));
      laux[i] = l;
      const wl = fr(w[i] * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * xi));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fr(fr(fr(thisScale * laux[i]) + thisMin) - x[xo + i]);
        diff = useMad ? Math.abs(diff) : fr(diff * diff);
        curError = fr(curError + fr(w[i] * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = laux[i];
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  minOut[0] = -min;
  return scale;
}

/**
 * ggml make_qx_quants with rmse_type 1 (weights x², no imatrix), as used by
 * Q6_K: symmetric quantization to L[lo..] in 0..2·nmax−1 (stored with +nmax),
 * searching 19 scales around −nmax/max for the best weighted fit. Returns the scale.
 */
export function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Uint8Array, lo: number): number {
  const { amax, max } = signedAbsMax(x, xo, n);
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  let iscale = fr(-nmax / max);
  let sumLX = 0;
  let sumL2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * xi))));
    L[lo + i] = l + nmax;
    const w = fr(xi * xi);
    sumLX = fr(sumLX + fr(fr(w * xi) * l));
    sumL2 = fr(sumL2 + fr(fr(w * l) * l));
  }
  let scale = sumL2 !== 0 ? fr(sumLX / sumL2) : 0;
  let best = fr(scale * sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(F32_TENTH * is)) / max);
    sumLX = 0;
    sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i];
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * xi))));
      const w = fr(xi * xi);
      sumLX = fr(sumLX + fr(fr(w * xi) * l));
      sumL2 = fr(sumL2 + fr(fr(w * l) * l));
    }
    if (sumL2 > 0 && fr(sumLX * sumLX) > fr(best * sumL2)) {
      for (let i = 0; i < n; i++) {
        const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * x[xo + i]))));
        L[lo + i] = l + nmax;
      }
      scale = fr(sumLX / sumL2);
      best = fr(scale * sumLX);
    }
  }
  return scale;
}

/**
 * ggml make_q3_quants with do_rmse (Q3_K): symmetric quantization to L[lo..]
 * in 0..2·nmax−1 (stored with +nmax), then up to 5 passes of coordinate
 * descent on each level, weighted by x². Returns the scale.
 */
export function makeQ3Quants(n: number, nmax: number, x: Float32Array, xo: number, L: Uint8Array, lo: number, lsigned: Int8Array): number {
  const { amax, max } = signedAbsMax(x, xo, n);
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  const iscale = fr(-nmax / max);
  let sumLX = 0;
  let sumL2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * xi))));
    lsigned[i] = l;
    const w = fr(xi * xi);
    sumLX = fr(sumLX + fr(fr(w * xi) * l));
    sumL2 = fr(sumL2 + fr(fr(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i];
      const w = fr(xi * xi);
      const li = lsigned[i];
      let slx = fr(sumLX - fr(fr(w * xi) * li));
      if (slx > 0) {
        let sl2 = fr(sumL2 - fr(fr(w * li) * li));
        let newL = nearestInt(fr(fr(xi * sl2) / slx));
        newL = Math.max(-nmax, Math.min(nmax - 1, newL));
        if (newL !== li) {
          slx = fr(slx + fr(fr(w * xi) * newL));
          sl2 = fr(sl2 + fr(fr(w * newL) * newL));
          if (sl2 > 0 && fr(fr(slx * slx) * sumL2) > fr(fr(sumLX * sumLX) * sl2)) {
            lsigned[i] = newL;
            sumLX = slx;
            sumL2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged === 0) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = lsigned[i] + nmax;
  return sumL2 > 0 ? fr(sumLX / sumL2) : 0;
}

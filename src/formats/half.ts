/**
 * 16-bit floats: IEEE binary16 ("f16", ggml_fp16_t) and bfloat16 ("bf16", ggml_bf16_t).
 *
 * Widening (f16/bf16 → f32) is exact. Narrowing (f32 → f16/bf16) rounds the
 * way ggml's reference quantizers do, so files we write match llama-quantize
 * byte for byte:
 *   f32 → f16:  round to nearest, ties to even; overflow → ±inf; NaN → sign|0x7e00
 *               (GGML_FP32_TO_FP16, F16C `_cvtss_sh(x, 0)` and the portable fallback agree).
 *   f32 → bf16: add 0x7fff + lsb and truncate (ties to even); NaN → high half | 0x40
 *               (forced quiet); subnormals are kept, not flushed (ggml_compute_fp32_to_bf16).
 * Inputs to the narrowing functions are first rounded to f32 (Math.fround), as C
 * would see a `float` argument.
 */

/** f16 bits → f32 bits, all 65536 entries (256 KiB). NaN payloads are kept. */
export const F16_TO_F32_BITS: Uint32Array = buildF16Table();
/** Same table viewed as floats: `F16_TO_F32[h]` is the exact value of half `h`. */
export const F16_TO_F32: Float32Array = new Float32Array(F16_TO_F32_BITS.buffer);

function buildF16Table(): Uint32Array {
  const bits = new Uint32Array(65536);
  const asFloat = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: mant × 2^-24, exactly representable as a normal f32
      asFloat[h] = mant * 2 ** -24;
      bits[h] |= sign;
    } else if (exp === 31) {
      bits[h] = sign | 0x7f800000 | (mant << 13); // inf or NaN (payload kept)
    } else {
      bits[h] = sign | ((exp + 112) << 23) | (mant << 13); // rebias 15 → 127
    }
  }
  return bits;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Exact value of f16 bits `h` (0..65535). */
export function f16ToF32(h: number): number {
  return F16_TO_F32[h & 0xffff];
}

/** Exact value of bf16 bits `h` (0..65535): the high half of an f32. */
export function bf16ToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

/** The bit pattern of `x` rounded to f32. */
export function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** f32 → f16 bits, round to nearest even (GGML_FP32_TO_FP16). */
export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16(scratchU32[0]);
}

/** f32 → bf16 bits (ggml_compute_fp32_to_bf16): ties to even, NaN forced quiet. */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToBf16(scratchU32[0]);
}

/**
 * As f32ToF16, from the f32 bit pattern `w`. Bulk converters read a Uint32Array
 * view and call this, because a NaN read out of a Float32Array into a JS number
 * may lose its payload.
 */
export function f32BitsToF16(w: number): number {
  w >>>= 0;
  const sign = (w >>> 16) & 0x8000;
  const exp = (w >>> 23) & 0xff;
  const mant = w & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 112; // f16 biased exponent if the value is a normal f16
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // f16 subnormal (or zero): result = round(M / 2^shift) in units of 2^-24, M the 24-bit significand.
    // A carry to 0x400 is exactly the smallest normal, so the bit pattern stays right.
    const shift = 14 - e;
    if (shift > 24) return sign; // below half of the smallest subnormal
    const m = mant | 0x800000;
    let q = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (q & 1) !== 0)) q++;
    return sign | q;
  }
  let q = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (q & 1) !== 0)) q++; // a carry may reach 0x7c00 = inf: correct
  return sign | q;
}

/** As f32ToBf16, from the f32 bit pattern `u`. */
export function f32BitsToBf16(u: number): number {
  u >>>= 0;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff; // < 2^32 for every non-NaN u
}

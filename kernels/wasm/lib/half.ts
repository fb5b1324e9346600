// half: IEEE binary16 ⇄ binary32 conversions for the WebAssembly kernels.
// f16_to_f32 is exact for every finite value (subnormals included); f32_to_f16 rounds to nearest,
// ties to even, as ggml's GGML_FP32_TO_FP16 (F16C) does. Inputs are finite: the engine rejects
// non-finite weights at load, and activations come from finite arithmetic.
// Reference: src/formats/half.ts

/** binary16 bits → f32 (finite inputs). */
// @ts-ignore: decorator
@inline
export function f16_to_f32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const mag = h & 0x7fff;
  // mag << 13 puts the exponent and mantissa where f32 keeps them, biased by 15 instead of 127:
  // multiplying by 2^112 rebiases; subnormal halves become normal f32s the same way
  const f = reinterpret<f32>(mag << 13) * reinterpret<f32>(<u32>(127 + 112) << 23);
  return reinterpret<f32>(reinterpret<u32>(f) | sign);
}

/** f32 → binary16 bits, round to nearest, ties to even (finite inputs; overflow saturates to ±inf bits). */
export function f32_to_f16(v: f32): u32 {
  const x = reinterpret<u32>(v);
  const sign = (x >> 16) & 0x8000;
  const a = x & 0x7fffffff;
  if (a >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds to infinity
  if (a < 0x38800000) {
    // below 2^-14: a subnormal half (or zero); the rounding of the shifted mantissa, ties to even
    if (a < 0x33000000) return sign; // < 2^-25 rounds to 0 (2^-25 itself ties to 0, even)
    const e = a >> 23;
    const m = (a & 0x7fffff) | 0x800000;
    const shift: u32 = 126 - e; // 14..24
    const half: u32 = m >> shift;
    const rem: u32 = m & ((<u32>1 << shift) - 1);
    const mid: u32 = <u32>1 << (shift - 1);
    return sign | (half + <u32>(rem > mid || (rem == mid && (half & 1) != 0)));
  }
  // normal: rebias, then round the 13 dropped bits to nearest even (a carry may bump the exponent)
  const r = a - 0x38000000;
  const rounded = (r + 0xfff + ((r >> 13) & 1)) >> 13;
  return sign | rounded;
}

/**
 * The integers inside each quantized weight block, as llama.cpp's integer dot products use them
 * (ggml-cpu quants.c, ggml_vec_dot_<type>_q8_<0|1|K>), for src/reference/matmul_int8.ts.
 * The byte layouts are documented in src/formats/quant/<type>.ts; the dequantizers there give
 * the f32 values, these give the parts the integer formulas take:
 *
 * blocks of 32 (activations Q8_0 or Q8_1, src/reference/quantize_q8_0.ts):
 *   Q8_0  q ∈ [-128, 127]                        d
 *   Q4_0  q = nibble − 8 ∈ [-8, 7]               d
 *   Q5_0  q = (nibble | bit₅·16) − 16 ∈ [-16, 15] d
 *   Q4_1  q = nibble ∈ [0, 15]                   d, m     (value = d·q + m)
 *   Q5_1  q = nibble | bit₅·16 ∈ [0, 31]         d, m
 * blocks of 256 with integer sub-block scales (activations Q8_K, src/reference/quantize_q8_k.ts):
 *   Q2_K  16 × 16: q ∈ [0, 3],   sc ∈ [0, 15], mn ∈ [0, 15]   d, dmin  (value = d·sc·q − dmin·mn)
 *   Q3_K  16 × 16: q ∈ [-4, 3],  sc ∈ [-32, 31]               d        (value = d·sc·q)
 *   Q4_K   8 × 32: q ∈ [0, 15],  sc, mn ∈ [0, 63]             d, dmin
 *   Q5_K   8 × 32: q ∈ [0, 31],  sc, mn ∈ [0, 63]             d, dmin
 *   Q6_K  16 × 16: q ∈ [-32, 31], sc ∈ [-128, 127]            d
 * d, dmin and m are the blocks' f16 values (exact as f32).
 */
import { F16_TO_F32 } from '../formats/half.ts';

const h16 = (b: Uint8Array, o: number) => F16_TO_F32[b[o] | (b[o + 1] << 8)];
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const i8 = (v: number) => (v << 24) >> 24;

/** A block of 32: `q` receives the 32 integers; returns d and m (0 for the types without a min). */
export interface SmallType {
  readonly bytes: number;
  /** the activations' block type: Q8_1 for the types with a min (its s carries Σ q_x) */
  readonly act: 'Q8_0' | 'Q8_1';
  decode(b: Uint8Array, o: number, q: Int8Array): { d: number; m: number };
}

/** nibble j of a block whose 16 bytes start at `o`: low nibbles are elements 0..15, high ones 16..31 */
const nibble = (b: Uint8Array, o: number, j: number) => (j < 16 ? b[o + j] & 15 : b[o + j - 16] >> 4);

export const SMALL_TYPES: Readonly<Record<string, SmallType>> = {
  Q8_0: {
    bytes: 34,
    act: 'Q8_0',
    decode(b, o, q) {
      for (let j = 0; j < 32; j++) q[j] = i8(b[o + 2 + j]);
      return { d: h16(b, o), m: 0 };
    },
  },
  Q4_0: {
    bytes: 18,
    act: 'Q8_0',
    decode(b, o, q) {
      for (let j = 0; j < 32; j++) q[j] = nibble(b, o + 2, j) - 8;
      return { d: h16(b, o), m: 0 };
    },
  },
  Q5_0: {
    bytes: 22,
    act: 'Q8_0',
    decode(b, o, q) {
      const qh = u32(b, o + 2);
      for (let j = 0; j < 32; j++) q[j] = (nibble(b, o + 6, j) | (((qh >>> j) & 1) << 4)) - 16;
      return { d: h16(b, o), m: 0 };
    },
  },
  Q4_1: {
    bytes: 20,
    act: 'Q8_1',
    decode(b, o, q) {
      for (let j = 0; j < 32; j++) q[j] = nibble(b, o + 4, j);
      return { d: h16(b, o), m: h16(b, o + 2) };
    },
  },
  Q5_1: {
    bytes: 24,
    act: 'Q8_1',
    decode(b, o, q) {
      const qh = u32(b, o + 4);
      for (let j = 0; j < 32; j++) q[j] = nibble(b, o + 8, j) | (((qh >>> j) & 1) << 4);
      return { d: h16(b, o), m: h16(b, o + 2) };
    },
  },
};

/**
 * A block of 256: `q` receives the 256 integers, `sc` and `mn` the integer scale and min of each
 * sub-block (`mn` stays 0 for Q3_K and Q6_K); returns d and dmin (0 without mins).
 */
export interface KType {
  readonly bytes: number;
  /** values per sub-block: 16 or 32 (2 bsums of Q8_K each) */
  readonly sub: 16 | 32;
  decode(b: Uint8Array, o: number, q: Int8Array, sc: Int32Array, mn: Int32Array): { d: number; dmin: number };
}

/** Q4_K/Q5_K: scale and min j (0..7), 6 bits each, packed in 12 bytes at `o` (ggml get_scale_min_k4) */
function scaleMinK4(b: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [b[o + j] & 63, b[o + j + 4] & 63];
  return [(b[o + j + 4] & 15) | ((b[o + j - 4] >> 6) << 4), (b[o + j + 4] >> 4) | ((b[o + j] >> 6) << 4)];
}

export const K_TYPES: Readonly<Record<string, KType>> = {
  Q2_K: {
    bytes: 84,
    sub: 16,
    decode(b, o, q, sc, mn) {
      for (let s = 0; s < 16; s++) {
        sc[s] = b[o + s] & 15;
        mn[s] = b[o + s] >> 4;
      }
      // element 128h + 32k + l: bits 2k..2k+1 of qs[32h + l]
      for (let h = 0; h < 2; h++) for (let k = 0; k < 4; k++) for (let l = 0; l < 32; l++) q[128 * h + 32 * k + l] = (b[o + 16 + 32 * h + l] >> (2 * k)) & 3;
      return { d: h16(b, o + 80), dmin: h16(b, o + 82) };
    },
  },
  Q3_K: {
    bytes: 110,
    sub: 16,
    decode(b, o, q, sc, mn) {
      for (let s = 0; s < 16; s++) {
        const lo = s < 8 ? b[o + 96 + s] & 15 : b[o + 96 + s - 8] >> 4;
        const hi = (b[o + 104 + (s & 3)] >> (2 * (s >> 2))) & 3;
        sc[s] = (lo | (hi << 4)) - 32;
        mn[s] = 0;
      }
      // element 128h + 32k + l: bits 2k..2k+1 of qs[32h + l], minus 4 unless bit 4h + k of hmask[l] is set
      for (let h = 0; h < 2; h++) {
        for (let k = 0; k < 4; k++) {
          for (let l = 0; l < 32; l++) q[128 * h + 32 * k + l] = ((b[o + 32 + 32 * h + l] >> (2 * k)) & 3) - (b[o + l] & (1 << (4 * h + k)) ? 0 : 4);
        }
      }
      return { d: h16(b, o + 108), dmin: 0 };
    },
  },
  Q4_K: {
    bytes: 144,
    sub: 32,
    decode(b, o, q, sc, mn) {
      for (let j = 0; j < 8; j++) [sc[j], mn[j]] = scaleMinK4(b, o + 4, j);
      // chunk c: element 64c + l is the low nibble of qs[32c + l], 64c + 32 + l the high one
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) {
          q[64 * c + l] = b[o + 16 + 32 * c + l] & 15;
          q[64 * c + 32 + l] = b[o + 16 + 32 * c + l] >> 4;
        }
      }
      return { d: h16(b, o), dmin: h16(b, o + 2) };
    },
  },
  Q5_K: {
    bytes: 176,
    sub: 32,
    decode(b, o, q, sc, mn) {
      for (let j = 0; j < 8; j++) [sc[j], mn[j]] = scaleMinK4(b, o + 4, j);
      // as Q4_K, plus 16 where bit 2c (low nibbles) or 2c + 1 (high nibbles) of qh[l] is set
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) {
          const qs = b[o + 48 + 32 * c + l];
          const qh = b[o + 16 + l];
          q[64 * c + l] = (qs & 15) | (((qh >> (2 * c)) & 1) << 4);
          q[64 * c + 32 + l] = (qs >> 4) | (((qh >> (2 * c + 1)) & 1) << 4);
        }
      }
      return { d: h16(b, o), dmin: h16(b, o + 2) };
    },
  },
  Q6_K: {
    bytes: 210,
    sub: 16,
    decode(b, o, q, sc, mn) {
      for (let s = 0; s < 16; s++) {
        sc[s] = i8(b[o + 192 + s]);
        mn[s] = 0;
      }
      // half h, l = 0..31: 4 low bits from ql, 2 high bits from qh, minus 32
      for (let h = 0; h < 2; h++) {
        for (let l = 0; l < 32; l++) {
          const a = b[o + 64 * h + l];
          const c = b[o + 64 * h + 32 + l];
          const hb = b[o + 128 + 32 * h + l];
          const e = 128 * h + l;
          q[e] = ((a & 15) | ((hb & 3) << 4)) - 32;
          q[e + 32] = ((c & 15) | (((hb >> 2) & 3) << 4)) - 32;
          q[e + 64] = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
          q[e + 96] = ((c >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        }
      }
      return { d: h16(b, o + 208), dmin: 0 };
    },
  },
};

/**
 * GGUF Q4_0 / Q8_0 weights as onnxruntime's `com.microsoft.MatMulNBits` inputs, exactly: the same
 * codes and the same scales, only repacked.
 *
 * MatMulNBits(A [.., K], B, scales) = A · dequant(B)ᵀ with
 *   B       uint8 [N, K/32, 32·bits/8]: each row's blocks of 32 codes along K, packed low-first
 *           (4 bits: element 2i in the low nibble of byte i, element 2i+1 in its high nibble)
 *   scales  f32 [N, K/32]
 *   value = (code − zero_point) · scale, the zero point absent, so its default 2^(bits−1).
 * GGUF Q4_0 (18-byte blocks: f16 d, then element j in the low nibble of byte j and element j+16 in
 *   its high nibble, value d·(q − 8)): the codes move, the zero point 8 is Q4_0's own.
 * GGUF Q8_0 (34-byte blocks: f16 d, 32 × i8, value d·q): code q + 128 with the default zero point 128.
 * A GGUF weight [K, N] (ne0 = K) is N rows of K/32 blocks, which is already B's order.
 */
import { f16ToF32 } from '../half.ts';

export interface NBitsWeight {
  bits: 4 | 8;
  /** B: uint8 [N, K/32, 16 or 32] */
  b: Uint8Array;
  /** scales: f32 [N, K/32] */
  scales: Float32Array;
  n: number;
  k: number;
}

export const NBITS_BLOCK = 32;

/** Q4_0 rows (`data`: N rows of K/32 blocks of 18 bytes) as 4-bit MatMulNBits. */
export function q4_0ToNBits(data: Uint8Array, k: number, n: number): NBitsWeight {
  const blocks = checkShape(data, k, n, 18);
  const b = new Uint8Array(blocks * 16);
  const scales = new Float32Array(blocks);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < blocks; i++) {
    const at = i * 18;
    scales[i] = f16ToF32(view.getUint16(at, true));
    const code = (j: number) => (j < 16 ? data[at + 2 + j] & 0x0f : data[at + 2 + j - 16] >> 4);
    for (let p = 0; p < 16; p++) b[i * 16 + p] = code(2 * p) | (code(2 * p + 1) << 4);
  }
  return { bits: 4, b, scales, n, k };
}

/** Q8_0 rows (34-byte blocks) as 8-bit MatMulNBits. */
export function q8_0ToNBits(data: Uint8Array, k: number, n: number): NBitsWeight {
  const blocks = checkShape(data, k, n, 34);
  const b = new Uint8Array(blocks * 32);
  const scales = new Float32Array(blocks);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < blocks; i++) {
    const at = i * 34;
    scales[i] = f16ToF32(view.getUint16(at, true));
    for (let j = 0; j < 32; j++) b[i * 32 + j] = (view.getInt8(at + 2 + j) + 128) & 0xff;
  }
  return { bits: 8, b, scales, n, k };
}

/** The weights MatMulNBits computes with, [N, K] row-major f32 (its reference semantics). */
export function dequantizeNBits(w: NBitsWeight): Float32Array {
  const out = new Float32Array(w.n * w.k);
  const blob = (NBITS_BLOCK * w.bits) / 8;
  const zero = 1 << (w.bits - 1);
  const blocks = w.k / NBITS_BLOCK;
  for (let r = 0; r < w.n; r++) {
    for (let c = 0; c < blocks; c++) {
      const i = r * blocks + c;
      for (let j = 0; j < NBITS_BLOCK; j++) {
        const code = w.bits === 8 ? w.b[i * blob + j] : (w.b[i * blob + (j >> 1)] >> (4 * (j & 1))) & 0x0f;
        out[r * w.k + c * NBITS_BLOCK + j] = (code - zero) * w.scales[i];
      }
    }
  }
  return out;
}

function checkShape(data: Uint8Array, k: number, n: number, blockBytes: number): number {
  if (!(Number.isInteger(k) && k > 0 && k % NBITS_BLOCK === 0)) throw new RangeError(`MatMulNBits: K = ${k} is not a positive multiple of ${NBITS_BLOCK}`);
  const blocks = (k / NBITS_BLOCK) * n;
  if (data.byteLength !== blocks * blockBytes) throw new RangeError(`MatMulNBits: ${data.byteLength} bytes for [${k}, ${n}], want ${blocks * blockBytes}`);
  return blocks;
}

/**
 * MLC's q4f32_1 group quantization (mlc-llm quantization/group_quantization.py, "NK" layout) and the
 * exact conversion from ggml's Q4_0.
 *
 *   q_weight uint32 [rows, cols/8]:  weight (r, j·8 + k) is the 4-bit code in bits 4k..4k+3 of word (r, j)
 *                                    (utils.py pack_weight / convert_uint_to_float without ft_reorder)
 *   q_scale  float32 [rows, cols/32]: one scale per 32 consecutive weights of a row
 *   w = (code − 7) · scale            (max_int_value = 2^(4−1) − 1 = 7), in float32
 *
 * Q4_0 is w = (q − 8) · d with q in 0..15 and d an f16. Taking code = 15 − q and scale = −d gives
 * (15 − q − 7) · (−d) = (q − 8) · d: the same float32 product, so every weight is equal (as a number; a
 * zero may come out with the other sign, −0 for +0, which no sum or product can tell apart from +0 except
 * by its sign bit). MLC's own quantizer never writes code 15 (it clips to 0..14); its dequantizer reads
 * all sixteen.
 */
import { f16ToF32 } from '../half.ts';
import { Q4F32_GROUP, Q4F32_PER_WORD } from './params.ts';

const Q4_0_BLOCK_BYTES = 18;

/**
 * Row `srcRow` of a Q4_0 tensor with rows of `cols` weights (`src`: the whole tensor's bytes) into row
 * `dstRow` of q_weight [*, cols/8] and q_scale [*, cols/32].
 */
export function q4_0RowToQ4f32(src: Uint8Array, cols: number, srcRow: number, qWeight: Uint32Array, qScale: Float32Array, dstRow: number): void {
  const blocks = cols / Q4F32_GROUP;
  const words = cols / Q4F32_PER_WORD;
  for (let b = 0; b < blocks; b++) {
    const o = (srcRow * blocks + b) * Q4_0_BLOCK_BYTES;
    qScale[dstRow * blocks + b] = -f16ToF32(src[o] | (src[o + 1] << 8));
    // the block's 32 weights are 4 words; weight e is qs[e] & 15 (e < 16) or qs[e − 16] >> 4
    for (let w = 0; w < 4; w++) {
      let word = 0;
      for (let k = 0; k < Q4F32_PER_WORD; k++) {
        const e = w * Q4F32_PER_WORD + k;
        const q = e < 16 ? src[o + 2 + e] & 15 : src[o + 2 + e - 16] >> 4;
        word |= (15 - q) << (4 * k);
      }
      qWeight[dstRow * words + b * 4 + w] = word >>> 0;
    }
  }
}

/** q4f32_1 → float32 [rows, cols], as MLC's dequantize computes it (the reference the tests compare with). */
export function dequantizeQ4f32(qWeight: Uint32Array, qScale: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const words = cols / Q4F32_PER_WORD;
  const groups = cols / Q4F32_GROUP;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const code = (qWeight[r * words + (j >> 3)] >>> (4 * (j & 7))) & 15;
      // (code − 7) is a small integer and scale a float32: the double product is exact, fround rounds it once, as float32 does
      out[r * cols + j] = Math.fround((code - 7) * qScale[r * groups + Math.floor(j / Q4F32_GROUP)]);
    }
  }
  return out;
}

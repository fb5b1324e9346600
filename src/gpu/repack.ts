/**
 * GPU layout of quantized weights. Weights stay quantized on the GPU, read as
 * `array<u32>`; blocks must therefore start on 4-byte boundaries. Five ggml
 * block formats have a size that is 2 mod 4 because of one f16 scale `d`
 * (Q4_0 18 B, Q5_0 22 B, Q8_0 34 B: d first; Q3_K 110 B, Q6_K 210 B: d last).
 * For those, `repack` moves every block's `d` into one array after all the
 * blocks: [block 0 without d][block 1 without d]…[d0 d1 d2 …]. The total size
 * is unchanged (plus ≤ 2 bytes of padding) and every block is word-aligned.
 * Other types are uploaded byte for byte. The kernels' dequantizer libraries
 * (kernels/lib/dequant_<type>.wgsl) read exactly this layout; `dOffsetWords`
 * is where the d array starts.
 */
import { CriaError } from '../shared/errors.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';

/** Where the f16 `d` sits inside a block, for the formats that get it split out. */
const SPLIT_D: Partial<Record<string, 'start' | 'end'>> = {
  Q4_0: 'start',
  Q5_0: 'start',
  Q8_0: 'start',
  Q3_K: 'end',
  Q6_K: 'end',
};

export interface Repacked {
  /** bytes to upload; length a multiple of 4 */
  data: Uint8Array;
  /** word offset of the separated d array (0 when the type keeps d in its blocks) */
  dOffsetWords: number;
  /** u32 words per block in the block area */
  blockWords: number;
}

export function splitsD(type: GgmlTypeInfo): boolean {
  return SPLIT_D[type.name] !== undefined;
}

export function repack(type: GgmlTypeInfo, bytes: Uint8Array): Repacked {
  if (bytes.byteLength % type.typeSize !== 0) throw new CriaError('internal', `repack ${type.name}: ${bytes.byteLength} bytes is not whole blocks`);
  const nBlocks = bytes.byteLength / type.typeSize;
  const where = SPLIT_D[type.name];
  if (!where) {
    const data = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    data.set(bytes);
    const blockWords = type.blockSize === 1 ? 0 : type.typeSize / 4;
    return { data, dOffsetWords: 0, blockWords };
  }
  const rest = type.typeSize - 2;
  const blockArea = nBlocks * rest;
  const data = new Uint8Array(Math.ceil((blockArea + 2 * nBlocks) / 4) * 4);
  const restStart = where === 'start' ? 2 : 0;
  const dAt = where === 'start' ? 0 : rest;
  for (let b = 0; b < nBlocks; b++) {
    const o = b * type.typeSize;
    data.set(bytes.subarray(o + restStart, o + restStart + rest), b * rest);
    data[blockArea + 2 * b] = bytes[o + dAt];
    data[blockArea + 2 * b + 1] = bytes[o + dAt + 1];
  }
  return { data, dOffsetWords: blockArea / 4, blockWords: rest / 4 };
}

/** Inverse of `repack` (tests). */
export function unpack(type: GgmlTypeInfo, r: Repacked, nBlocks: number): Uint8Array {
  const where = SPLIT_D[type.name];
  if (!where) return r.data.slice(0, nBlocks * type.typeSize);
  const rest = type.typeSize - 2;
  const out = new Uint8Array(nBlocks * type.typeSize);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * type.typeSize;
    out.set(r.data.subarray(b * rest, (b + 1) * rest), o + (where === 'start' ? 2 : 0));
    const dAt = o + (where === 'start' ? 0 : rest);
    out[dAt] = r.data[r.dOffsetWords * 4 + 2 * b];
    out[dAt + 1] = r.data[r.dOffsetWords * 4 + 2 * b + 1];
  }
  return out;
}

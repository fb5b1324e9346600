/**
 * CPU codecs for ggml tensor types: dequantize (bytes → f32) and quantize
 * (f32 → bytes). One file per block format in ./quant/ (block layout in its
 * header comment); this file is the dispatch table and the argument checks.
 *
 * Both directions reproduce ggml bit for bit: dequantizers follow the float32
 * operation order of ggml's dequantize_row_*, quantizers that of
 * quantize_row_*_ref (what llama-quantize uses without an importance matrix).
 * test/unit/quant.test.ts pins every type to outputs of ggml itself
 * (/work/shared/fixtures/quant).
 */
import { CriaError } from '../shared/errors.ts';
import { ggmlByteSize, type GgmlTypeInfo, type GgmlTypeName } from './ggml-types.ts';
import { dequant_bf16, dequant_f16, dequant_f32, quant_bf16, quant_f16, quant_f32 } from './quant/float.ts';
import { dequant_q2_k, quant_q2_k } from './quant/q2_k.ts';
import { dequant_q3_k, quant_q3_k } from './quant/q3_k.ts';
import { dequant_q4_0, quant_q4_0 } from './quant/q4_0.ts';
import { dequant_q4_1, quant_q4_1 } from './quant/q4_1.ts';
import { dequant_q4_k, quant_q4_k } from './quant/q4_k.ts';
import { dequant_q5_0, quant_q5_0 } from './quant/q5_0.ts';
import { dequant_q5_1, quant_q5_1 } from './quant/q5_1.ts';
import { dequant_q5_k, quant_q5_k } from './quant/q5_k.ts';
import { dequant_q6_k, quant_q6_k } from './quant/q6_k.ts';
import { dequant_q8_0, quant_q8_0 } from './quant/q8_0.ts';

/** Decodes `nBlocks` blocks from `src` (starting at byte 0) into `out` (starting at element 0). */
type BlockDecoder = (src: Uint8Array, out: Float32Array, nBlocks: number) => void;
/** Encodes `nBlocks` blocks of `x` (starting at element 0) into `dst` (starting at byte 0). */
type BlockEncoder = (x: Float32Array, dst: Uint8Array, nBlocks: number) => void;

const codecs: Partial<Record<GgmlTypeName, { dequant: BlockDecoder; quant: BlockEncoder }>> = {
  F32: { dequant: dequant_f32, quant: quant_f32 },
  F16: { dequant: dequant_f16, quant: quant_f16 },
  BF16: { dequant: dequant_bf16, quant: quant_bf16 },
  Q4_0: { dequant: dequant_q4_0, quant: quant_q4_0 },
  Q4_1: { dequant: dequant_q4_1, quant: quant_q4_1 },
  Q5_0: { dequant: dequant_q5_0, quant: quant_q5_0 },
  Q5_1: { dequant: dequant_q5_1, quant: quant_q5_1 },
  Q8_0: { dequant: dequant_q8_0, quant: quant_q8_0 },
  Q2_K: { dequant: dequant_q2_k, quant: quant_q2_k },
  Q3_K: { dequant: dequant_q3_k, quant: quant_q3_k },
  Q4_K: { dequant: dequant_q4_k, quant: quant_q4_k },
  Q5_K: { dequant: dequant_q5_k, quant: quant_q5_k },
  Q6_K: { dequant: dequant_q6_k, quant: quant_q6_k },
};

/** Types `dequantize` accepts, in ggml id order. */
export const SUPPORTED_TYPES: readonly GgmlTypeName[] = Object.keys(codecs) as GgmlTypeName[];
/** Types `quantize` accepts (every one reproduces ggml's reference quantizer byte for byte). */
export const QUANTIZABLE_TYPES: readonly GgmlTypeName[] = SUPPORTED_TYPES;

export function isDequantizable(type: GgmlTypeInfo): boolean {
  return codecs[type.name] !== undefined;
}

export function isQuantizable(type: GgmlTypeInfo): boolean {
  return codecs[type.name] !== undefined;
}

function codecFor(type: GgmlTypeInfo, what: string) {
  const c = codecs[type.name];
  if (!c) {
    throw new CriaError(
      'unsupported-type',
      `cannot ${what} tensors of type ${type.name} (ggml type ${type.id}): Cria supports ${SUPPORTED_TYPES.join(', ')}. ` +
        'Use a model file quantized to one of these types.',
      { type: type.name, typeId: type.id, supported: [...SUPPORTED_TYPES] },
    );
  }
  return c;
}

function checkCount(type: GgmlTypeInfo, nElements: number): void {
  if (!Number.isSafeInteger(nElements) || nElements < 0 || nElements % type.blockSize !== 0) {
    throw new CriaError('bad-argument', `element count ${nElements} is not a multiple of the ${type.name} block size ${type.blockSize}`, {
      type: type.name,
      nElements,
      blockSize: type.blockSize,
    });
  }
}

/**
 * Decode `nElements` values of `type` from `bytes` (exactly ggmlByteSize(type, nElements)
 * bytes; any byte offset is fine) into `out` (length ≥ nElements; allocated if omitted).
 * Returns `out`. Throws 'unsupported-type' for types without a decoder.
 */
export function dequantize(type: GgmlTypeInfo, bytes: Uint8Array, nElements: number, out?: Float32Array): Float32Array {
  const { dequant } = codecFor(type, 'dequantize');
  checkCount(type, nElements);
  const need = ggmlByteSize(type, nElements);
  if (bytes.byteLength !== need) {
    throw new CriaError('bad-argument', `${nElements} ${type.name} elements take ${need} bytes, but ${bytes.byteLength} were given`, {
      type: type.name,
      nElements,
      expected: need,
      got: bytes.byteLength,
    });
  }
  if (out === undefined) out = new Float32Array(nElements);
  else if (out.length < nElements) {
    throw new CriaError('bad-argument', `output has room for ${out.length} values, ${nElements} needed`, { need: nElements, got: out.length });
  }
  dequant(bytes, out, nElements / type.blockSize);
  return out;
}

/**
 * Decode rows [firstRow, firstRow + nRows) of a 2-D (or flattened) tensor whose
 * rows are `rowLength` elements (ggml ne0) and whose whole data is `bytes`.
 * E.g. an embedding lookup: dequantizeRows(t.type, data, t.dims[0], tokenId, 1).
 */
export function dequantizeRows(
  type: GgmlTypeInfo, bytes: Uint8Array, rowLength: number, firstRow: number, nRows: number, out?: Float32Array,
): Float32Array {
  checkCount(type, rowLength);
  const rowBytes = ggmlByteSize(type, rowLength);
  const start = firstRow * rowBytes;
  const end = (firstRow + nRows) * rowBytes;
  if (!Number.isSafeInteger(firstRow) || !Number.isSafeInteger(nRows) || firstRow < 0 || nRows < 0 || end > bytes.byteLength) {
    throw new CriaError(
      'bad-argument',
      `rows ${firstRow}..${firstRow + nRows} of ${rowLength}-element ${type.name} rows need bytes ${start}..${end}, but the tensor has ${bytes.byteLength}`,
      { type: type.name, rowLength, firstRow, nRows, byteLength: bytes.byteLength },
    );
  }
  return dequantize(type, bytes.subarray(start, end), rowLength * nRows, out);
}

/**
 * Encode `f32` (length a multiple of the block size) as `type`, exactly as
 * ggml_quantize_chunk does without an importance matrix.
 */
export function quantize(type: GgmlTypeInfo, f32: Float32Array): Uint8Array {
  const { quant } = codecFor(type, 'quantize');
  checkCount(type, f32.length);
  const dst = new Uint8Array(ggmlByteSize(type, f32.length));
  quant(f32, dst, f32.length / type.blockSize);
  return dst;
}

/**
 * Byte offsets, within a block, of the f16 fields that scale it (d, and m/dmin where the type has
 * one). Every value of a block is a small integer times these, so the block decodes to finite
 * values exactly when they are finite (block layouts: the header of each file in ./quant/).
 */
const SCALE_F16_OFFSETS: Partial<Record<GgmlTypeName, readonly number[]>> = {
  Q4_0: [0],
  Q4_1: [0, 2],
  Q5_0: [0],
  Q5_1: [0, 2],
  Q8_0: [0],
  Q2_K: [80, 82],
  Q3_K: [108],
  Q4_K: [0, 2],
  Q5_K: [0, 2],
  Q6_K: [208],
};

/**
 * The first element (float types) or block (quantized types) of `bytes` that decodes to a
 * non-finite value (NaN or ±infinity), or -1 when every value is finite. Reads only the scale
 * fields of quantized blocks, so it is cheap enough to run over every tensor at load.
 */
export function findNonFinite(type: GgmlTypeInfo, bytes: Uint8Array): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type.name === 'F32') {
    for (let i = 0, n = bytes.byteLength >> 2; i < n; i++) if (!Number.isFinite(dv.getFloat32(i * 4, true))) return i;
    return -1;
  }
  // f16: exponent 0x7c00 all ones; bf16: 0x7f80 all ones
  const allOnes = type.name === 'F16' ? 0x7c00 : type.name === 'BF16' ? 0x7f80 : 0;
  if (allOnes) {
    for (let i = 0, n = bytes.byteLength >> 1; i < n; i++) if ((dv.getUint16(i * 2, true) & allOnes) === allOnes) return i;
    return -1;
  }
  const offsets = SCALE_F16_OFFSETS[type.name];
  if (!offsets) throw new CriaError('unsupported-type', `no finiteness check for ${type.name}`, { type: type.name });
  for (let b = 0, n = Math.floor(bytes.byteLength / type.typeSize); b < n; b++) {
    for (const o of offsets) if ((dv.getUint16(b * type.typeSize + o, true) & 0x7c00) === 0x7c00) return b;
  }
  return -1;
}

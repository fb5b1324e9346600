/**
 * Weights on the GPU: one buffer per tensor, still quantized, in the layout
 * of repack.ts, with the dequantizer library that reads it. 1-D tensors
 * (norm weights, biases, rope factors) are small and are stored as f32.
 */
import { CriaError } from '../shared/errors.ts';
import { dequantize } from '../formats/quant.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { Weight } from '../model/ops.ts';
import { checkBinding } from './device.ts';
import type { WgslLib } from './kernel.ts';
import type { Recorder } from './recorder.ts';
import { repack } from './repack.ts';

const sources = import.meta.glob<string>('/kernels/lib/dequant_*.wgsl', { query: '?raw', import: 'default', eager: true });
const int8Sources = import.meta.glob<string>('/kernels/lib/int8_*.wgsl', { query: '?raw', import: 'default', eager: true });

export interface DequantLib extends WgslLib {
  /** values per `load_chunk`, read from the library's own `const CHUNK` */
  readonly chunk: number;
}

/** ggml type name → dequantizer library, for every `kernels/lib/dequant_<type>.wgsl` present. */
export const DEQUANT_LIBS: ReadonlyMap<string, DequantLib> = new Map(
  Object.entries(sources).map(([path, source]) => {
    const name = path.replace(/^.*\/(dequant_\w+)\.wgsl$/, '$1');
    const m = /const\s+CHUNK\s*:\s*u32\s*=\s*(\d+)u?\s*;/.exec(source);
    if (!m) throw new CriaError('internal', `${path} does not declare const CHUNK: u32`);
    return [name.slice('dequant_'.length).toUpperCase(), { name, source, chunk: Number(m[1]) }];
  }),
);

/**
 * ggml type name → int8 dot-product library (`kernels/lib/int8_<type>.wgsl`, for kernels/matmul_int8.wgsl):
 * the types whose blocks are 32 signed 8-bit (or 4-bit) integers times one scale, Q8_0 and Q4_0.
 */
export const INT8_LIBS: ReadonlyMap<string, WgslLib> = new Map(
  Object.entries(int8Sources).map(([path, source]) => {
    const name = path.replace(/^.*\/(int8_\w+)\.wgsl$/, '$1');
    return [name.slice('int8_'.length).toUpperCase(), { name, source }];
  }),
);

export function gpuSupportsType(type: GgmlTypeInfo): boolean {
  return DEQUANT_LIBS.has(type.name);
}

export function dequantLib(type: GgmlTypeInfo): DequantLib {
  const lib = DEQUANT_LIBS.get(type.name);
  if (!lib) {
    throw new CriaError('unsupported-type', `the WebGPU engine cannot compute with ${type.name} tensors yet; supported: ${[...DEQUANT_LIBS.keys()].join(', ')}`, { type: type.name });
  }
  return lib;
}

export interface GpuWeight extends Weight {
  readonly buffer: GPUBuffer;
  /** dequantizer for matrices; vectors are stored as f32 */
  readonly lib: DequantLib;
  /** the int8 dot-product library of the type, where it has one (Q8_0, Q4_0 matrices) */
  readonly int8?: WgslLib;
  readonly dOffsetWords: number;
  /** ggml dims[0]: elements per row */
  readonly cols: number;
  /** product of the other dims */
  readonly rows: number;
  readonly byteLength: number;
}

export function uploadWeight(rec: Recorder, name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): GpuWeight {
  const cols = dims[0];
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  if (dims.filter((d) => d > 1).length <= 1 && type.name !== 'F32') {
    // vectors: dequantize once to f32 (a few KB)
    const f32 = dequantize(type, bytes, cols * rows);
    const buffer = rec.upload(f32, name);
    return { name, type, dims, buffer, lib: dequantLib({ ...type, name: 'F32' } as GgmlTypeInfo), dOffsetWords: 0, cols, rows, byteLength: f32.byteLength };
  }
  const lib = dequantLib(type);
  checkBinding(rec.ctx, bytes.byteLength, `tensor ${name} (${type.name}, ${dims.join('×')})`);
  const r = repack(type, bytes);
  const buffer = rec.upload(r.data, name);
  return { name, type, dims, buffer, lib, int8: INT8_LIBS.get(type.name), dOffsetWords: r.dOffsetWords, cols, rows, byteLength: r.data.byteLength };
}

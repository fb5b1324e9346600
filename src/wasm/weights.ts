/**
 * Weights in the WebAssembly memory: a tensor's GGUF bytes copied into a permanent block, as they are
 * (still quantized: the kernels dequantize inside their products). 1-D tensors (norms, biases, RoPE
 * factors) are also kept as f32, the form every kernel reads them in.
 */
import { dequantize } from '../formats/quant.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { Weight } from '../model/ops.ts';
import type { WasmHeap } from './heap.ts';

export interface WasmWeight extends Weight {
  /** the GGUF bytes, in the heap */
  readonly ptr: number;
  readonly byteLength: number;
  /** 1-D tensors: their values as f32, in the heap */
  readonly f32?: number;
  /** rows of a 2-D tensor (dims[1]), columns per row (dims[0]) */
  readonly rows: number;
  readonly cols: number;
}

export function uploadWeight(heap: WasmHeap, name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): WasmWeight {
  const ptr = heap.alloc(bytes.byteLength, `tensor ${name}`);
  heap.u8(ptr, bytes.byteLength).set(bytes);
  const cols = dims[0];
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  let f32: number | undefined;
  if (dims.length === 1) {
    f32 = heap.alloc(cols * 4, `tensor ${name} (f32)`);
    heap.f32(f32, cols).set(dequantize(type, bytes, cols));
  }
  return { name, type, dims, ptr, byteLength: bytes.byteLength, rows, cols, ...(f32 !== undefined ? { f32 } : {}) };
}

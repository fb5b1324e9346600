/**
 * Backend: where a model's weights live and its ops run. The CPU reference
 * (src/reference/backend.ts) and the WebGPU backend implement it; the
 * engine drives either one through this interface only.
 */
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { Act, Ops, Weight } from './ops.ts';

export interface KvCacheSpec {
  readonly nLayer: number;
  /** positions the cache holds */
  readonly nCtx: number;
  /** nHeadKv · headDim */
  readonly kvDim: number;
  /** nHeadKv · headDimV */
  readonly kvDimV: number;
}

export interface Backend<A extends Act = Act, W extends Weight = Weight> {
  readonly name: string;
  readonly ops: Ops<A, W>;
  /** Can this backend compute with weights of this type? */
  supportsType(type: GgmlTypeInfo): boolean;
  /** Take ownership of one tensor's raw bytes (still quantized). */
  loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<W>;
  /** (Re)allocate the KV cache; positions start empty. */
  allocateCache(spec: KvCacheSpec): void;
  /** Copy an activation back to the CPU as `rows × cols` f32. */
  read(a: A): Promise<Float32Array>;
  /** Release weights and cache. */
  dispose(): void;
}

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

export interface BackendStats {
  dispatches: number;
  submits: number;
  bytesReadBack: number;
  buffersCreated: number;
}

/** Rows of a weight in one type: ggml dims [cols, rows] and the raw bytes. */
export interface WeightPart {
  readonly type: GgmlTypeInfo;
  readonly dims: readonly number[];
  readonly bytes: Uint8Array;
}

export interface Backend<A extends Act = Act, W extends Weight = Weight> {
  readonly name: string;
  /** what it runs on (an adapter, a WebAssembly variant) and with how many threads, for ModelInfo.backend */
  describe?(): { detail: string; threads: number };
  /** bytes it can hold in all (WebAssembly: 4 GiB, wasm32's address space); the engine's memory check caps the budget at it */
  readonly memoryLimitBytes?: number;
  /** how products with Q8_0/Q4_0 weights take x (absent: f32); see GpuBackendOptions.activations */
  readonly activations?: 'f32' | 'int8';
  readonly ops: Ops<A, W>;
  /** resolves (with a reason) if the backend's device is lost; the backend is then unusable */
  readonly lost?: Promise<string>;
  /**
   * Ask for load-time weight fusion (src/model/model.ts): tensors an architecture lists in
   * `fusions()` arrive concatenated (e.g. attn_q|attn_k|attn_v as one `attn_qkv`) when their types and
   * row lengths agree. The CPU reference leaves it off, so it always runs the plain path.
   */
  readonly fuseWeights?: boolean;
  /**
   * Fusions whose parts have two types (a run of one type, then a run of another, e.g. Q4_K_M's
   * Q4_K attn_q|attn_k and Q6_K attn_v): the loader makes them where `canMixTypes` says yes and
   * hands `loadMixedWeight` the two runs, each concatenated along the rows (`a` first).
   */
  canMixTypes?(a: GgmlTypeInfo, b: GgmlTypeInfo): boolean;
  loadMixedWeight?(name: string, runs: readonly [WeightPart, WeightPart], dims: readonly number[]): Promise<W>;
  /** the largest tensor (bytes) this backend can hold in one piece; a fusion beyond it is not made */
  readonly maxWeightBytes?: number;
  /** the largest attention head size its kernels take (absent: any); checked at load, before allocating */
  readonly maxHeadDim?: number;
  /** Can this backend compute with weights of this type? */
  supportsType(type: GgmlTypeInfo): boolean;
  /** Take ownership of one tensor's raw bytes (still quantized). */
  loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<W>;
  /** A forward pass begins (Model.forward): the previous one's activations may be dropped (absent: nothing to do). */
  beginForward?(): void;
  /** (Re)allocate the KV cache; positions start empty. */
  allocateCache(spec: KvCacheSpec): void;
  /** Copy an activation back to the CPU as `rows × cols` f32 (runs pending work). */
  read(a: A): Promise<Float32Array>;
  /** Index of the largest value of each row (lowest index on ties); only these ids cross to the CPU. */
  argmax(logits: A): Promise<Uint32Array>;
  /** the largest k `topk` takes (absent: any); beyond it the engine reads the row and samples on the CPU */
  readonly maxTopK?: number;
  /** The k largest values of each row, sorted descending (ties: lower index first). */
  topk(logits: A, k: number): Promise<{ ids: Uint32Array; values: Float32Array }>;
  /**
   * Structured output: one row of logits (1 × nVocab; other shapes: `internal`) with every token the
   * bitmask `allowed` does not allow set to −∞, allowed values unchanged bit for bit. `allowed` is
   * xgrammar's layout: token t allowed iff bit (t & 31) of word (t >> 5) is set; at least ⌈nVocab / 32⌉
   * words (fewer: `internal`), words past those and bits past nVocab ignored. Every backend masks
   * IN PLACE and returns `logits` itself: use the result (its argmax, top-k or read), not an earlier
   * copy of the row. Recorded like any op (GPU: a vocab/8-byte upload and one dispatch inside the
   * token's single submit; nothing is read back).
   */
  maskLogits(logits: A, allowed: Uint32Array): A;
  /** Per row t: log-softmax of row t at `targets[t]`, and the row's argmax. */
  logprobs(logits: A, targets: readonly number[]): Promise<{ logprobs: ArrayLike<number>; argmax: Uint32Array }>;
  /** Run pending work without reading anything (bounds memory between prompt chunks). */
  sync(): Promise<void>;
  /**
   * Backends that record work before running it (the GPU): compile the pipelines of what is
   * recorded and drop the work without running it. The engine's warm-up compiles a prompt batch's
   * pipelines this way instead of computing a prompt. Absent: the warm-up runs the work.
   */
  compileRecorded?(): Promise<void>;
  /** Counters of the work done so far (GPU: dispatches, submits, bytes read back, buffers created). */
  stats(): BackendStats;
  /** Release weights and cache. */
  dispose(): void;
}

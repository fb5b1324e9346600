/**
 * The runtime seam: what the engine (src/engine/engine.ts: request ids, the queue, abort, parsing,
 * stop strings, sampling, usage) needs of whatever runs a whole model. Cria's own GGUF engine
 * (src/engine/gguf-runtime.ts: its backends and kernels) is one runtime; a runtime built on another
 * engine (onnxruntime-web for ONNX, WebLLM for MLC) is another, behind the same interface, so a
 * request means the same thing whichever runs it.
 *
 * A runtime loads a model into a `LoadedModel`: its facts (`ModelInfo`), its tokenizer and one
 * `Sequence` (one KV cache and the tokens in it). Generation and scoring run above it
 * (src/engine/generate.ts, Engine.score) on the sequence's few operations.
 */
import type { BackendStats } from '../model/backend.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { AdapterInfo, AdapterSource, CachedModel, DeviceInfo, LoadOptions, LoadProgress, ModelInfo, ModelSource, RuntimeName } from '../protocol/api.ts';
import type { ParsedLora } from './request.ts';
import type { StorageEstimator } from '../storage/download.ts';
import type { ModelStore } from '../storage/store.ts';

/**
 * One sequence: a KV cache and the tokens whose keys and values it holds, in order. `L` is the
 * runtime's handle to a row of logits (on its device until read; valid until the next call).
 */
export interface Sequence<L = unknown> {
  /** context size in tokens */
  readonly nCtx: number;
  /** logits per position */
  readonly nVocab: number;
  /** length of the common prefix of the cache and `tokens` */
  commonPrefix(tokens: readonly number[]): number;
  /** forget cached positions from `n` on (0 = everything) */
  truncate(n: number): void;
  /** append `tokens` and run the model; the last token's logits, still on the device */
  append(tokens: readonly number[], signal?: AbortSignal): Promise<L>;
  /** append `tokens` and read the logits of every one (`tokens.length × nVocab`) */
  appendAll(tokens: readonly number[], signal?: AbortSignal): Promise<Float32Array>;
  /**
   * for every token after the first, its log-probability given everything before it and whether it
   * was the greedy choice; all but the last token are appended (lm-evaluation-harness's feeding)
   */
  score(tokens: readonly number[], signal?: AbortSignal): Promise<{ logprobs: number[]; greedy: boolean[] }>;
  /** the row's argmax (only 4 bytes cross from the device) */
  argmax(logits: L): Promise<number>;
  /** the largest k `topk` takes (absent: any); beyond it the engine reads the row */
  readonly maxTopK?: number;
  /** the k largest logits of the row, with their ids */
  topk(logits: L, k: number): Promise<{ ids: Uint32Array; values: Float32Array }>;
  /** the whole row */
  read(logits: L): Promise<Float32Array>;
  /**
   * the row with every token not allowed set to −∞ (`allowed`: bit (t & 31) of word (t >> 5)), on the
   * device (absent: the engine reads the row and masks it on the CPU)
   */
  mask?(logits: L, allowed: Uint32Array): Promise<L> | L;
  /** wait until everything queued on the device has run */
  sync(): Promise<void>;
}

/**
 * What the engine asks of a runtime's tokenizer: Cria's own (src/tokenizer/) has more, another
 * runtime adapts its library's to this. `encodeChat` keeps message contents plain text (a forged
 * control token in a message stays text) whoever implements it.
 */
export type RuntimeTokenizer = Pick<Tokenizer, 'vocabSize' | 'chatTemplate' | 'encode' | 'decode' | 'decodeBytes' | 'decoder' | 'isEog' | 'applyChatTemplate' | 'encodeChat'>;

/** A model a runtime has loaded. */
export interface LoadedModel {
  info: ModelInfo;
  tokenizer: RuntimeTokenizer;
  sequence: Sequence;
  /** LoRA adapters on this model (Cria's own runtime; absent: the runtime has none) */
  adapters?: RuntimeAdapters;
  /** release the model and its device */
  dispose(): void;
}

/** LoRA adapters on a loaded model. */
export interface RuntimeAdapters {
  /**
   * check an adapter against the model (before its data is read: a URL's header only), its memory
   * against what the model's budget leaves, then make it ready under `id` (default: its general.name,
   * else its file name)
   */
  add(source: AdapterSource, id: string | undefined, ctx: Omit<RuntimeLoadContext, 'opts' | 'startedAt' | 'onDevice'>): Promise<Omit<AdapterInfo, 'scale'>>;
  /** the adapters applied from the next forward pass on (each id one `add` made ready) */
  set(list: readonly ParsedLora[]): void;
}

/** The device a runtime runs a model on, reported as soon as it exists (before any download). */
export interface RuntimeDevice {
  /** work counters since it was made (dispatches, submits, bytes read back), with the backend's name */
  stats(): BackendStats & { backend: string };
  /** what it is (the GPU adapter, or the WebAssembly engine), where the runtime can say */
  deviceInfo?(): Promise<DeviceInfo>;
  /** resolves (with a reason) if the device is lost; the model on it is then gone */
  readonly lost?: Promise<string>;
}

/** What a load may use besides the source: the model cache, storage facts, the network. */
export interface RuntimeLoadContext {
  opts: LoadOptions;
  signal: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  store?: ModelStore;
  storage?: StorageEstimator & { persisted?(): Promise<boolean> };
  locks?: LockManager;
  fetch?: typeof fetch;
  idleTimeoutMs?: number;
  /** when load() was called (performance.now()), for `ModelInfo.loadMs` */
  startedAt: number;
  /**
   * the runtime reports its device as soon as it exists: the engine's stats and device facts then
   * describe it, and a loss (under the model, or while it loads) makes every later request a
   * `device-lost` error until the next load
   */
  onDevice(device: RuntimeDevice): void;
}

/**
 * Models a runtime keeps in its own storage (WebLLM's Cache API), listed and deleted with the
 * model cache's: the engine asks it by id prefix.
 */
export interface RuntimeCache {
  /** whether a cache id is one of this runtime's */
  owns(id: string): boolean;
  list(): Promise<CachedModel[]>;
  /** delete one model's files; false when there is no such model */
  delete(id: string): Promise<boolean>;
  clear(): Promise<void>;
}

export interface Runtime {
  /** as in ModelInfo and in eval run identities */
  readonly name: RuntimeName;
  /** its own storage, when it keeps models apart from Cria's model cache */
  readonly cache?: RuntimeCache;
  /** whether this runtime takes the source (by its shape: `{ onnx }`; never by trying and failing) */
  accepts(source: ModelSource): boolean;
  /**
   * Load a model. Everything that can be checked before a download (the device, the header, memory)
   * is checked first; a failed load leaves nothing allocated.
   */
  load(source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel>;
}

/**
 * The client: what pages (app, widget, eval) use. It starts the engine's
 * worker and wraps the comlink remote in an OpenAI-shaped API:
 *
 *   const cria = createClient();
 *   await cria.load({ url }, { onProgress });
 *   for await (const chunk of cria.chat.completions.create({ messages, stream: true })) …
 *
 * Streams are AsyncIterables; breaking out of the loop, or an AbortSignal,
 * aborts the request in the worker.
 */
import * as Comlink from 'comlink';
import type {
  FinetuneEvent,
  FinetuneOutcome,
  FinetuneRequest,
  AdapterInfo,
  AdapterSource,
  LoraRef,
  DeviceMeasurement,
  CachedModel,
  StorageInfo,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  Completion,
  CompletionChunk,
  CompletionRequest,
  DeviceInfo,
  EngineApi,
  EngineStats,
  LoadOptions,
  LoadProgress,
  ModelInfo,
  ModelSource,
  ScoreRequest,
  ScoreResult,
  TokenizeOptions,
} from '../protocol/api.ts';
import { installErrorTransfer } from './comlink-errors.ts';
import { AsyncQueue } from './queue.ts';
import { CriaError } from '../shared/errors.ts';

export type * from '../protocol/api.ts';

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ClientLoadOptions extends Omit<LoadOptions, 'requestId'> {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** A streaming response: iterate it for chunks; `requestId` identifies it for `abort`. */
export interface Stream<T> extends AsyncIterable<T> {
  readonly requestId: string;
}

export interface CriaClient {
  /**
   * Load a model (the previous one is dropped). `signal` stops the load (download included: what
   * was downloaded stays cached for a resume); `nCtx` and `memoryBudgetBytes` as in `LoadOptions`.
   */
  load(source: ModelSource, opts?: ClientLoadOptions): Promise<ModelInfo>;
  unload(): Promise<void>;
  chat: {
    completions: {
      create(req: ChatCompletionRequest & { stream: true }, opts?: RequestOptions): Stream<ChatCompletionChunk>;
      create(req: ChatCompletionRequest & { stream?: false }, opts?: RequestOptions): Promise<ChatCompletion>;
    };
  };
  completions: {
    create(req: CompletionRequest & { stream: true }, opts?: RequestOptions): Stream<CompletionChunk>;
    create(req: CompletionRequest & { stream?: false }, opts?: RequestOptions): Promise<Completion>;
  };
  score(req: ScoreRequest, opts?: RequestOptions): Promise<ScoreResult>;
  abort(requestId: string): Promise<void>;
  tokenize(text: string, opts?: TokenizeOptions): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt?: boolean): Promise<string>;
  deviceInfo(): Promise<DeviceInfo>;
  /** the adapter's memory bandwidth and compute, measured (about a second on a real GPU) */
  measureDevice(): Promise<DeviceMeasurement>;
  modelInfo(): Promise<ModelInfo | null>;
  /**
   * Make a LoRA adapter (llama.cpp's GGUF format) ready for the loaded model, under `id` (default: its
   * general.name, else its file name); requests apply it when their `lora` or `setAdapters` names it.
   * A URL goes through the model cache (`onProgress`: its download, as a model's). `signal` stops the download.
   */
  loadAdapter(source: AdapterSource, opts?: { id?: string; signal?: AbortSignal; onProgress?: (p: LoadProgress) => void }): Promise<AdapterInfo>;
  /** the adapters for requests that do not name theirs (`[]`: the base model) */
  setAdapters(list: LoraRef[]): Promise<ModelInfo>;
  /**
   * A LoRA fine-tune in the engine's worker (README "Fine-tuning"): progress through `onProgress`,
   * `signal` stops it after the current step (the outcome then holds what was trained). The result's
   * `adapter` is a GGUF file: `loadAdapter({ bytes })` applies it, or save it.
   */
  finetune(req: Omit<FinetuneRequest, 'request_id'>, opts?: { onProgress?: (e: FinetuneEvent) => void; signal?: AbortSignal }): Promise<FinetuneOutcome>;
  stats(): Promise<EngineStats>;
  /** the model cache (IndexedDB, shared by every tab of this site) */
  cache: {
    list(): Promise<CachedModel[]>;
    delete(id: string): Promise<void>;
    clear(): Promise<void>;
    usage(): Promise<StorageInfo>;
    /** ask the browser to keep this site's data under storage pressure; returns its answer */
    persist(): Promise<boolean>;
  };
  /** stop the worker; the client is unusable afterwards */
  terminate(): void;
}

/** navigator.storage.persist() exists only in windows (not workers); false when it is unavailable. */
async function requestPersistence(): Promise<boolean> {
  try {
    const s = globalThis.navigator?.storage;
    if (!s?.persist) return false;
    return (await s.persisted()) || (await s.persist());
  } catch {
    return false;
  }
}

let seq = 0;
const requestId = () => `r${Date.now().toString(36)}${(seq++).toString(36)}`;

export function createEngineWorker(): Worker {
  return new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'cria-engine' });
}

/** Wrap an engine worker (a new one by default). */
export function createClient(worker: Worker = createEngineWorker()): CriaClient {
  installErrorTransfer();
  const remote = Comlink.wrap<EngineApi>(worker);

  function withSignal<T>(id: string, p: Promise<T>, signal?: AbortSignal): Promise<T> {
    if (!signal) return p;
    const onAbort = () => void remote.abort(id);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    return p.finally(() => signal.removeEventListener('abort', onAbort));
  }

  function stream<C>(start: (id: string, onChunk: (c: C) => void) => Promise<unknown>, id: string, signal?: AbortSignal): Stream<C> {
    return {
      requestId: id,
      [Symbol.asyncIterator]() {
        const q = new AsyncQueue<C>();
        const done = withSignal(id, start(id, Comlink.proxy((c: C) => q.push(c))), signal);
        // an abort ends the stream at once: chunks already on their way from the worker are not handed out
        const onAbort = () => q.abort(new CriaError('aborted', 'the request was aborted'));
        if (signal?.aborted) onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        void done.finally(() => signal?.removeEventListener('abort', onAbort)).catch(() => undefined);
        done.then(
          () => q.end(),
          (e) => q.fail(e),
        );
        return {
          next: () => q.next(),
          async return() {
            // the consumer stopped early: stop generating
            await remote.abort(id);
            await done.catch(() => undefined);
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  const chatCreate = ((req: ChatCompletionRequest, opts: RequestOptions = {}) => {
    const id = req.request_id ?? requestId();
    if (req.stream) return stream<ChatCompletionChunk>((rid, on) => remote.chatCompletion({ ...req, request_id: rid }, on), id, opts.signal);
    return withSignal(id, remote.chatCompletion({ ...req, request_id: id }), opts.signal);
  }) as CriaClient['chat']['completions']['create'];

  const completionCreate = ((req: CompletionRequest, opts: RequestOptions = {}) => {
    const id = req.request_id ?? requestId();
    if (req.stream) return stream<CompletionChunk>((rid, on) => remote.completion({ ...req, request_id: rid }, on), id, opts.signal);
    return withSignal(id, remote.completion({ ...req, request_id: id }), opts.signal);
  }) as CriaClient['completions']['create'];

  return {
    load: async (source, opts = {}) => {
      // a model about to be cached: ask the browser not to evict it (asked once; the answer is in cache.usage())
      if (('url' in source && source.cache !== false) || ('file' in source && source.cache)) await requestPersistence();
      // a relative URL means relative to this page (the worker's own base is its script)
      if ('url' in source && globalThis.location) source = { ...source, url: new URL(source.url, globalThis.location.href).href };
      const { onProgress, signal, ...loadOpts } = opts;
      const id = requestId();
      return withSignal(id, remote.load(source, onProgress ? Comlink.proxy(onProgress) : undefined, { ...loadOpts, requestId: id }), signal);
    },
    unload: () => remote.unload(),
    chat: { completions: { create: chatCreate } },
    completions: { create: completionCreate },
    score: (req, opts = {}) => {
      const id = req.request_id ?? requestId();
      return withSignal(id, remote.score({ ...req, request_id: id }), opts.signal);
    },
    abort: (id) => remote.abort(id),
    tokenize: (text, opts) => remote.tokenize(text, opts),
    detokenize: (ids) => remote.detokenize(ids),
    applyChatTemplate: (messages, add) => remote.applyChatTemplate(messages, add),
    deviceInfo: () => remote.deviceInfo(),
    measureDevice: () => remote.measureDevice(),
    modelInfo: () => remote.modelInfo(),
    loadAdapter: async (source, opts = {}) => {
      if ('url' in source && globalThis.location) source = { ...source, url: new URL(source.url, globalThis.location.href).href };
      const id = requestId();
      return withSignal(id, remote.loadAdapter(source, { ...(opts.id !== undefined ? { id: opts.id } : {}), request_id: id }, opts.onProgress ? Comlink.proxy(opts.onProgress) : undefined), opts.signal);
    },
    setAdapters: (list) => remote.setAdapters(list),
    finetune: (req, opts = {}) => {
      const id = requestId();
      return withSignal(id, remote.finetune({ ...req, request_id: id }, opts.onProgress ? Comlink.proxy(opts.onProgress) : undefined), opts.signal);
    },
    stats: () => remote.stats(),
    cache: {
      list: () => remote.listCachedModels(),
      delete: (id) => remote.deleteCachedModel(id),
      clear: () => remote.deleteAllCachedModels(),
      usage: () => remote.storageInfo(),
      persist: requestPersistence,
    },
    terminate: () => {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

/**
 * The contract between `cria bench` (Node, src/cli/bench/browser.ts) and its
 * page in headless Chromium (bench.ts). Types (and one constant) only, so both sides import it.
 * Everything crossing is JSON; failures come back as values (the message
 * and, for Cria, the CriaError code), so one engine failing does not throw
 * away the others' results.
 */
import type { DeviceInfo, DeviceMeasurement, EngineStats, LoadProgress, ModelInfo, RuntimeName, Usage } from '../../../protocol/api.ts';

/** the BroadcastChannel of the GPU memory probe (gpu-memory.ts, in the engine worker) */
export const GPU_MEMORY_CHANNEL = 'cria-bench-gpu-memory';

export type BenchResult<T> = { ok: T } | { error: { message: string; code?: string } };

/** GPU memory as the bench worker's probe sees it (gpu-memory.ts): every buffer the engine's device made */
export interface GpuMemory {
  liveBytes: number;
  peakBytes: number;
  buffers: number;
}

/**
 * Which of Cria's backends a load runs on: WebGPU, or WebAssembly with `threads` threads; `runtime`
 * `onnx`: onnxruntime-web's WebGPU or WASM execution provider, on an ONNX repository at the URL
 * (the export of the same GGUF), loaded through the same client, worker and cache.
 */
export type CriaBenchEngine = ({ backend: 'webgpu' } | { backend: 'wasm'; threads: number }) & { runtime?: RuntimeName };

export interface CriaLoadResult {
  /** wall clock in the page around `client.load` (a new worker each time, already started) */
  ms: number;
  /** starting that worker: from `new Worker` to its answer to a first message */
  startMs: number;
  /** ms from the start of the load to the first progress event of each phase (open, download, upload, compile, ready) */
  phaseStartMs: Partial<Record<LoadProgress['phase'], number>>;
  info: ModelInfo;
}

export interface CriaRunResult {
  usage: Usage;
  completionTokens: number;
  finishReason: string;
  /** counters of this request (stats after − before) */
  stats: Pick<EngineStats, 'dispatches' | 'submits' | 'bytesReadBack' | 'buffersCreated' | 'tokensEvaluated'>;
}

export interface WllamaLoadResult {
  ms: number;
  threads: number;
  multithread: boolean;
  crossOriginIsolated: boolean;
  /** llama.cpp build inside wllama, e.g. "b6327-4d74393" */
  libllama: string;
}

/** llama-server's timings of one request (wllama 3 runs llama-server's context) */
export interface WllamaRunResult {
  promptN: number;
  promptMs: number;
  predictedN: number;
  predictedMs: number;
  /** wall clock in the page around the request */
  wallMs: number;
}

export interface WebllmLoadResult {
  /** wall clock around WebLLM's `reload` (library, weights into WebGPU, shaders) */
  ms: number;
  /** the adapter's vendor as WebLLM reports it */
  gpuVendor: string;
}

/** One request on WebLLM, stepped with `forwardTokensAndSample` (page/webllm-peer.ts). */
export interface WebllmRunResult {
  /** prompt tokens evaluated (the KV cache was emptied first) */
  promptTokens: number;
  /** from the request to the first generated token being known: the prompt's one step, its logits read and sampled */
  prefillMs: number;
  /** the N − 1 one-token steps after the first token */
  decodeMs: number;
  /** the generated ids, N of them (end-of-generation tokens do not stop it) */
  tokens: number[];
}

export interface BenchPage {
  /** the adapter and its measurement (a fresh engine worker, closed afterwards) */
  device(): Promise<BenchResult<{ info: DeviceInfo; measurement: DeviceMeasurement & Record<string, unknown> }>>;
  /**
   * load `url` in a new engine worker (the previous one is closed); `cold`: empty the model cache first.
   * `url` is a GGUF file's, or with `engine.runtime` `onnx` an ONNX repository's base URL.
   * The worker is started and answers a first message before the clock starts (`startMs`): a load is
   * the engine's, as wllama's is measured in a page that has its code loaded; starting the worker is
   * reported apart (on `cria bench`'s dev server, it loads the engine's modules one by one).
   */
  criaLoad(url: string, cold: boolean, engine: CriaBenchEngine): Promise<BenchResult<CriaLoadResult>>;
  /**
   * One greedy completion of `prompt` (a text, or token ids taken as they are) on the loaded model,
   * ignoring end-of-generation tokens, after a one-token request of `resetToken` (unmeasured), so
   * that the session has no prefix in common with the prompt and evaluates all of it.
   */
  /** `schema`: the decode follows it (response_format json_schema; no ignore_eos: the schema never completes) */
  criaRun(prompt: string | number[], maxTokens: number, resetToken: number, schema?: Record<string, unknown>): Promise<BenchResult<CriaRunResult>>;
  criaMemory(): Promise<BenchResult<GpuMemory>>;
  /** empty Cria's model cache (wllama's cache shares the origin's quota) and close the worker */
  criaClose(): Promise<BenchResult<true>>;
  /** load `url` in a new wllama instance (CPU only, `threads` threads); `cold`: empty wllama's cache first */
  wllamaLoad(url: string, cold: boolean, threads: number, nCtx: number): Promise<BenchResult<WllamaLoadResult>>;
  /**
   * One greedy completion of the text `prompt` (llama-server's tokenization: BOS as the model says),
   * no prompt cache, EOS ignored, the tokens `ban` never generated (logit_bias).
   */
  wllamaRun(prompt: string, maxTokens: number, ban: number[]): Promise<BenchResult<WllamaRunResult>>;
  wllamaClose(): Promise<BenchResult<true>>;
  /**
   * load the MLC model at `modelUrl` (WebLLM reads its files at modelUrl + resolve/main/) with the
   * model library at `libUrl`, in a new MLCEngine in this page (the previous one unloaded), greedy,
   * `nCtx` positions; `cold`: empty WebLLM's Cache API storage first
   */
  webllmLoad(modelUrl: string, libUrl: string, cold: boolean, nCtx: number): Promise<BenchResult<WebllmLoadResult>>;
  /** one greedy request of the token ids `prompt`, `maxTokens` generated, from an empty KV cache */
  webllmRun(prompt: number[], maxTokens: number): Promise<BenchResult<WebllmRunResult>>;
  /** unload the model and empty WebLLM's storage (it counts against the origin's quota) */
  webllmClose(): Promise<BenchResult<true>>;
}

declare global {
  interface Window {
    criaBench?: BenchPage;
  }
}

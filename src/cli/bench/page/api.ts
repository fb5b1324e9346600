/**
 * The contract between `cria bench` (Node, src/cli/bench/browser.ts) and its
 * page in headless Chromium (bench.ts). Types only, so both sides import it.
 * Everything crossing is JSON; failures come back as values (the message
 * and, for Cria, the CriaError code), so one engine failing does not throw
 * away the others' results.
 */
import type { DeviceInfo, DeviceMeasurement, EngineStats, ModelInfo, Usage } from '../../../protocol/api.ts';

export type BenchResult<T> = { ok: T } | { error: { message: string; code?: string } };

/** GPU memory as the bench worker's probe sees it (gpu-memory.ts): every buffer the engine's device made */
export interface GpuMemory {
  liveBytes: number;
  peakBytes: number;
  buffers: number;
}

export interface CriaLoadResult {
  /** wall clock in the page around `client.load` (a new worker each time) */
  ms: number;
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

export interface BenchPage {
  /** the adapter and its measurement (a fresh engine worker, closed afterwards) */
  device(): Promise<BenchResult<{ info: DeviceInfo; measurement: DeviceMeasurement & Record<string, unknown> }>>;
  /** load `url` in a new engine worker (the previous one is closed); `cold`: empty the model cache first */
  criaLoad(url: string, cold: boolean): Promise<BenchResult<CriaLoadResult>>;
  /** one greedy completion on the loaded model, ignoring end-of-generation tokens */
  criaRun(prompt: number[], maxTokens: number): Promise<BenchResult<CriaRunResult>>;
  criaMemory(): Promise<BenchResult<GpuMemory>>;
  criaClose(): Promise<BenchResult<true>>;
  /** load `url` in a new wllama instance (CPU only, `threads` threads); `cold`: empty wllama's cache first */
  wllamaLoad(url: string, cold: boolean, threads: number, nCtx: number): Promise<BenchResult<WllamaLoadResult>>;
  wllamaRun(prompt: number[], maxTokens: number): Promise<BenchResult<WllamaRunResult>>;
  wllamaClose(): Promise<BenchResult<true>>;
}

declare global {
  interface Window {
    criaBench?: BenchPage;
  }
}

/**
 * wllama (llama.cpp in WebAssembly, @wllama/wllama) in the bench page: CPU
 * only (`n_gpu_layers: 0`; wllama 3 can also use WebGPU, which is not what
 * this peer measures), multi-threaded: the server sends COOP/COEP, so the
 * page is cross-origin isolated and SharedArrayBuffer exists. A new instance
 * (and worker) per load; `cold` empties wllama's own model cache first.
 */
import { Wllama } from '@wllama/wllama/esm/index.js';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import type { WllamaLoadResult, WllamaRunResult } from './api.ts';

let wllama: Wllama | undefined;
const quiet = { debug: () => {}, log: () => {}, warn: () => {}, error: (...a: unknown[]) => console.error('[wllama]', ...a) };

export async function close(): Promise<true> {
  await wllama?.exit();
  wllama = undefined;
  return true;
}

export async function load(url: string, cold: boolean, threads: number, nCtx: number): Promise<WllamaLoadResult> {
  await close();
  const w = new Wllama({ default: wllamaWasm }, { suppressNativeLog: true, logger: quiet, parallelDownloads: 1 });
  if (cold) await w.cacheManager.clear();
  const t0 = performance.now();
  await w.loadModelFromUrl(url, { n_threads: threads, n_ctx: nCtx, n_gpu_layers: 0, useCache: true });
  const ms = performance.now() - t0;
  wllama = w;
  return { ms, threads: w.getNumThreads(), multithread: w.isMultithread(), crossOriginIsolated, libllama: Wllama.getLibllamaVersion() };
}

export async function run(prompt: string, maxTokens: number, ban: number[]): Promise<WllamaRunResult> {
  if (!wllama) throw new Error('no wllama model loaded');
  const t0 = performance.now();
  // llama-server's request fields: greedy, no prompt cache, EOS ignored (wllama 3 takes text prompts
  // only); `[id, false]` bans a token (tokens that are not UTF-8 alone: see plan.ts `notUtf8`)
  const request = { prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, cache_prompt: false, stream: false, logit_bias: ban.map((id) => [id, false]) };
  const r = await wllama.createCompletion(request as unknown as Parameters<Wllama['createCompletion']>[0] & { stream: false });
  const wallMs = performance.now() - t0;
  const t = r.timings;
  if (!t) throw new Error('wllama returned no timings');
  return { promptN: t.prompt_n, promptMs: t.prompt_ms, predictedN: t.predicted_n, predictedMs: t.predicted_ms, wallMs };
}

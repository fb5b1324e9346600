/**
 * The page of `cria bench` (see api.ts for the contract). Two engines, never
 * running at the same time:
 * - Cria: the app's engine worker through the client, a new worker for every
 *   load (so a warm load is a later visit: IndexedDB filled, nothing else
 *   kept), with the GPU memory probe (gpu-memory.ts) inside;
 * - wllama (llama.cpp in WebAssembly), CPU only (`n_gpu_layers: 0`),
 *   multi-threaded: the server sends COOP/COEP, so the page is
 *   cross-origin isolated and SharedArrayBuffer exists.
 */
import { createClient, type CriaClient } from '../../../client/index.ts';
import { Wllama } from '@wllama/wllama/esm/index.js';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import type { BenchPage, BenchResult, GpuMemory } from './api.ts';
import { GPU_MEMORY_CHANNEL } from './gpu-memory.ts';

async function result<T>(f: () => Promise<T>): Promise<BenchResult<T>> {
  try {
    return { ok: await f() };
  } catch (e) {
    const err = e as { message?: string; code?: string };
    return { error: { message: err?.message ?? String(e), ...(typeof err?.code === 'string' ? { code: err.code } : {}) } };
  }
}

// ---- Cria ----

let cria: { client: CriaClient; worker: Worker } | undefined;

function newCria(): { client: CriaClient; worker: Worker } {
  closeCria();
  const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module', name: 'cria-bench-engine' });
  cria = { client: createClient(worker), worker };
  return cria;
}

function closeCria(): void {
  cria?.worker.terminate();
  cria = undefined;
}

function needCria(): CriaClient {
  if (!cria) throw new Error('no Cria model loaded');
  return cria.client;
}

function gpuMemory(): Promise<GpuMemory> {
  const channel = new BroadcastChannel(GPU_MEMORY_CHANNEL);
  return new Promise<GpuMemory>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the GPU memory probe did not answer')), 5000);
    channel.onmessage = (e: MessageEvent<GpuMemory>) => {
      clearTimeout(timer);
      resolve(e.data);
    };
    channel.postMessage('query');
  }).finally(() => channel.close());
}

// ---- wllama ----

let wllama: Wllama | undefined;
const quiet = { debug: () => {}, log: () => {}, warn: () => {}, error: (...a: unknown[]) => console.error('[wllama]', ...a) };

function newWllama(): Wllama {
  return new Wllama({ default: wllamaWasm }, { suppressNativeLog: true, logger: quiet, parallelDownloads: 1 });
}

async function closeWllama(): Promise<void> {
  await wllama?.exit();
  wllama = undefined;
}

window.criaBench = {
  device: () =>
    result(async () => {
      const { client } = newCria();
      try {
        const info = await client.deviceInfo();
        const measurement = (await client.measureDevice()) as Awaited<ReturnType<CriaClient['measureDevice']>> & Record<string, unknown>;
        return { info, measurement };
      } finally {
        closeCria();
      }
    }),

  criaLoad: (url, cold) =>
    result(async () => {
      const { client } = newCria();
      if (cold) await client.cache.clear();
      const t0 = performance.now();
      const info = await client.load({ url, cache: true });
      const ms = performance.now() - t0;
      const expected = cold ? 'network' : 'cache';
      if (info.source !== expected) throw new Error(`a ${cold ? 'cold' : 'warm'} load came from "${info.source}", not "${expected}"`);
      return { ms, info };
    }),

  criaRun: (prompt, maxTokens) =>
    result(async () => {
      const client = needCria();
      const before = await client.stats();
      const c = await client.completions.create({ prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true });
      const after = await client.stats();
      const choice = c.choices[0];
      return {
        usage: c.usage,
        completionTokens: choice.token_ids.length,
        finishReason: choice.finish_reason,
        stats: {
          dispatches: after.dispatches - before.dispatches,
          submits: after.submits - before.submits,
          bytesReadBack: after.bytesReadBack - before.bytesReadBack,
          buffersCreated: after.buffersCreated - before.buffersCreated,
          tokensEvaluated: after.tokensEvaluated - before.tokensEvaluated,
        },
      };
    }),

  criaMemory: () => result(() => gpuMemory()),
  criaClose: () => result(async () => (closeCria(), true as const)),

  wllamaLoad: (url, cold, threads, nCtx) =>
    result(async () => {
      await closeWllama();
      const w = newWllama();
      if (cold) await w.cacheManager.clear();
      const t0 = performance.now();
      // n_gpu_layers 0: llama.cpp's CPU backend in WebAssembly (wllama 3 can also use WebGPU; not measured here)
      await w.loadModelFromUrl(url, { n_threads: threads, n_ctx: nCtx, n_gpu_layers: 0, useCache: true });
      const ms = performance.now() - t0;
      wllama = w;
      return { ms, threads: w.getNumThreads(), multithread: w.isMultithread(), crossOriginIsolated, libllama: Wllama.getLibllamaVersion() };
    }),

  wllamaRun: (prompt, maxTokens) =>
    result(async () => {
      if (!wllama) throw new Error('no wllama model loaded');
      const t0 = performance.now();
      // llama-server's request fields: token ids as the prompt, greedy, no prompt cache, EOS ignored
      const r = await wllama.createCompletion({
        prompt: prompt as unknown as string[],
        max_tokens: maxTokens,
        temperature: 0,
        ignore_eos: true,
        cache_prompt: false,
        stream: false,
      } as Parameters<Wllama['createCompletion']>[0] & { stream: false });
      const wallMs = performance.now() - t0;
      const t = r.timings;
      if (!t) throw new Error('wllama returned no timings');
      return { promptN: t.prompt_n, promptMs: t.prompt_ms, predictedN: t.predicted_n, predictedMs: t.predicted_ms, wallMs };
    }),

  wllamaClose: () => result(async () => (await closeWllama(), true as const)),
} satisfies BenchPage;

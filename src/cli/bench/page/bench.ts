/**
 * The page of `cria bench` (see api.ts for the contract). Three engines, never
 * running at the same time:
 * - Cria: the app's engine worker through the client, a new worker for every
 *   load (so a warm load is a later visit: IndexedDB filled, nothing else
 *   kept), with the GPU memory probe (gpu-memory.ts) inside; the same worker
 *   runs onnxruntime-web on the ONNX export of the model (`runtime: 'onnx'`);
 * - wllama (llama.cpp in WebAssembly): wllama-peer.ts;
 * - WebLLM's MLCEngine, on the MLC export of the model: webllm-peer.ts.
 */
import { createClient, type CriaClient } from '../../../client/index.ts';
import { GPU_MEMORY_CHANNEL, type BenchPage, type BenchResult, type CriaLoadResult, type GpuMemory } from './api.ts';

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

// ---- wllama (its own module, loaded on demand: a missing package fails only the wllama peer) ----

let wllamaPeer: Promise<typeof import('./wllama-peer.ts')> | undefined;
const wllama = () => (wllamaPeer ??= import('./wllama-peer.ts'));

// ---- WebLLM (its own module too: @mlc-ai/web-llm is 6 MB, loaded only when the webllm peer runs) ----

let webllmPeer: Promise<typeof import('./webllm-peer.ts')> | undefined;
const webllm = () => (webllmPeer ??= import('./webllm-peer.ts'));

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

  criaLoad: (url, cold, engine) =>
    result(async () => {
      const s0 = performance.now();
      const { client } = newCria();
      await client.stats(); // the worker is up and its engine answers
      const startMs = performance.now() - s0;
      if (cold) await client.cache.clear();
      const t0 = performance.now();
      const phaseStartMs: CriaLoadResult['phaseStartMs'] = {};
      const { runtime = 'cria', ...backend } = engine;
      const source = runtime === 'onnx' ? { onnx: { url } } : { url, cache: true };
      const info = await client.load(source, { ...backend, onProgress: (p) => (phaseStartMs[p.phase] ??= performance.now() - t0) });
      const ms = performance.now() - t0;
      if (info.runtime !== runtime) throw new Error(`asked for the ${runtime} runtime, the engine ran ${info.runtime}`);
      const expected = cold ? 'network' : 'cache';
      if (info.source !== expected) throw new Error(`a ${cold ? 'cold' : 'warm'} load came from "${info.source}", not "${expected}"`);
      if (info.backend.kind !== engine.backend) throw new Error(`asked for the ${engine.backend} backend, the engine runs ${info.backend.kind} (${info.backend.reason})`);
      return { ms, startMs, phaseStartMs, info };
    }),

  criaRun: (prompt, maxTokens, resetToken, schema) =>
    result(async () => {
      const client = needCria();
      await client.completions.create({ prompt: [resetToken], max_tokens: 1, temperature: 0, ignore_eos: true });
      const before = await client.stats();
      const c = await client.completions.create(
        schema
          ? { prompt, max_tokens: maxTokens, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'bench', schema } } }
          : { prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true },
      );
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
  criaClose: () =>
    result(async () => {
      // the model's cached copy counts against the origin's quota, which wllama's cache shares
      await cria?.client.cache.clear();
      closeCria();
      return true as const;
    }),

  wllamaLoad: (url, cold, threads, nCtx) => result(async () => (await wllama()).load(url, cold, threads, nCtx)),
  wllamaRun: (prompt, maxTokens, ban) => result(async () => (await wllama()).run(prompt, maxTokens, ban)),
  wllamaClose: () => result(async () => (wllamaPeer ? (await wllama()).close() : true)),

  webllmLoad: (modelUrl, libUrl, cold, nCtx) => result(async () => (await webllm()).load(modelUrl, libUrl, cold, nCtx)),
  webllmRun: (prompt, maxTokens) => result(async () => (await webllm()).run(prompt, maxTokens)),
  webllmClose: () => result(async () => (webllmPeer ? (await webllm()).close() : true)),
} satisfies BenchPage;

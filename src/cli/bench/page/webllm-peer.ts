/**
 * WebLLM (@mlc-ai/web-llm, the version Cria pins) in the bench page: its MLCEngine, directly (not
 * Cria's engine worker and its WebLLM runtime), on the MLC export of the bench's GGUF (webllm.ts) with
 * a prebuilt model library of the matching shape. A new engine per load; `cold` empties WebLLM's
 * Cache API storage first, so the weights and the library come from the bench's server.
 *
 * A request is stepped with WebLLM's own `forwardTokensAndSample(ids, isPrefill)`, the call its
 * chat and completions APIs make for every step: the prompt's token ids (Cria's tokenization, as
 * llama.cpp and onnxruntime-web get them) in one prefill step, then one-token steps, each returning
 * the token WebLLM sampled (greedy: temperature 0; WebLLM 0.2.79 reads every step's logits back
 * and samples on the CPU). End-of-generation tokens do not stop it. The KV cache is emptied first
 * (`resetChat`), so all of the prompt is evaluated. Timed here, with the page's clock, as Cria's
 * engine times its own steps: the prefill step until its token is known, then the N − 1 steps after it.
 */
import type { MLCEngine } from '@mlc-ai/web-llm';
import { SCOPES } from '../../../runtimes/webllm/cache.ts';
import type { WebllmLoadResult, WebllmRunResult } from './api.ts';

const MODEL_ID = 'cria-bench-mlc';
let engine: MLCEngine | undefined;

/** WebLLM's storage in this origin: the model's files, its chat config, the model library */
async function emptyStorage(): Promise<void> {
  for (const scope of [SCOPES.model, SCOPES.config, SCOPES.wasm]) await caches.delete(scope);
}

export async function close(): Promise<true> {
  await engine?.unload();
  engine = undefined;
  await emptyStorage();
  return true;
}

export async function load(modelUrl: string, libUrl: string, cold: boolean, nCtx: number): Promise<WebllmLoadResult> {
  await engine?.unload();
  engine = undefined;
  const { MLCEngine } = await import('@mlc-ai/web-llm');
  if (cold) await emptyStorage();
  const e = new MLCEngine({ appConfig: { model_list: [{ model: modelUrl, model_id: MODEL_ID, model_lib: libUrl }] }, logLevel: 'WARN' });
  const t0 = performance.now();
  // greedy, no penalties: WebLLM's sampler then takes the argmax
  await e.reload(MODEL_ID, { context_window_size: nCtx, temperature: 0, top_p: 1, repetition_penalty: 1, presence_penalty: 0, frequency_penalty: 0 });
  const ms = performance.now() - t0;
  engine = e;
  return { ms, gpuVendor: await e.getGPUVendor() };
}

export async function run(prompt: number[], maxTokens: number): Promise<WebllmRunResult> {
  const e = engine;
  if (!e) throw new Error('no WebLLM model loaded');
  if (prompt.length === 0 || maxTokens < 1) throw new Error('a WebLLM request needs a prompt and at least one token to generate');
  await e.resetChat(false);
  const t0 = performance.now();
  let token = await e.forwardTokensAndSample(prompt, true);
  const prefillMs = performance.now() - t0;
  const tokens = [token];
  const t1 = performance.now();
  while (tokens.length < maxTokens) {
    token = await e.forwardTokensAndSample([token], false);
    tokens.push(token);
  }
  const decodeMs = performance.now() - t1;
  return { promptTokens: prompt.length, prefillMs, decodeMs, tokens };
}

/**
 * The WebLLM runtime in the engine's worker, through the client (driven by test/gpu/webllm.spec.ts):
 * load MLC weights and their model library by URL, then a greedy continuation of a prompt with the
 * top log-probabilities of each step; the progress seen, the cache list, and a delete.
 */
import { createClient, type LoadProgress } from '../../../src/client/index.ts';

const client = createClient();

const api = {
  async run(model: string, modelLib: string, prompt: number[], greedy: number) {
    const phases: LoadProgress['phase'][] = [];
    try {
      const t0 = performance.now();
      const info = await client.load({ mlc: { model, modelLib, name: 'qwen-mlc' } }, { onProgress: (p) => void (phases[phases.length - 1] !== p.phase && phases.push(p.phase)) });
      const loadMs = performance.now() - t0;
      const r = await client.completions.create({ prompt, max_tokens: greedy, temperature: 0, logprobs: true, top_logprobs: 5 });
      const cached = await client.cache.list();
      return { info, loadMs, phases, tokens: r.choices[0].token_ids ?? [], logprobs: r.choices[0].logprobs?.content ?? [], usage: r.usage, cached, error: null };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return { info: null, loadMs: 0, phases, tokens: [] as number[], logprobs: [], usage: null, cached: [], error: { code: err.code ?? null, message: err.message ?? String(e) } };
    }
  },
  async remove(id: string) {
    await client.cache.delete(id);
    return client.cache.list();
  },
};

declare global {
  interface Window {
    criaWebllm?: typeof api;
  }
}
window.criaWebllm = api;

/** Load a source and report only the outcome: the error (code, message), what the cache lists after. */
export async function tryLoad(source: unknown, backend?: 'auto' | 'webgpu' | 'wasm') {
  try {
    const info = await client.load(source as never, backend ? { backend } : {});
    return { info, error: null, cached: await client.cache.list() };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { info: null, error: { code: err.code ?? null, message: err.message ?? String(e) }, cached: await client.cache.list() };
  }
}
window.criaWebllmTry = tryLoad;
declare global {
  interface Window {
    criaWebllmTry?: typeof tryLoad;
  }
}

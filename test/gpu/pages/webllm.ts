/**
 * The WebLLM runtime in the engine's worker, through the client (driven by test/gpu/webllm.spec.ts):
 * load MLC weights and their model library by URL, then a greedy continuation of a prompt with the
 * top log-probabilities of each step and a continuation scored after the prompt (`score`, what the Eval
 * page's multiple-choice and perplexity tasks use); the progress seen, the cache list, and a delete.
 */
import { createClient, type LoadProgress } from '../../../src/client/index.ts';

const client = createClient();

const api = {
  async run(model: string, modelLib: string, prompt: number[], greedy: number, continuation: number[]) {
    const phases: LoadProgress['phase'][] = [];
    try {
      const t0 = performance.now();
      const info = await client.load({ mlc: { model, modelLib, name: 'qwen-mlc' } }, { onProgress: (p) => void (phases[phases.length - 1] !== p.phase && phases.push(p.phase)) });
      const loadMs = performance.now() - t0;
      const r = await client.completions.create({ prompt, max_tokens: greedy, temperature: 0, logprobs: true, top_logprobs: 5 });
      // the Eval page's multiple-choice and perplexity path: the continuation scored after the prompt
      const scored = await client.score({ context: prompt, continuation });
      const cached = await client.cache.list();
      return { info, loadMs, phases, tokens: r.choices[0].token_ids ?? [], logprobs: r.choices[0].logprobs?.content ?? [], usage: r.usage, scored, cached, error: null };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return { info: null, loadMs: 0, phases, tokens: [] as number[], logprobs: [], usage: null, scored: null, cached: [], error: { code: err.code ?? null, message: err.message ?? String(e) } };
    }
  },
  /** load a cached model again (the test stops the server first): where the weights came from */
  async again(id: string) {
    try {
      const info = await client.load({ cached: id });
      return { info, error: null };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return { info: null, error: { code: err.code ?? null, message: err.message ?? String(e) } };
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

/** A load that can be stopped half-way (its outcome read later), and what WebLLM's Cache API scopes hold. */
let pending: { ctrl: AbortController; outcome: Promise<{ error: { code: string | null; message: string } | null; phases: LoadProgress[] }> } | undefined;
const extra = {
  start(source: unknown) {
    const ctrl = new AbortController();
    const seen: LoadProgress[] = [];
    const outcome = client
      .load(source as never, { signal: ctrl.signal, onProgress: (p) => void seen.push(p) })
      .then(() => ({ error: null, phases: seen }))
      .catch((e: { code?: string; message?: string }) => ({ error: { code: e.code ?? null, message: e.message ?? String(e) }, phases: seen }));
    pending = { ctrl, outcome };
  },
  stop() {
    pending?.ctrl.abort();
  },
  outcome() {
    return pending!.outcome;
  },
  list: () => client.cache.list(),
  /** keys under `prefix` in each WebLLM scope (and Cria's record scope) */
  async keys(prefix: string) {
    const out: Record<string, number> = {};
    for (const scope of ['webllm/config', 'webllm/model', 'webllm/wasm', 'cria/mlc']) {
      const c = await caches.open(scope);
      out[scope] = (await c.keys()).filter((k) => k.url.startsWith(prefix) || (scope === 'cria/mlc' && decodeURIComponent(k.url).includes(prefix))).length;
    }
    return out;
  },
};
window.criaWebllmExtra = extra;
declare global {
  interface Window {
    criaWebllmExtra?: typeof extra;
  }
}

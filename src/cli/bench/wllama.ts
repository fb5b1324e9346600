/**
 * wllama (llama.cpp in WebAssembly, @wllama/wllama) in the bench page: CPU
 * only, multi-threaded (the page is cross-origin isolated), on the same file,
 * with the same prompts (as text: wllama 3 takes no token ids; the count of
 * evaluated tokens is checked), greedy, end-of-generation ignored, no prompt
 * cache. Its figures are
 * llama-server's own timings (wllama 3 runs llama-server's context): prompt_ms
 * until the first token, predicted_ms for the N − 1 steps after it.
 */
import { CriaError } from '../../shared/errors.ts';
import type { BenchBrowser } from './browser.ts';
import { unwrap } from './cria.ts';
import type { EngineRaw, RawRun } from './figures.ts';
import type { BenchPlan } from './plan.ts';
import type { BenchPrompt } from './prompt.ts';
import { packageVersion } from './versions.ts';

/** The installed @wllama/wllama's version, or a clear error when it is missing. */
export function wllamaVersion(): string {
  const version = packageVersion('@wllama/wllama');
  if (version) return version;
  throw new CriaError('bad-argument', '@wllama/wllama is not installed (it is a devDependency of Cria: run `npm install`), or leave wllama out of --peers');
}

export async function benchWllama(b: BenchBrowser, plan: BenchPlan, threads: number, nCtx: number, log: (s: string) => void): Promise<EngineRaw> {
  const version = wllamaVersion();
  const loads = { coldMs: [] as number[], warmMs: [] as number[] };
  let loaded = { threads: 0, multithread: false, crossOriginIsolated: false, libllama: '' };
  for (let r = 0; r < plan.loadRuns; r++) {
    const cold = unwrap(await b.call('wllamaLoad', b.modelUrl, true, threads, nCtx), 'cold load');
    loads.coldMs.push(cold.ms);
    const warm = unwrap(await b.call('wllamaLoad', b.modelUrl, false, threads, nCtx), 'warm load');
    loads.warmMs.push(warm.ms);
    loaded = warm;
    log(`wllama: load ${r + 1}/${plan.loadRuns}: cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms (${warm.threads} threads)`);
  }
  const notes: string[] = plan.notUtf8.length
    ? [`${plan.notUtf8.length} tokens that are not UTF-8 on their own were banned from its output (llama-server's JSON cannot carry them; random-weight models generate them); still N greedy tokens`]
    : [];
  if (threads > 1 && !loaded.multithread) notes.push(`ran single-threaded (cross-origin isolated: ${loaded.crossOriginIsolated})`);
  const run = async (prompt: BenchPrompt, maxTokens: number, what: string) => {
    const res = unwrap(await b.call('wllamaRun', prompt.text, maxTokens, plan.notUtf8), what);
    const n = prompt.ids.length;
    if (res.promptN !== n) throw new CriaError('internal', `${what}: wllama evaluated ${res.promptN} prompt tokens, not ${n} (its tokenization differs, or it reused a cached prefix)`);
    if (res.predictedN !== maxTokens) throw new CriaError('internal', `${what}: wllama generated ${res.predictedN} tokens, not ${maxTokens}`);
    return res;
  };
  await run(plan.warmup.prompt, plan.warmup.maxTokens, 'warm-up');
  const runs: RawRun[] = [];
  for (let r = 0; r < plan.runs; r++) {
    const p = plan.prompts[r];
    const prefill = [];
    for (const prompt of p.prefill) {
      const res = await run(prompt, 1, `prefill of ${prompt.ids.length}`);
      prefill.push({ tokens: prompt.ids.length, ms: res.promptMs });
      log(`wllama: run ${r + 1}/${plan.runs}: first token after ${prompt.ids.length} prompt tokens in ${res.promptMs.toFixed(0)} ms`);
    }
    const d = await run(p.decode, plan.decode, `decode of ${plan.decode}`);
    runs.push({ prefill, decode: { tokens: plan.decode, steps: plan.decode - 1, ms: d.predictedMs } });
    log(`wllama: run ${r + 1}/${plan.runs}: ${plan.decode} tokens decoded, ${((1000 * (plan.decode - 1)) / d.predictedMs).toFixed(2)} tok/s`);
  }
  unwrap(await b.call('wllamaClose'), 'close');
  return { version: `${version} (llama.cpp ${loaded.libllama})`, threads: loaded.multithread ? loaded.threads : 1, loads, runs, notes };
}

/**
 * Cria in the bench page: cold and warm loads (a new engine worker each),
 * then the plan's requests on the last one, the structure per decoded token
 * and the peak GPU memory (gpu-memory.ts).
 */
import { CriaError } from '../../shared/errors.ts';
import type { BenchBrowser } from './browser.ts';
import { structurePerToken, type EngineRaw, type RawRun } from './figures.ts';
import type { BenchResult, CriaRunResult } from './page/api.ts';
import type { BenchPlan } from './plan.ts';

export function unwrap<T>(r: BenchResult<T>, what: string): T {
  if ('error' in r) throw new CriaError((r.error.code as never) ?? 'internal', `${what}: ${r.error.message}`);
  return r.ok;
}

export async function benchCria(b: BenchBrowser, plan: BenchPlan, nLayer: number, version: string, log: (s: string) => void): Promise<EngineRaw> {
  const loads = { coldMs: [] as number[], warmMs: [] as number[] };
  for (let r = 0; r < plan.runs; r++) {
    const cold = unwrap(await b.call('criaLoad', b.modelUrl, true), 'cold load');
    loads.coldMs.push(cold.ms);
    const warm = unwrap(await b.call('criaLoad', b.modelUrl, false), 'warm load');
    loads.warmMs.push(warm.ms);
    log(`cria: load ${r + 1}/${plan.runs}: cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms`);
  }
  const run = async (prompt: number[], maxTokens: number, what: string): Promise<CriaRunResult> => {
    const res = unwrap(await b.call('criaRun', prompt, maxTokens), what);
    if (res.usage.prefill_tokens !== prompt.length) throw new CriaError('internal', `${what}: Cria evaluated ${res.usage.prefill_tokens} of the ${prompt.length} prompt tokens (a reused prefix?)`);
    if (res.completionTokens !== maxTokens) throw new CriaError('internal', `${what}: Cria generated ${res.completionTokens} tokens, not ${maxTokens} (${res.finishReason})`);
    return res;
  };
  await run(plan.warmup.prompt, plan.warmup.maxTokens, 'warm-up');

  const runs: RawRun[] = [];
  let structure: EngineRaw['structure'];
  for (let r = 0; r < plan.runs; r++) {
    const p = plan.prompts[r];
    const prefill = [];
    let short: CriaRunResult | undefined;
    for (const [i, prompt] of p.prefill.entries()) {
      // the first length generates 2 tokens: with the decode run, it gives the structure per step
      const res = await run(prompt, i === 0 && plan.decode > 2 ? 2 : 1, `prefill of ${prompt.length}`);
      if (i === 0) short = res;
      prefill.push({ tokens: prompt.length, ms: res.usage.time_to_first_token_ms });
      log(`cria: run ${r + 1}/${plan.runs}: first token after ${prompt.length} prompt tokens in ${res.usage.time_to_first_token_ms.toFixed(0)} ms`);
    }
    const d = await run(p.decode, plan.decode, `decode of ${plan.decode}`);
    const u = d.usage;
    const decodeMs = u.decode_tokens_per_s > 0 ? (1000 * u.completion_tokens) / u.decode_tokens_per_s : NaN; // the engine's decode time: N − 1 steps
    runs.push({ prefill, decode: { tokens: plan.decode, steps: plan.decode - 1, ms: decodeMs } });
    log(`cria: run ${r + 1}/${plan.runs}: ${plan.decode} tokens decoded, ${((1000 * (plan.decode - 1)) / decodeMs).toFixed(2)} tok/s`);
    if (short && plan.decode > 2) structure = structurePerToken(short.stats, d.stats, plan.decode - 2, nLayer);
  }
  const memory = unwrap(await b.call('criaMemory'), 'GPU memory');
  unwrap(await b.call('criaClose'), 'close');
  return { version, loads, runs, gpuPeakBytes: memory.peakBytes, structure };
}

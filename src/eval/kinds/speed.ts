/**
 * Speed: load time, time to first token, prefill and decode tokens/s of a fixed prompt.
 *
 * Each item is one measurement: the prompt is tokenized and cut to `prompt_tokens` (default 128)
 * and to what the context leaves after `max_tokens`, then completed greedily with
 * end-of-generation ignored, so every run decodes exactly `max_tokens`. Before each run a
 * one-token request with a different first token empties the engine's prefix cache, so the
 * whole prompt is evaluated every time. The figures are the engine's own (`usage`): prefill
 * tokens/s over the prompt tokens evaluated, decode tokens/s over the generated ones, TTFT from
 * the request's start to the first token. load_ms is the model's load time (modelInfo().loadMs).
 *
 * Metrics are medians over the items that are not warm-ups (a warm-up's result has category
 * "warmup"); `speedTask` makes one warm-up and five measured runs.
 */
import { CriaError } from '../../shared/errors.ts';
import type { ItemResult, SpeedItem, Task } from '../types.ts';
import { median } from '../stats.ts';
import { checkItems, type ItemKind } from './kind.ts';

export const DEFAULT_SPEED_PROMPT =
  'The following is a short description of how a mountain village prepares for winter. Every family gathers wood from the forest, ' +
  'dries apples and mushrooms, and checks the roofs of the houses and the barns. The children help carry water from the well, ' +
  'and the old people tell stories about the long winters of the past, when snow covered the doors and the road to the valley ' +
  'was closed for weeks. In the evening, everyone meets in the square to share food and to plan the work of the next day.';

/** A speed task: one warm-up and `runs` measured runs of the same prompt. */
export function speedTask(opts: { prompt?: string; promptTokens?: number; maxTokens?: number; runs?: number } = {}): Task {
  const base = { prompt: opts.prompt ?? DEFAULT_SPEED_PROMPT, prompt_tokens: opts.promptTokens ?? 128, max_tokens: opts.maxTokens ?? 64 };
  const runs = opts.runs ?? 5;
  const items: SpeedItem[] = [{ id: 'warmup', ...base, warmup: true }, ...Array.from({ length: runs }, (_, i) => ({ id: `run-${i + 1}`, ...base }))];
  return { name: 'speed', version: '1', kind: 'speed', source: 'built-in prompt', items };
}

export const speed: ItemKind<SpeedItem> = {
  async units(task) {
    return checkItems<SpeedItem>(task.items, 'speed', (i) => (typeof i.prompt !== 'string' || i.prompt === '' ? 'it needs a prompt' : !(Number.isInteger(i.max_tokens) && i.max_tokens > 0) ? 'max_tokens must be a positive whole number' : undefined));
  },

  async run(item, { target, signal, loadMs }) {
    const info = await target.modelInfo();
    if (!info) throw new CriaError('bad-argument', 'no model is loaded');
    const ids = await target.tokenize(item.prompt, { add_special: true });
    const n = Math.min(ids.length, item.prompt_tokens ?? ids.length, info.nCtx - item.max_tokens);
    if (n < 1) throw new CriaError('context-overflow', `max_tokens ${item.max_tokens} leaves no room for a prompt in a context of ${info.nCtx}`);
    const prompt = ids.slice(0, n);
    // a request that starts differently: the next prompt shares no cached prefix with anything
    await target.complete({ prompt: [prompt[0] === 0 ? 1 : 0], max_tokens: 1, temperature: 0 }, { signal });
    const r = await target.complete({ prompt, max_tokens: item.max_tokens, temperature: 0, ignore_eos: true }, { signal });
    const u = r.usage;
    return {
      id: item.id,
      ...(item.warmup ? { category: 'warmup' } : {}),
      speed: {
        loadMs: loadMs ?? info.loadMs,
        ttftMs: u.time_to_first_token_ms,
        prefillTps: u.prefill_tokens_per_s,
        decodeTps: u.decode_tokens_per_s,
        promptTokens: u.prefill_tokens ?? u.prompt_tokens,
        genTokens: u.completion_tokens,
      },
    };
  },

  aggregate(results: readonly ItemResult[]) {
    const ok = results.filter((r) => r.speed && !r.error && r.category !== 'warmup');
    const med = (f: (s: NonNullable<ItemResult['speed']>) => number | undefined) => median(ok.map((r) => f(r.speed!)).filter((x): x is number => typeof x === 'number'));
    return {
      metrics: ok.length
        ? {
            load_ms: med((s) => s.loadMs),
            ttft_ms: med((s) => s.ttftMs),
            prefill_tokens_per_s: med((s) => s.prefillTps),
            decode_tokens_per_s: med((s) => s.decodeTps),
            prompt_tokens: med((s) => s.promptTokens),
            gen_tokens: med((s) => s.genTokens),
            errors: results.length - results.filter((r) => !r.error).length,
          }
        : { errors: results.length },
      per_category: {},
    };
  },
};

/**
 * Multiple choice, lm-evaluation-harness style: for each choice, the sum of the log-probabilities
 * of its tokens after the shared context (score(): context and continuation are tokenized
 * together and split where the context's own tokens end, as lm-eval does).
 *
 *   acc      = [argmax_i Σ logprob(choice_i) = gold]
 *   acc_norm = [argmax_i Σ logprob(choice_i) / characters(choice_i) = gold]
 *     (lm-eval's `len(choice)`: Unicode code points, not UTF-8 bytes; `bytes` is kept in the result too)
 *   *_stderr = sample standard deviation / √n
 *
 * The choices of one question are scored one after another with the same context, so the engine
 * evaluates the context once and keeps it cached: each further choice costs its own tokens plus
 * one (the context's last token, re-fed because its logits predict the continuation). The
 * runner records the forward tokens each item cost (`tokensEvaluated`).
 *
 * Context and choice are cut as lm-eval cuts them (the engine's `score`: the last n_ctx + 1 tokens,
 * all but the last fed); only a choice longer than the whole context is recorded with an error
 * (context-overflow) and left out of the metrics.
 */
import type { ChoiceItem, ItemResult } from '../types.ts';
import { argmax, codePoints, groupBy, mean, stderr, utf8Bytes } from '../stats.ts';
import { checkItems, type Aggregate, type ItemKind, type KindContext } from './kind.ts';

/** Score each continuation after one context, in order (the context stays cached between them). */
export async function scoreChoices(ctx: KindContext, context: string, continuations: readonly string[]): Promise<{ logprobs: number[]; greedy: boolean[] }> {
  const logprobs: number[] = [];
  const greedy: boolean[] = [];
  for (const continuation of continuations) {
    const r = await ctx.target.score({ context, continuation }, { signal: ctx.signal });
    logprobs.push(r.sum);
    greedy.push(r.greedy);
  }
  return { logprobs, greedy };
}

/** What makes a choice item unrunnable (undefined when it is fine). */
export function choiceItemProblem(item: ChoiceItem, needContext: boolean): string | undefined {
  if (!Array.isArray(item.choices) || item.choices.length < 2) return 'it needs at least 2 choices';
  if (item.choices.some((c) => typeof c !== 'string' || c === '')) return 'every choice must be a non-empty string';
  if (!Number.isInteger(item.gold) || item.gold < 0 || item.gold >= item.choices.length) return `gold ${item.gold} is not the index of a choice`;
  if (needContext ? typeof item.context !== 'string' : typeof (item.question ?? item.context) !== 'string') return needContext ? 'it has no context' : 'it has no question';
  return undefined;
}

export const multipleChoice: ItemKind<ChoiceItem> = {
  async units(task) {
    return checkItems<ChoiceItem>(task.items, 'multiple-choice', (i) => choiceItemProblem(i, true));
  },

  async run(item, ctx) {
    const { logprobs, greedy } = await scoreChoices(ctx, item.context, item.choices);
    const bytes = item.choices.map(utf8Bytes);
    const chars = item.choices.map(codePoints);
    return {
      id: item.id,
      category: item.category,
      choice: { logprobs, bytes, chars, pred: argmax(logprobs), predNorm: argmax(logprobs.map((l, i) => l / Math.max(1, chars[i]))), gold: item.gold, greedy },
    };
  },

  aggregate(results) {
    return choiceAggregate(results, true);
  },
};

/** acc (and acc_norm) with standard errors, overall and per category. */
export function choiceAggregate(results: readonly ItemResult[], withNorm: boolean): Aggregate {
  const ok = results.filter((r) => r.choice && !r.error);
  const metrics = (rs: readonly ItemResult[]) => {
    const acc = rs.map((r) => (r.choice!.pred === r.choice!.gold ? 1 : 0));
    const out: Record<string, number> = { acc: mean(acc), acc_stderr: stderr(acc) };
    if (withNorm) {
      const norm = rs.map((r) => (r.choice!.predNorm === r.choice!.gold ? 1 : 0));
      out.acc_norm = mean(norm);
      out.acc_norm_stderr = stderr(norm);
    }
    return out;
  };
  const per_category: Aggregate['per_category'] = {};
  for (const [c, rs] of groupBy(ok, (r) => r.category)) per_category[c] = { n: rs.length, ...metrics(rs) };
  return { metrics: { ...(ok.length ? metrics(ok) : {}), errors: results.length - ok.length }, per_category };
}

/**
 * Single-answer grading (FastChat llm_judge "single"): contestant A answers every question, then
 * the judge rates each turn 1–10 (see judge-common.ts for prompts and parsing).
 *
 * Metrics: score = mean rating over every parsed turn (FastChat's MT-bench score), with its
 * standard error; score_turn_1 / score_turn_2; verdicts = judge outputs; unparseable = those
 * without a rating (kept as raw text in the results); constrained_verdicts = those asked under the
 * verdict's grammar (judge-verdict.ts). per_category: mean rating per category.
 */
import type { ItemResult } from '../types.ts';
import { groupBy, mean, stderr } from '../stats.ts';
import { constrainedCount, gradeSingle, judgementErrors, type JudgedKind } from './judge-common.ts';
import type { Aggregate } from './kind.ts';

function ratingsOf(r: ItemResult): number[] {
  return (r.judge?.ratings ?? []).filter((x): x is number => x !== null);
}

export const judgeSingle: JudgedKind = {
  contestants: ['A'],

  async judge(item, answers, ctx) {
    const a = answers.A!;
    const judgements = await gradeSingle(item, a.answers, 'A', ctx);
    return {
      id: item.id,
      category: item.category,
      judge: {
        answers: a.answers,
        ratings: judgements.map((j) => j.parsed as number | null),
        verdicts: judgements.map((j) => j.raw),
        judgements,
        errors: [...a.errors, ...judgementErrors(judgements)],
      },
    };
  },

  aggregate(results) {
    const ok = results.filter((r) => r.judge && !r.error);
    const all = ok.flatMap(ratingsOf);
    const verdicts = ok.reduce((n, r) => n + (r.judge!.ratings?.length ?? 0), 0);
    const constrained_verdicts = constrainedCount(ok.flatMap((r) => r.judge!.judgements ?? []));
    const metrics: Aggregate['metrics'] = { score: mean(all), score_stderr: stderr(all), verdicts, unparseable: verdicts - all.length, constrained_verdicts, errors: results.length - ok.length };
    for (let t = 0; t < 2; t++) {
      const xs = ok.map((r) => r.judge!.ratings?.[t]).filter((x): x is number => typeof x === 'number');
      if (xs.length) metrics[`score_turn_${t + 1}`] = mean(xs);
    }
    const per_category: Aggregate['per_category'] = {};
    for (const [c, rs] of groupBy(ok, (r) => r.category)) {
      const xs = rs.flatMap(ratingsOf);
      per_category[c] = { n: rs.length, score: mean(xs), unparseable: rs.reduce((n, r) => n + (r.judge!.ratings?.length ?? 0), 0) - xs.length };
    }
    return { metrics, per_category };
  },
};

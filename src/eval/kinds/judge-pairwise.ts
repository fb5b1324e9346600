/**
 * Pairwise comparison (FastChat llm_judge "pairwise"): contestants A and B answer every question,
 * then the judge compares them turn by turn TWICE, once with A's answer shown as "Assistant A"
 * and once with the order swapped (B's answer as "Assistant A"). Both verdicts are mapped back to
 * the contestants; when they agree that is the outcome, when they disagree it is a tie (as
 * FastChat counts "inconsistent"), and when either cannot be parsed the turn is undecided
 * (FastChat drops such rows) and counted.
 *
 * With option `relative` (default true) the judge also grades each answer alone (single-v1 /
 * single-math-v1, 1–10), for the Vicuna evaluation's relative score: "A reaches X% of B" =
 * Σ A's ratings / Σ B's ratings over the turns where both were parsed (relative_score is the
 * ratio; ×100 for percent).
 *
 * Metrics: win_rate / tie_rate / loss_rate of A over decided turns, decided, undecided,
 * inconsistent (the two orders disagreed), verdicts (judge outputs), unparseable (judge outputs
 * without a verdict or rating), constrained_verdicts (judge outputs asked under the verdict's
 * grammar, judge-verdict.ts), and with `relative`: score (A), score_b, relative_score.
 * per_category: the same rates and relative score per category.
 */
import type { ItemResult, Judgement } from '../types.ts';
import { groupBy, mean } from '../stats.ts';
import { askJudge, constrainedCount, gradeSingle, judgePrompts, judgementErrors, pairVars, parsePairVerdict, pickPrompt, type JudgedKind } from './judge-common.ts';
import { opt, type Aggregate } from './kind.ts';

const swap = (v: 'A' | 'B' | 'tie' | null) => (v === 'A' ? 'B' : v === 'B' ? 'A' : v);

export const judgePairwise: JudgedKind = {
  contestants: ['A', 'B'],

  async judge(item, answers, ctx) {
    const a = answers.A!;
    const b = answers.B!;
    const prompts = judgePrompts(ctx.task);
    const judgements: Judgement[] = [];
    const pairwise: NonNullable<NonNullable<ItemResult['judge']>['pairwise']> = [];
    for (let t = 0; t < item.turns.length; t++) {
      const p = pickPrompt(prompts, 'pairwise', item, t);
      const first = await askJudge(p, pairVars(item, a.answers, b.answers, t), ctx, 'pairwise');
      const ab = parsePairVerdict(first.raw);
      const second = await askJudge(p, pairVars(item, b.answers, a.answers, t), ctx, 'pairwise');
      const ba = swap(parsePairVerdict(second.raw));
      judgements.push({ turn: t, mode: 'pair-AB', prompt: p.name, raw: first.raw, parsed: ab, constrained: first.constrained, ...(first.error ? { error: first.error } : {}) });
      judgements.push({ turn: t, mode: 'pair-BA', prompt: p.name, raw: second.raw, parsed: ba, constrained: second.constrained, ...(second.error ? { error: second.error } : {}) });
      pairwise.push({ ab, ba, outcome: ab === null || ba === null ? null : ab === ba ? ab : 'tie' });
    }
    let ratings: (number | null)[] | undefined;
    let ratingsB: (number | null)[] | undefined;
    if (opt(ctx.task, 'relative', true)) {
      const ga = await gradeSingle(item, a.answers, 'A', ctx);
      const gb = await gradeSingle(item, b.answers, 'B', ctx);
      judgements.push(...ga, ...gb);
      ratings = ga.map((j) => j.parsed as number | null);
      ratingsB = gb.map((j) => j.parsed as number | null);
    }
    return {
      id: item.id,
      category: item.category,
      judge: {
        answers: a.answers,
        answersB: b.answers,
        pairwise,
        ...(ratings ? { ratings, ratingsB } : {}),
        verdicts: judgements.map((j) => j.raw),
        judgements,
        errors: [...a.errors, ...b.errors, ...judgementErrors(judgements)],
      },
    };
  },

  aggregate(results) {
    const ok = results.filter((r) => r.judge && !r.error);
    const summarize = (rs: readonly ItemResult[]) => {
      const turns = rs.flatMap((r) => r.judge!.pairwise ?? []);
      const decided = turns.filter((x) => x.outcome !== null);
      const n = decided.length;
      const out: Record<string, number> = {
        win_rate: n ? decided.filter((x) => x.outcome === 'A').length / n : NaN,
        tie_rate: n ? decided.filter((x) => x.outcome === 'tie').length / n : NaN,
        loss_rate: n ? decided.filter((x) => x.outcome === 'B').length / n : NaN,
        decided: n,
        undecided: turns.length - n,
        inconsistent: decided.filter((x) => x.ab !== x.ba).length,
      };
      // relative score over turns where both single grades were parsed
      let sa = 0;
      let sb = 0;
      let both = 0;
      const aAll: number[] = [];
      const bAll: number[] = [];
      for (const r of rs) {
        const ra = r.judge!.ratings ?? [];
        const rb = r.judge!.ratingsB ?? [];
        ra.forEach((x) => x !== null && aAll.push(x));
        rb.forEach((x) => x !== null && bAll.push(x));
        for (let t = 0; t < Math.min(ra.length, rb.length); t++) {
          if (ra[t] !== null && rb[t] !== null) {
            sa += ra[t]!;
            sb += rb[t]!;
            both++;
          }
        }
      }
      if (rs.some((r) => r.judge!.ratings)) {
        out.score = mean(aAll);
        out.score_b = mean(bAll);
        out.relative_score = both && sb > 0 ? sa / sb : NaN;
      }
      return out;
    };
    const judgements = ok.flatMap((r) => r.judge!.judgements ?? []);
    const metrics: Aggregate['metrics'] = {
      ...summarize(ok),
      verdicts: judgements.length,
      unparseable: judgements.filter((j) => j.parsed === null).length,
      constrained_verdicts: constrainedCount(judgements),
      errors: results.length - ok.length,
    };
    const per_category: Aggregate['per_category'] = {};
    for (const [c, rs] of groupBy(ok, (r) => r.category)) per_category[c] = { n: rs.length, ...summarize(rs) };
    return { metrics, per_category };
  },
};

/**
 * The judge's verdict constrained by a grammar (src/eval/kinds/judge-verdict.ts; task option
 * constrain_verdict, default true), with the CPU reference running stories260K as contestant and
 * judge on three MT-bench questions (writing, roleplay, math with its reference). A model this
 * small never writes "[[rating]]" by itself (eval-judge.test.ts: every verdict unparseable); under
 * the grammar every verdict parses, also when the judge's budget is lowered to the room its
 * context leaves, and the reports say how many verdicts were constrained.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { judgeTask, parseJudgePrompts, parseJudgeQuestions, parseReferenceAnswers } from '../../src/eval/data/judge-bench.ts';
import { parsePairVerdict, parseRating } from '../../src/eval/kinds/judge-common.ts';
import { reasoningBudget, verdictGrammar } from '../../src/eval/kinds/judge-verdict.ts';
import { runTask, type ModelRole } from '../../src/eval/runner.ts';
import { reportToCsv } from '../../src/eval/report.ts';
import { fromClient } from '../../src/eval/target.ts';
import type { EvalTarget, Task } from '../../src/eval/types.ts';
import { Engine } from '../../src/engine/engine.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { engineClient, rewriteGguf, STORIES } from './helpers/eval-engine.ts';
import { MemoryEvalStore } from './helpers/eval-memory-store.ts';

const read = (p: string) => readFileSync(fixturePath(`eval/mt_bench/${p}`), 'utf8');
const QUESTIONS = parseJudgeQuestions(read('question.jsonl')).filter((q) => ['81', '91', '111'].includes(q.id));
const REFS = parseReferenceAnswers(read('reference_answer_gpt-4.jsonl'));
const PROMPTS = parseJudgePrompts(read('judge_prompts.jsonl'));

function task(kind: 'judge-single' | 'judge-pairwise', options: Record<string, unknown>, ids = ['81', '91', '111']): Task {
  return judgeTask({ name: `mt-bench-${kind}`, kind, questions: QUESTIONS.filter((q) => ids.includes(q.id)), references: REFS, judgePrompts: PROMPTS, source: 'fixture', options });
}

interface JudgeCall {
  max_tokens: number;
  grammar?: string;
  text?: string;
  finish_reason?: string;
  completion_tokens?: number;
  error?: string;
}

/** One CPU engine, loaded with stories260K for each role; the judge's calls recorded. */
function harness(bytes: ArrayBuffer) {
  const engine = new Engine({ createBackend: async () => new CpuBackend() });
  const client = engineClient(engine);
  const judgeCalls: JudgeCall[] = [];
  const loadModel = async (role: ModelRole): Promise<EvalTarget> => {
    await client.load({ bytes: bytes.slice(0), name: `stories260K-${role}` });
    const t = fromClient(client);
    if (role !== 'judge') return t;
    return {
      ...t,
      chat: async (req, o) => {
        const call: JudgeCall = { max_tokens: req.max_tokens, ...(req.grammar !== undefined ? { grammar: req.grammar } : {}) };
        judgeCalls.push(call);
        try {
          const out = await t.chat(req, o);
          Object.assign(call, { text: out.text, finish_reason: out.finish_reason, completion_tokens: out.usage.completion_tokens });
          return out;
        } catch (e) {
          call.error = (e as { code?: string }).code;
          throw e;
        }
      },
    };
  };
  return { loadModel, judgeCalls };
}

describe('the verdict grammar', () => {
  it('is the parsers\' format: reasoning without brackets or newlines, bounded so the verdict fits the budget', () => {
    expect(verdictGrammar('single', 24)).toBe('root ::= reason "[[" verdict "]]"\nreason ::= [\\x20-\\x5A\\x5C\\x5E-\\x7E]{0,18}\nverdict ::= "10" | [1-9]\n');
    expect(verdictGrammar('pairwise', 24)).toBe('root ::= reason "[[" verdict "]]"\nreason ::= [\\x20-\\x5A\\x5C\\x5E-\\x7E]{0,19}\nverdict ::= [ABC]\n');
    // no room for reasoning: the verdict alone
    expect(verdictGrammar('single', 6)).toBe('root ::= "[[" verdict "]]"\nverdict ::= "10" | [1-9]\n');
    expect(reasoningBudget('single', 3)).toBe(0);
    expect(reasoningBudget('pairwise', 2048)).toBe(2043);
  });
});

describe('judging stories260K with stories260K as judge (CPU reference)', () => {
  let bytes: ArrayBuffer;
  beforeAll(async () => {
    bytes = await rewriteGguf(STORIES, { contextLength: 2048, name: 'stories260K' });
  });

  it('single grading: constrained, every verdict parses; unconstrained, the same judge\'s verdicts are counted unparseable', async () => {
    const options = { max_tokens: 16, judge_max_tokens: 24 };
    const c = harness(bytes);
    const on = await runTask({ task: task('judge-single', options), store: new MemoryEvalStore(), loadModel: c.loadModel, seed: 3 });
    const f = harness(bytes);
    const off = await runTask({ task: task('judge-single', { ...options, constrain_verdict: false }), store: new MemoryEvalStore(), loadModel: f.loadModel, seed: 3 });

    // the requests: a grammar for the judge's budget, or none
    expect(c.judgeCalls.length).toBe(6);
    expect(c.judgeCalls.every((x) => x.grammar === verdictGrammar('single', 24))).toBe(true);
    expect(f.judgeCalls.every((x) => x.grammar === undefined)).toBe(true);

    // constrained: every verdict is "<reasoning>[[n]]" and parses to its rating
    const js = on.results.flatMap((r) => r.judge!.judgements!);
    for (const j of js) {
      expect(j.raw).toMatch(/^[^[\]\n]*\[\[(10|[1-9])\]\]$/);
      expect(j.parsed).toBe(parseRating(j.raw));
      expect(j.constrained).toBe(true);
    }
    expect(on.report.metrics).toMatchObject({ verdicts: 6, unparseable: 0, constrained_verdicts: 6 });
    expect(Number.isFinite(on.report.metrics.score)).toBe(true);
    expect(reportToCsv(on.report)).toContain(',constrained_verdicts,6\n');

    // unconstrained: what the judge writes is counted as it is; nothing says constrained
    const offJs = off.results.flatMap((r) => r.judge!.judgements!);
    expect(offJs.every((j) => j.constrained === false)).toBe(true);
    expect(off.report.metrics.constrained_verdicts).toBe(0);
    expect(off.report.metrics.unparseable).toBe(offJs.filter((j) => parseRating(j.raw) === null).length);
    // the same answers were judged both times (seeds derive from the run, contestant, question and turn)
    expect(off.results.map((r) => r.judge!.answers)).toEqual(on.results.map((r) => r.judge!.answers));
    console.log(
      `judge-single ×3 (stories260K judging stories260K, 24 tokens): constrained ${on.report.metrics.unparseable}/${on.report.metrics.verdicts} unparseable (score ${on.report.metrics.score}); ` +
        `unconstrained ${off.report.metrics.unparseable}/${off.report.metrics.verdicts} unparseable. Samples: ${JSON.stringify(js[0].raw)} vs ${JSON.stringify(offJs[0].raw)}`,
    );
    // stories260K was never trained to write "[[n]]": unconstrained, its verdicts do not parse
    expect(off.report.metrics.unparseable).toBe(6);
  });

  it('pairwise: constrained, every verdict in both orders parses and every turn is decided', async () => {
    const h = harness(bytes);
    const { report, results } = await runTask({ task: task('judge-pairwise', { max_tokens: 12, judge_max_tokens: 20, relative: false }, ['81', '111']), store: new MemoryEvalStore(), loadModel: h.loadModel, seed: 5 });
    expect(h.judgeCalls.every((x) => x.grammar === verdictGrammar('pairwise', 20))).toBe(true);
    const js = results.flatMap((r) => r.judge!.judgements!);
    expect(js.map((j) => j.mode)).toEqual(['pair-AB', 'pair-BA', 'pair-AB', 'pair-BA', 'pair-AB', 'pair-BA', 'pair-AB', 'pair-BA']);
    for (const j of js) {
      expect(j.raw).toMatch(/^[^[\]\n]*\[\[[ABC]\]\]$/);
      // pair-BA verdicts are mapped back to the contestants
      const v = parsePairVerdict(j.raw);
      expect(j.parsed).toBe(j.mode === 'pair-AB' ? v : v === 'A' ? 'B' : v === 'B' ? 'A' : v);
    }
    expect(report.metrics).toMatchObject({ verdicts: 8, unparseable: 0, constrained_verdicts: 8, decided: 4, undecided: 0 });
  });

  it('a judge budget beyond the room the context leaves: the answer cut there is asked again with a grammar for that room, and its verdict parses', async () => {
    // a context of 1280 tokens holds the judge's prompt (about 540 tokens) with some 700 to spare
    const h = harness(await rewriteGguf(STORIES, { contextLength: 1280, name: 'stories260K' }));
    // judge_max_tokens 2048 (the default): the engine lowers max_tokens to the room the context leaves
    const { report, results } = await runTask({ task: task('judge-single', { max_tokens: 8 }, ['91']), store: new MemoryEvalStore(), loadModel: h.loadModel, seed: 1 });
    const [first, again] = h.judgeCalls;
    expect(first).toMatchObject({ max_tokens: 2048, grammar: verdictGrammar('single', 2048), finish_reason: 'length' });
    const room = first.completion_tokens!;
    expect(room).toBeLessThan(2048);
    // cut before its verdict: unparseable as it stood
    expect(parseRating(first.text!)).toBeNull();
    expect(again).toMatchObject({ max_tokens: room, grammar: verdictGrammar('single', room) });
    const raw = results[0].judge!.judgements![0].raw;
    expect(raw).toBe(again.text);
    expect(raw).toMatch(/^[^[\]\n]*\[\[(10|[1-9])\]\]$/);
    // stories260K rambles: the reasoning runs to its bound, and the verdict comes in the last tokens
    expect(raw.length).toBeGreaterThan(room / 4);
    expect(report.metrics).toMatchObject({ verdicts: 2, unparseable: 0, constrained_verdicts: 2 });
    console.log(`budget beyond the context: ${room} tokens of room, verdict after ${raw.length - 5} characters: …${JSON.stringify(raw.slice(-40))}`);
  });
});

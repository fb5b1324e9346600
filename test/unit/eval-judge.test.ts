/**
 * The judged pipeline (FastChat llm_judge) end to end on three MT-bench questions (writing,
 * roleplay, math with its reference answer), with tiny models on one CPU engine that holds one
 * model at a time: stories260K as contestant A, the same model as B (its sampled answers use
 * another seed: seeds derive from the contestant), stories260K as the judge. The models have no
 * chat template, so the adapter's plain template is used; their context is raised to 2048 so the
 * judge prompts fit. Checked: the loading order, the pairwise prompts really swapped, verdicts
 * (unconstrained: option constrain_verdict false) mostly unparseable and counted, and a run stopped twice (while contestant A answers, then while
 * judging) resumes without redoing stored work and ends with the same results.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { judgeTask, parseJudgePrompts, parseJudgeQuestions, parseReferenceAnswers } from '../../src/eval/data/judge-bench.ts';
import { runTask, type EvalProgress, type ModelRole } from '../../src/eval/runner.ts';
import { reportToJson } from '../../src/eval/report.ts';
import { fromClient } from '../../src/eval/target.ts';
import type { EvalTarget, ItemResult, Task } from '../../src/eval/types.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import type { ChatMessage } from '../../src/protocol/api.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { engineClient, rewriteGguf, STORIES } from './helpers/eval-engine.ts';
import { MemoryEvalStore } from './helpers/eval-memory-store.ts';
import { Engine } from '../../src/engine/engine.ts';
import { CpuBackend } from '../../src/reference/backend.ts';

const read = (p: string) => readFileSync(fixturePath(`eval/mt_bench/${p}`), 'utf8');
const QUESTIONS = parseJudgeQuestions(read('question.jsonl')).filter((q) => ['81', '91', '111'].includes(q.id));
const REFS = parseReferenceAnswers(read('reference_answer_gpt-4.jsonl'));
const PROMPTS = parseJudgePrompts(read('judge_prompts.jsonl'));
// the judge answers unconstrained (as FastChat asks it): these tests count what it writes by itself;
// eval-judge-constrained.test.ts has the verdict under its grammar (the default)
const OPTIONS = { max_tokens: 16, judge_max_tokens: 8, constrain_verdict: false };

function task(kind: 'judge-single' | 'judge-pairwise', options: Record<string, unknown> = {}): Task {
  return judgeTask({ name: `mt-bench-3-${kind}`, kind, questions: QUESTIONS, references: REFS, judgePrompts: PROMPTS, source: 'fixture', options: { ...OPTIONS, ...options } });
}

interface Call {
  role: ModelRole;
  messages: ChatMessage[];
  temperature: number;
}

/** One engine, loaded with the model each role asks for; every chat request recorded. */
function harness(bytes: ArrayBuffer) {
  const engine = new Engine({ createBackend: async () => new CpuBackend() });
  const client = engineClient(engine);
  const loads: ModelRole[] = [];
  const calls: Call[] = [];
  const loadModel = async (role: ModelRole): Promise<EvalTarget> => {
    loads.push(role);
    await client.load({ bytes: bytes.slice(0), name: `stories260K-${role}` });
    const t = fromClient(client);
    return { ...t, chat: (req, o) => (calls.push({ role, messages: req.messages, temperature: req.temperature }), t.chat(req, o)) };
  };
  return { loadModel, loads, calls };
}

let bytes: ArrayBuffer;
let reference: { results: ItemResult[]; calls: Call[] };

beforeAll(async () => {
  bytes = await rewriteGguf(STORIES, { contextLength: 2048, name: 'stories260K' });
});

describe('judge-pairwise on 3 MT-bench questions', () => {
  it('loads A, B, then the judge; swaps the answer order; counts unparseable verdicts', async () => {
    const h = harness(bytes);
    const t0 = performance.now();
    const { report, results, run } = await runTask({ task: task('judge-pairwise'), store: new MemoryEvalStore(), loadModel: h.loadModel, seed: 7 });
    const ms = performance.now() - t0;
    reference = { results, calls: h.calls };
    expect(h.loads).toEqual(['A', 'B', 'judge']);
    expect(run.status).toBe('done');
    expect(run.identity.modelB?.id).toBe('stories260K');
    expect(run.identity.judge?.id).toBe('stories260K');
    expect(run.identity.task.options).toMatchObject({ ...OPTIONS, judge_prompts: PROMPTS.map((p) => p.name) });

    // answers: two turns in one conversation, at FastChat's category temperatures
    const answerCalls = h.calls.filter((c) => c.role !== 'judge');
    expect(answerCalls.length).toBe(3 * 2 * 2);
    expect(answerCalls.filter((c) => c.role === 'A').map((c) => c.temperature)).toEqual([0.7, 0.7, 0.7, 0.7, 0, 0]);
    const turn2 = answerCalls[1].messages;
    expect(turn2.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(turn2[1].content).toBe(results[0].judge!.answers[0]);

    // the judge: per question and turn, A-first then B-first; then single grades of A and B
    const judgeCalls = h.calls.filter((c) => c.role === 'judge');
    expect(judgeCalls.length).toBe(3 * 8);
    results.forEach((r, i) => {
      const [a, b] = [r.judge!.answers, r.judge!.answersB!];
      const calls = judgeCalls.slice(i * 8, i * 8 + 8).map((c) => c.messages[1].content);
      const math = QUESTIONS[i].category === 'math';
      // turn 1: pair-v2 / pair-math-v1 with the answers exchanged between the two calls
      const slot = (x: string, y: string) => `[The Start of Assistant A's Answer]\n${x}\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n${y}\n[The End of Assistant B's Answer]`;
      expect(calls[0]).toContain(slot(a[0], b[0]));
      expect(calls[1]).toContain(slot(b[0], a[0]));
      // turn 2: the multi-turn prompt, whole conversations exchanged
      expect(calls[2]).toContain(`### Assistant A:\n${a[0]}\n\n### User:\n${QUESTIONS[i].turns[1]}\n\n### Assistant A:\n${a[1]}`);
      expect(calls[3]).toContain(`### Assistant A:\n${b[0]}\n\n### User:\n${QUESTIONS[i].turns[1]}\n\n### Assistant A:\n${b[1]}`);
      expect(calls[2]).toContain(`### Assistant B:\n${b[1]}`);
      expect(calls[3]).toContain(`### Assistant B:\n${a[1]}`);
      if (math) for (const c of calls) expect(c).toContain(REFS.get('111')![0]);
      expect(r.judge!.judgements!.map((j) => `${j.mode}:${j.prompt}`)).toEqual(
        math
          ? ['pair-AB:pair-math-v1', 'pair-BA:pair-math-v1', 'pair-AB:pair-math-v1-multi-turn', 'pair-BA:pair-math-v1-multi-turn', 'single-A:single-math-v1', 'single-A:single-math-v1-multi-turn', 'single-B:single-math-v1', 'single-B:single-math-v1-multi-turn']
          : ['pair-AB:pair-v2', 'pair-BA:pair-v2', 'pair-AB:pair-v2-multi-turn', 'pair-BA:pair-v2-multi-turn', 'single-A:single-v1', 'single-A:single-v1-multi-turn', 'single-B:single-v1', 'single-B:single-v1-multi-turn'],
      );
      expect(r.judge!.verdicts).toEqual(r.judge!.judgements!.map((j) => j.raw));
    });
    // A and B really differ where they sample (writing, roleplay: 0.7), so the swap is visible
    expect(results.slice(0, 2).some((r) => r.judge!.answers[0] !== r.judge!.answersB![0])).toBe(true);

    // tiny models rarely produce [[A]] or [[rating]]: unparseable verdicts are kept and counted
    const all = results.flatMap((r) => r.judge!.judgements!);
    const unparsed = all.filter((j) => j.parsed === null).length;
    expect(report.metrics.verdicts).toBe(24);
    expect(report.metrics.unparseable).toBe(unparsed);
    expect(unparsed).toBeGreaterThanOrEqual(12);
    expect(report.metrics.decided! + report.metrics.undecided!).toBe(6);
    expect(Object.keys(report.per_category).sort()).toEqual(['math', 'roleplay', 'writing']);
    expect(JSON.parse(reportToJson(report)).metrics.unparseable).toBe(unparsed);
    console.log(
      `MT-bench ×3 pairwise (stories260K A vs B, stories260K judge): ${report.metrics.verdicts} verdicts, ${unparsed} unparseable; decided ${report.metrics.decided}, ` +
        `win/tie/loss ${report.metrics.win_rate}/${report.metrics.tie_rate}/${report.metrics.loss_rate}, relative ${report.metrics.relative_score}; ${(ms / 1000).toFixed(1)} s. ` +
        `Sample verdict: ${JSON.stringify(all[0].raw)}`,
    );
  });

  it('a run stopped while A answers and again while judging resumes without redoing stored work, with the same results', async () => {
    expect(reference).toBeDefined();
    const store = new MemoryEvalStore();
    const stopAt = (pred: (p: EvalProgress) => boolean) => {
      const ctrl = new AbortController();
      return { signal: ctrl.signal, onProgress: (p: EvalProgress) => pred(p) && ctrl.abort() };
    };
    const fail = async (p: Promise<unknown>) => p.then(() => expect.fail('expected the run to stop'), (e) => e);

    // pairwise verdicts only (no single grades), to keep the test short; they are the same judge calls as the reference run's
    const pairOnly = task('judge-pairwise', { relative: false });
    // 1. stop after A answered 2 of the 3 questions
    const h1 = harness(bytes);
    const s1 = stopAt((p) => p.phase === 'answers' && p.role === 'A' && p.done === 2);
    const e1 = await fail(runTask({ task: pairOnly, store, loadModel: h1.loadModel, seed: 7, ...s1 }));
    expect(isCriaError(e1, 'aborted')).toBe(true);
    const [run] = await store.listRuns();
    expect(run.status).toBe('stopped');
    expect((await store.getResults(run.id, 'answer-A')).map((r) => r.id)).toEqual(['81', '91']);

    // 2. resume; stop after 2 questions are judged
    const h2 = harness(bytes);
    const s2 = stopAt((p) => p.phase === 'judging' && p.done === 2 && p.result !== undefined);
    const e2 = await fail(runTask({ task: pairOnly, store, loadModel: h2.loadModel, resume: run.id, seed: 99, ...s2 }));
    expect(isCriaError(e2, 'aborted')).toBe(true);
    expect(h2.loads).toEqual(['A', 'B', 'judge']);
    // A answered only the question it had not: 2 turns of question 111
    expect(h2.calls.filter((c) => c.role === 'A').map((c) => c.messages[0].content)).toEqual([QUESTIONS[2].turns[0], QUESTIONS[2].turns[0]]);
    expect(h2.calls.filter((c) => c.role === 'B').length).toBe(6);

    // 3. resume again: every answer is stored, so no contestant is loaded; only the third question is judged
    const h3 = harness(bytes);
    const { results, run: done } = await runTask({ task: pairOnly, store, loadModel: h3.loadModel, resume: run.id });
    expect(h3.loads).toEqual(['judge']);
    expect(h3.calls.length).toBe(4);
    expect(done.status).toBe('done');
    expect(done.done).toBe(3);
    // nothing was stored twice
    expect(new Set(store.writes).size).toBe(store.writes.length);
    expect(store.writes.filter((w) => w.includes('|answer-A|')).length).toBe(3);
    expect(store.writes.filter((w) => w.includes('|result|')).length).toBe(3);
    // the same answers and verdicts as the uninterrupted run (seeds derive from the run, contestant, question, turn)
    const strip = (r: ItemResult) => ({ id: r.id, answers: r.judge!.answers, answersB: r.judge!.answersB, verdicts: r.judge!.verdicts.slice(0, 4), pairwise: r.judge!.pairwise });
    expect(results.map(strip)).toEqual(reference.results.map(strip));
  });
});

describe('judge-single on 3 MT-bench questions', () => {
  it('rates each turn; unparseable ratings are null, counted, and left out of the score', async () => {
    const h = harness(bytes);
    const { report, results } = await runTask({ task: task('judge-single'), store: new MemoryEvalStore(), loadModel: h.loadModel });
    expect(h.loads).toEqual(['A', 'judge']);
    const ratings = results.flatMap((r) => r.judge!.ratings!);
    expect(ratings.length).toBe(6);
    const parsed = ratings.filter((x) => x !== null);
    expect(report.metrics.verdicts).toBe(6);
    expect(report.metrics.unparseable).toBe(6 - parsed.length);
    if (parsed.length === 0) expect(report.metrics.score).toBeNaN();
    else expect(report.metrics.score).toBeCloseTo(parsed.reduce((a, b) => a + b, 0) / parsed.length, 12);
    expect(results[2].judge!.judgements!.map((j) => j.prompt)).toEqual(['single-math-v1', 'single-math-v1-multi-turn']);
    console.log(`MT-bench ×3 single (stories260K, judge stories260K): ${report.metrics.verdicts} verdicts, ${report.metrics.unparseable} unparseable, score ${report.metrics.score}`);
  });

  it('a judge whose context cannot hold the prompt: the verdict is unparseable with an error, the run goes on', async () => {
    const small = await rewriteGguf(STORIES, { contextLength: 512, name: 'stories260K' });
    const h = harness(small);
    const { report, results } = await runTask({ task: { ...task('judge-single'), items: task('judge-single').items.slice(0, 1) }, store: new MemoryEvalStore(), loadModel: h.loadModel });
    expect(report.metrics.unparseable).toBe(2);
    expect(results[0].judge!.errors!.some((e) => /judge single-A turn 1: .*context/.test(e))).toBe(true);
    expect(results[0].judge!.judgements![0].error).toMatch(/context/);
  });
});

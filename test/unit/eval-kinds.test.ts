/**
 * The remaining kinds and the plumbing around them, on stories260K through the client-shaped CPU
 * engine: generation (greedy, regex extraction, normalized exact match), speed (every run
 * prefills the whole prompt), item-level errors, a stopped-and-resumed item run, reports and
 * their exports, the judge's parsing rules, and the version constant.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseUserTask } from '../../src/eval/data/user.ts';
import { DEFAULT_TEMPERATURES, fillTemplate, parsePairVerdict, parseRating, temperatureFor } from '../../src/eval/kinds/judge-common.ts';
import { judgedKinds } from '../../src/eval/kinds/index.ts';
import { letterPrompt } from '../../src/eval/kinds/letter-choice.ts';
import { speedTask } from '../../src/eval/kinds/speed.ts';
import { buildReport, compareReports, itemsToCsv, reportFromStore, reportsToCsv, reportToCsv, reportToJson } from '../../src/eval/report.ts';
import { runTask } from '../../src/eval/runner.ts';
import type { EvalTarget, Task } from '../../src/eval/types.ts';
import { ENGINE_VERSION } from '../../src/eval/version.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { cpuTarget, fixtureBytes, STORIES } from './helpers/eval-engine.ts';
import { MemoryEvalStore } from './helpers/eval-memory-store.ts';

const stories = () => cpuTarget(fixtureBytes(STORIES), 'stories260K');

describe('generation', () => {
  it('greedy output, first capture group, normalized exact match', async () => {
    const { target } = await stories();
    // stories260K's greedy continuation of "Once upon a time" is ", there was a little girl named Lily. …"
    const task = parseUserTask(
      [
        '{"task": {"name": "names", "kind": "generation", "options": {"max_tokens": 16}}}',
        '{"id": "lily", "prompt": "Once upon a time", "answers": ["lily", "Tom"], "extract": "named (\\\\w+)"}',
        '{"id": "tom", "prompt": "Once upon a time", "answers": ["Tom"], "extract": "named (\\\\w+)"}',
        '{"id": "none", "prompt": "Once upon a time", "answers": ["x"], "extract": "zebra (\\\\w+)"}',
      ].join('\n'),
    );
    const { report, results } = await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target });
    expect(results[0].generation).toMatchObject({ extracted: 'Lily', correct: true });
    expect(results[0].generation!.output.startsWith(', there was a little girl named Lily')).toBe(true);
    expect(results[1].generation).toMatchObject({ extracted: 'Lily', correct: false });
    expect(results[2].generation).toMatchObject({ extracted: '', correct: false });
    expect(report.metrics.exact_match).toBeCloseTo(1 / 3, 12);
    expect(report.metrics.exact_match_stderr).toBeGreaterThan(0);
  });
});

describe('speed', () => {
  it('medians of measured runs; every run evaluates the whole prompt', async () => {
    const { target } = await stories();
    const usages: number[] = [];
    const spy: EvalTarget = {
      ...target,
      complete: async (req, o) => {
        const r = await target.complete(req, o);
        if (req.ignore_eos) usages.push(r.usage.prefill_tokens!);
        return r;
      },
    };
    const { report, results } = await runTask({ task: speedTask({ promptTokens: 40, maxTokens: 8, runs: 3 }), store: new MemoryEvalStore(), loadModel: async () => spy });
    expect(results.length).toBe(4);
    expect(results[0].category).toBe('warmup');
    expect(usages).toEqual([40, 40, 40, 40]); // no cached prefix reused
    expect(results.every((r) => r.speed!.promptTokens === 40 && r.speed!.genTokens === 8)).toBe(true);
    for (const k of ['ttft_ms', 'prefill_tokens_per_s', 'decode_tokens_per_s', 'load_ms']) expect(report.metrics[k]).toBeGreaterThan(0);
    expect(report.metrics.prompt_tokens).toBe(40);
    console.log(`speed (stories260K, CPU reference): load ${report.metrics.load_ms!.toFixed(0)} ms, TTFT ${report.metrics.ttft_ms!.toFixed(1)} ms, prefill ${report.metrics.prefill_tokens_per_s!.toFixed(0)} tok/s, decode ${report.metrics.decode_tokens_per_s!.toFixed(0)} tok/s`);
  });
});

describe('runs', () => {
  const items = Array.from({ length: 6 }, (_, i) => ({ id: `q${i}`, category: i % 2 ? 'odd' : 'even', context: `Lily had ${i} apples. She`, choices: [' ran', ' ate them'], gold: i % 2 }));
  const task: Task = { name: 'apples', version: '1', kind: 'multiple-choice', source: 'inline', items };

  it('a stopped run resumes from the next item; the results equal an uninterrupted run', async () => {
    const { target } = await stories();
    const full = await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target });
    const store = new MemoryEvalStore();
    const ctrl = new AbortController();
    const err = await runTask({ task, store, loadModel: async () => target, signal: ctrl.signal, onProgress: (p) => p.done === 2 && p.result && ctrl.abort() }).catch((e) => e);
    expect(isCriaError(err, 'aborted')).toBe(true);
    const [run] = await store.listRuns();
    expect(run).toMatchObject({ status: 'stopped', done: 2, total: 6 });
    const seen: string[] = [];
    const again = await runTask({ task, store, loadModel: async () => target, resume: run.id, onProgress: (p) => p.result && seen.push(p.result.id) });
    expect(seen).toEqual(['q2', 'q3', 'q4', 'q5']);
    expect(again.run).toMatchObject({ id: run.id, status: 'done', done: 6 });
    const strip = (r: (typeof again.results)[0]) => ({ id: r.id, choice: r.choice });
    expect(again.results.map(strip)).toEqual(full.results.map(strip));
    expect(again.report.metrics).toEqual(full.report.metrics);
    expect((await reportFromStore(store, run.id))!.metrics).toEqual(full.report.metrics);
  });

  it('resuming with another model or another task is refused', async () => {
    const store = new MemoryEvalStore();
    const { target } = await stories();
    const { run } = await runTask({ task, store, loadModel: async () => target });
    const other = await cpuTarget(fixtureBytes('models/random/llama-gqa-q8_0/llama-gqa-q8_0.gguf'), 'random');
    await expect(runTask({ task, store, loadModel: async () => other.target, resume: run.id })).rejects.toThrow(/made with model/);
    await expect(runTask({ task: { ...task, version: '2' }, store, loadModel: async () => target, resume: run.id })).rejects.toThrow(/resume it with the same task/);
    await expect(runTask({ task: { ...task, options: { x: 1 } }, store, loadModel: async () => target, resume: run.id })).rejects.toThrow(/same task options/);
  });

  it('a context longer than the model\'s is cut as lm-eval cuts it; a choice longer than the whole context is recorded with its error and left out', async () => {
    const { target } = await stories(); // context 128
    const long = { id: 'long', context: 'Lily '.repeat(200), choices: [' ran', ' sat'], gold: 0 };
    const huge = { id: 'huge', context: 'Lily', choices: [' ran'.repeat(200), ' sat'], gold: 0 };
    const { report, results, run } = await runTask({ task: { ...task, items: [...items.slice(0, 2), long, huge] }, store: new MemoryEvalStore(), loadModel: async () => target });
    expect(run.status).toBe('done');
    expect(results[2].error).toBeUndefined();
    expect(results[2].choice?.logprobs.every(Number.isFinite)).toBe(true);
    expect(results[3].error?.code).toBe('context-overflow');
    expect(report.n).toBe(3);
    expect(report.metrics.errors).toBe(1);
    expect(itemsToCsv(results)).toContain('context-overflow');
  });

  it('malformed items are refused before anything runs, naming the item', async () => {
    const { target } = await stories();
    const bad = { ...task, items: [...items.slice(0, 2), { id: 'q9', context: 'x', choices: [' a', ''], gold: 0 }] };
    await expect(runTask({ task: bad, store: new MemoryEvalStore(), loadModel: async () => target })).rejects.toThrow(/item "q9" cannot run as multiple-choice: every choice must be a non-empty string/);
    const dup = { ...task, items: [items[0], items[0]] };
    await expect(runTask({ task: dup, store: new MemoryEvalStore(), loadModel: async () => target })).rejects.toThrow(/appears twice/);
  });

  it('records the identity: model, engine version and backend, seed, task', async () => {
    const { target } = await stories();
    const { run, report } = await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target, seed: 5 });
    expect(run.identity).toMatchObject({
      model: { id: 'llama', architecture: 'llama', parameters: 292800, tensorTypes: { F32: 1171200 }, nCtx: 128 },
      engine: { name: 'cria', version: ENGINE_VERSION, backend: 'reference' },
      seed: 5,
      task: { name: 'apples', version: '1', kind: 'multiple-choice', source: 'inline', items: 6 },
    });
    expect(report).toMatchObject({ task: 'apples', model: 'llama', n: 6 }); // stories260K's general.name
    expect(Object.keys(report.per_category).sort()).toEqual(['even', 'odd']);
  });
});

describe('reports', () => {
  it('JSON, CSV, comparison', async () => {
    const { target } = await stories();
    const task: Task = { name: 't', version: '1', kind: 'multiple-choice', source: 'inline', items: [{ id: 'a', category: 'x, "y"', context: 'Lily', choices: [' ran', ' sat'], gold: 0 }] };
    const a = (await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target })).report;
    const b = { ...a, model: 'other', metrics: { ...a.metrics, acc: 1 - a.metrics.acc! } };
    const json = JSON.parse(reportToJson(a));
    expect(json.metrics.acc_stderr).toBeNull(); // NaN for n = 1
    expect(json.items.length).toBe(1);
    expect(JSON.parse(reportToJson(a, { items: false })).items).toBeUndefined();
    const csv = reportToCsv(a).split('\n');
    expect(csv[0]).toBe('task,model,category,n,metric,value');
    expect(csv).toContain(`t,llama,,1,acc,${a.metrics.acc}`);
    expect(csv).toContain(`t,llama,"x, ""y""",1,acc,${a.metrics.acc}`);
    const cmp = compareReports(a, b);
    expect(cmp.metrics.acc.delta).toBe(b.metrics.acc! - a.metrics.acc!);
    expect(cmp.warnings).toEqual([]);
    expect(compareReports(a, { ...b, identity: { ...b.identity, task: { ...b.identity.task, version: '2' } } }).warnings[0]).toMatch(/task versions/);
    const both = reportsToCsv([a, b]).trim().split('\n');
    expect(both.length).toBe(3);
    expect(both[0].startsWith('task,task_version,model,runtime,backend,engine_version,date,n,acc')).toBe(true);
    expect(buildReport({ identity: a.identity, updatedAt: 0 }, [], { items: false }).date).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('rules', () => {
  it('judge parsing: [[n]] then [n], 1–10; [[A]] before [[B]] before [[C]]', () => {
    expect(parseRating('Rating: [[7]]')).toBe(7);
    expect(parseRating('I give it [8.5] overall')).toBe(8.5);
    expect(parseRating('[[11]]')).toBeNull();
    expect(parseRating('Rating: 7')).toBeNull();
    expect(parsePairVerdict('so [[B]]')).toBe('B');
    expect(parsePairVerdict('[[C]] or [[A]]')).toBe('A');
    expect(parsePairVerdict('[[C]]')).toBe('tie');
    expect(parsePairVerdict('[A]')).toBeNull();
    expect(fillTemplate('{question} / {answer} / {other} {', { question: 'Q {answer}', answer: 'A' })).toBe('Q {answer} / A / {other} {');
  });

  it('judged metrics from parsed verdicts: win/tie/loss over decided turns, inconsistent → tie, relative score Σ A / Σ B', () => {
    const r = (id: string, category: string, pairwise: [string | null, string | null, string | null][], ratings: (number | null)[], ratingsB: (number | null)[]) => ({
      id,
      category,
      ms: 1,
      judge: {
        answers: [],
        answersB: [],
        pairwise: pairwise.map(([ab, ba, outcome]) => ({ ab, ba, outcome }) as never),
        ratings,
        ratingsB,
        verdicts: [],
        judgements: [...ratings, ...ratingsB].map((x) => ({ turn: 0, mode: 'single-A' as const, prompt: 'single-v1', raw: '', parsed: x })),
      },
    });
    const results = [
      r('1', 'writing', [['A', 'A', 'A'], ['A', 'B', 'tie']], [8, 6], [4, null]),
      r('2', 'math', [['B', 'B', 'B'], [null, 'A', null]], [2, 3], [4, 6]),
    ];
    const { metrics, per_category } = judgedKinds['judge-pairwise'].aggregate(results);
    expect(metrics).toMatchObject({ win_rate: 1 / 3, tie_rate: 1 / 3, loss_rate: 1 / 3, decided: 3, undecided: 1, inconsistent: 1, unparseable: 1, verdicts: 8 });
    expect(metrics.relative_score).toBeCloseTo((8 + 2 + 3) / (4 + 4 + 6), 12); // turn 2 of item 1 has no B rating
    expect(metrics.score).toBeCloseTo(19 / 4, 12);
    expect(per_category.writing).toMatchObject({ n: 1, win_rate: 0.5, tie_rate: 0.5, loss_rate: 0 });
    const single = judgedKinds['judge-single'].aggregate(results);
    expect(single.metrics).toMatchObject({ score: 19 / 4, score_turn_1: 5, score_turn_2: 4.5, verdicts: 4, unparseable: 0 });
  });

  it("FastChat's temperatures per category, overridable", () => {
    expect(DEFAULT_TEMPERATURES).toEqual({ writing: 0.7, roleplay: 0.7, extraction: 0, math: 0, coding: 0, reasoning: 0, stem: 0.1, humanities: 0.1 });
    expect(temperatureFor('generic', {})).toBe(0.7);
    expect(temperatureFor('math', { options: { temperatures: { math: 0.2 } } })).toBe(0.2);
  });

  it('the letter-choice prompt (ColossalEval)', () => {
    const p = letterPrompt({ id: '1', category: 'college_biology', context: 'unused', question: ' What is ATP? ', choices: [' energy', ' a sugar', ' DNA', ' salt'], gold: 0 }, undefined);
    expect(p).toBe('The following is a single-choice question on college biology. Answer the question by replying A, B, C or D.\n\nQuestion: What is ATP?\nA. energy\nB. a sugar\nC. DNA\nD. salt\nAnswer:');
    expect(letterPrompt({ id: '1', context: 'Q?', choices: ['x', 'y'], gold: 0 }, undefined)).toBe('Question: Q?\nA. x\nB. y\nAnswer:');
  });

  it('ENGINE_VERSION is package.json\'s version', () => {
    expect(ENGINE_VERSION).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });
});

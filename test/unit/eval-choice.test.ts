/**
 * Multiple choice (lm-eval continuation scoring) and letter choice (ColossalEval) on stories260K
 * through the runner and the client-shaped CPU engine:
 * - HellaSwag (llama.cpp's text form, the first 50 tasks): acc and acc_norm equal a plain
 *   computation (each context + ending evaluated on the CPU reference as lm-eval feeds it, its
 *   _encode_pair split and character-normalized acc_norm written out here); the shared context is evaluated once per question,
 *   checked by counting the engine's forward tokens;
 * - MMLU dev, two subjects, both styles: metrics in [0, 1] with standard errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHellaswagText } from '../../src/eval/data/hellaswag.ts';
import { mmluTask } from '../../src/eval/data/mmlu.ts';
import { runTask } from '../../src/eval/runner.ts';
import { Session } from '../../src/engine/session.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import type { Task } from '../../src/eval/types.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { cpuTarget, rewriteGguf, STORIES } from './helpers/eval-engine.ts';
import { MemoryEvalStore } from './helpers/eval-memory-store.ts';

const N_TASKS = 50;
const HELLASWAG = parseHellaswagText(readFileSync(fixturePath('eval/hellaswag/hellaswag_val_first1000.txt'), 'utf8')).slice(0, N_TASKS);
/** stories260K with room for HellaSwag's and MMLU's longer prompts (its own context is 128) */
const storiesLong = rewriteGguf(STORIES, { contextLength: 512, name: 'stories260K-ctx512' });

const commonPrefix = (a: readonly number[], b: readonly number[]) => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const argmax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

describe('HellaSwag (multiple-choice)', () => {
  it(`acc and acc_norm on the first ${N_TASKS} tasks equal a plain computation; the shared context is evaluated once`, async () => {
    const bytes = await storiesLong;
    const { engine, target } = await cpuTarget(bytes, 'stories260K');
    const task: Task = { name: 'hellaswag', version: '1', kind: 'multiple-choice', source: 'fixture', items: HELLASWAG };
    const t0 = performance.now();
    const { report, results } = await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target });
    const ms = performance.now() - t0;
    expect(report.n).toBe(N_TASKS);

    const model = await Model.load(await readGguf(bytesSource(new Uint8Array(bytes))), new CpuBackend());
    const nVocab = model.config.nVocab;
    const accs: number[] = [];
    const norms: number[] = [];
    let cached: number[] = []; // what the engine's KV cache holds, simulated
    let contextTokens = 0;
    for (const [i, item] of HELLASWAG.entries()) {
      const sums: number[] = [];
      let expectedCost = 0;
      for (const ending of item.choices) {
        // lm-eval's _encode_pair: trailing spaces move to the continuation; ctx = tok(context), cont = the rest of tok(whole)
        const n = item.context.length - item.context.trimEnd().length;
        const context = n > 0 ? item.context.slice(0, -n) : item.context;
        const continuation = n > 0 ? item.context.slice(-n) + ending : ending;
        const ctx = await engine.tokenize(context);
        const cont = (await engine.tokenize(context + continuation)).slice(ctx.length);
        const inp = [...ctx, ...cont].slice(0, -1); // well inside 512: nothing cut from the left
        const logits = await new Session(model, { nCtx: 512 }).eval(inp, 'all');
        let s = 0;
        cont.forEach((tok, j) => {
          const row = inp.length - cont.length + j;
          s += logSoftmax(logits.subarray(row * nVocab, (row + 1) * nVocab))[tok];
        });
        sums.push(s);
        // the engine keeps the cached prefix, re-feeds the context's last token, then the continuation but its last token
        const keep = Math.min(commonPrefix(cached, inp), ctx.length - 1);
        expectedCost += inp.length - keep;
        cached = inp;
        if (ending === item.choices[0]) contextTokens = ctx.length;
      }
      const r = results[i];
      sums.forEach((s, j) => expect(Math.abs(r.choice!.logprobs[j] - s)).toBeLessThan(1e-4));
      // lm-eval's acc_norm: divided by len(choice), in characters (code points)
      const charsOf = item.choices.map((c) => [...c].length);
      accs.push(argmax(sums) === item.gold ? 1 : 0);
      norms.push(argmax(sums.map((s, j) => s / charsOf[j])) === item.gold ? 1 : 0);
      expect(r.tokensEvaluated).toBe(expectedCost);
      // the context once, not four times: each further ending costs its own tokens + 1
      expect(r.tokensEvaluated!).toBeLessThan(2 * contextTokens + item.choices.length * 40);
    }
    expect(report.metrics.acc).toBe(mean(accs));
    expect(report.metrics.acc_norm).toBe(mean(norms));
    const se = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1) / xs.length);
    expect(report.metrics.acc_stderr).toBeCloseTo(se(accs), 12);
    expect(report.metrics.acc_norm_stderr).toBeCloseTo(se(norms), 12);
    console.log(`HellaSwag first ${N_TASKS} (stories260K): acc ${report.metrics.acc} ± ${report.metrics.acc_stderr!.toFixed(3)}, acc_norm ${report.metrics.acc_norm} ± ${report.metrics.acc_norm_stderr!.toFixed(3)}; runner ${(ms / 1000).toFixed(1)} s`);
  });

  it('the exact forward-token count of one 4-ending question: context once + Σ ending', async () => {
    const { engine, target } = await cpuTarget(await storiesLong, 'stories260K');
    const item = HELLASWAG[0];
    const { results } = await runTask({ task: { name: 'one', version: '1', kind: 'multiple-choice', source: 'fixture', items: [item] }, store: new MemoryEvalStore(), loadModel: async () => target });
    const ctx = await engine.tokenize(item.context);
    const ends = await Promise.all(item.choices.map(async (c) => (await engine.tokenize(item.context + c)).slice(ctx.length)));
    for (const c of item.choices) expect((await engine.tokenize(item.context + c)).slice(0, ctx.length)).toEqual(ctx); // a clean split for this item
    // fresh cache: the context minus its last token once, then per ending its last context token + its tokens but the last
    const expected = ctx.length - 1 + ends.reduce((n, e) => n + e.length, 0);
    expect(results[0].tokensEvaluated).toBe(expected);
    expect(expected).toBeLessThan(4 * ctx.length);
  });
});

describe('MMLU dev (two subjects)', () => {
  const files = ['anatomy_dev.csv', 'astronomy_dev.csv'].map((f) => ({ name: f, text: readFileSync(fixturePath(`eval/mmlu_dev/${f}`), 'utf8') }));

  it.each(['multiple-choice', 'letter-choice'] as const)('%s: metrics in [0, 1] with standard errors, per subject', async (kind) => {
    const { target } = await cpuTarget(await storiesLong, 'stories260K');
    const task = mmluTask(files, { kind });
    expect(task.items.length).toBe(10);
    const { report, results } = await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target });
    expect(report.n).toBe(10);
    expect(report.metrics.errors).toBe(0);
    for (const k of kind === 'multiple-choice' ? ['acc', 'acc_norm'] : ['acc']) {
      expect(report.metrics[k]).toBeGreaterThanOrEqual(0);
      expect(report.metrics[k]).toBeLessThanOrEqual(1);
      expect(Number.isFinite(report.metrics[`${k}_stderr`])).toBe(true);
    }
    expect(Object.keys(report.per_category).sort()).toEqual(['anatomy', 'astronomy']);
    expect(report.per_category.anatomy.n).toBe(5);
    // letter choice scores " A".." D" after the listed options; continuation scoring the answer texts
    if (kind === 'letter-choice') expect(results.every((r) => r.choice!.bytes.every((b) => b === 2))).toBe(true);
    console.log(`MMLU dev anatomy+astronomy, ${kind} (stories260K): acc ${report.metrics.acc} ± ${report.metrics.acc_stderr!.toFixed(3)}${report.metrics.acc_norm !== undefined ? `, acc_norm ${report.metrics.acc_norm} ± ${report.metrics.acc_norm_stderr!.toFixed(3)}` : ''}`);
  });
});

/**
 * Issue 12, item 5: scoring exactly as lm-evaluation-harness. Its definitions, transcribed from
 * lm_eval/api/model.py (TemplateLM._encode_pair) and lm_eval/models/huggingface.py
 * (HFLM._loglikelihood_tokens), are written out here as plain code over the engine's own
 * tokenizer and a plain forward pass (Session.eval of every logit row), and the engine's `score`
 * must give the same tokens and log-probabilities:
 *
 *   n_spaces = len(context) - len(context.rstrip()); move them to the continuation
 *   whole = tok(context + continuation); context_enc = tok(context); continuation_enc = whole[len(context_enc):]
 *   inp = (context_enc + continuation_enc)[-(max_length + 1):][:-1]
 *   logprobs = log_softmax(model(inp))[len(inp) - len(continuation_enc):, continuation_enc]
 *   (assert len(continuation_enc) <= max_length)
 *
 * plus acc_norm dividing by the choice's length in characters (lm_eval/api/task.py), and eval runs
 * keyed by the model's content, not its name and shape.
 */
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { multipleChoice } from '../../src/eval/kinds/multiple-choice.ts';
import { runTask, type EvalTarget, type Task } from '../../src/eval/index.ts';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { readGguf, readTensorBytes } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { MemoryEvalStore } from './helpers/eval-memory-store.ts';
import { STORIES, cpuTarget, fixtureBytes } from './helpers/eval-engine.ts';

const N_CTX = 64;

async function reference(ids: { ctx: number[]; cont: number[] }): Promise<number[]> {
  const file = await readGguf(bytesSource(new Uint8Array(fixtureBytes(STORIES))));
  const s = new Session(await Model.load(file, new CpuBackend()), { nCtx: N_CTX });
  const inp = [...ids.ctx, ...ids.cont].slice(-(N_CTX + 1)).slice(0, -1);
  const logits = await s.eval(inp, 'all');
  const nVocab = logits.length / inp.length;
  return ids.cont.map((tok, i) => {
    const row = inp.length - ids.cont.length + i;
    return logSoftmax(logits.subarray(row * nVocab, (row + 1) * nVocab))[tok];
  });
}

const close = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]), `token ${i}: ${x} vs ${b[i]}`).toBeLessThan(1e-4));
};

describe('score() is lm-eval\'s loglikelihood', () => {
  it('context + continuation of exactly n_ctx + 1 tokens: the last token is not fed (lm-eval scores it; it used to be context-overflow)', async () => {
    const { engine } = await cpuTarget(fixtureBytes(STORIES), 'stories', N_CTX);
    const ctx = [1, ...Array.from({ length: N_CTX - 5 }, (_, i) => 300 + (i % 40))];
    const cont = [401, 402, 403, 404, 405];
    expect(ctx.length + cont.length).toBe(N_CTX + 1);
    const r = await engine.score({ context: ctx, continuation: cont });
    close(r.logprobs, await reference({ ctx, cont }));
  });

  it('longer inputs are left-truncated to n_ctx + 1 tokens, as lm-eval does', async () => {
    const { engine } = await cpuTarget(fixtureBytes(STORIES), 'stories', N_CTX);
    const ctx = [1, ...Array.from({ length: 90 }, (_, i) => 300 + ((i * 7) % 50))];
    const cont = [410, 411, 412];
    const r = await engine.score({ context: ctx, continuation: cont });
    close(r.logprobs, await reference({ ctx, cont }));
    // and the next choice of the same question reuses the cached window
    const r2 = await engine.score({ context: ctx, continuation: [420, 421] });
    close(r2.logprobs, await reference({ ctx, cont: [420, 421] }));
  });

  it('a continuation longer than n_ctx is refused (lm-eval asserts len(continuation_enc) <= max_length)', async () => {
    const { engine } = await cpuTarget(fixtureBytes(STORIES), 'stories', N_CTX);
    let e: unknown;
    try {
      await engine.score({ context: [1], continuation: Array.from({ length: N_CTX + 1 }, () => 300) });
    } catch (err) {
      e = err;
    }
    expect(isCriaError(e, 'context-overflow')).toBe(true);
  });

  it("text is split as lm-eval's _encode_pair: trailing spaces move to the continuation, the split is at len(tok(context))", async () => {
    const { engine } = await cpuTarget(fixtureBytes(STORIES), 'stories', 128);
    const tok = (s: string) => engine.tokenize(s, { add_special: true });
    for (const [context, continuation] of [
      ['Once upon a time, there was a ', 'little girl'],
      ['Once upon a time', ' there'],
      ['The cat sat on the m', 'at'], // joint tokenization merges across the boundary
      ['Lily said:  ', ' hi'],
    ]) {
      const n = context.length - context.trimEnd().length;
      const c = n > 0 ? context.slice(0, -n) : context;
      const k = n > 0 ? context.slice(-n) + continuation : continuation;
      const whole = await tok(c + k);
      const ctxEnc = await tok(c);
      const expected = { ctx: ctxEnc, cont: whole.slice(ctxEnc.length) };
      const r = await engine.score({ context, continuation });
      expect(r.context_tokens, JSON.stringify([context, continuation])).toEqual(expected.ctx);
      expect(r.tokens, JSON.stringify([context, continuation])).toEqual(expected.cont);
    }
  });
});

describe('acc_norm divides by characters, as lm-eval does', () => {
  it('a choice whose UTF-8 bytes and characters differ is normalized by its characters', async () => {
    // sums chosen so that dividing by bytes and by characters pick different choices
    const sums: Record<string, number> = { ' café': -5.2, ' cafe': -5.0 }; // 5 chars, 6 bytes vs 5 chars, 5 bytes
    const target = { score: async (req: { continuation: string }) => ({ sum: sums[req.continuation], greedy: false, logprobs: [], tokens: [], context_tokens: [] }) } as unknown as EvalTarget;
    const r = await multipleChoice.run({ id: '1', context: 'x', choices: [' café', ' cafe'], gold: 0 }, { target, task: {} as Task, seed: 1 });
    // lm-eval: -5.2/5 = -1.04 vs -5.0/5 = -1.0 → choice 1; by bytes: -5.2/6 = -0.867 vs -1.0 → choice 0
    expect(r.choice!.predNorm).toBe(1);
  });
});

describe('eval runs are keyed by the model\'s content', () => {
  it('resuming with another model of the same name and shape is refused', async () => {
    const store = new MemoryEvalStore();
    const task: Task = {
      name: 'tiny', version: '1', kind: 'multiple-choice', source: 'test',
      items: [
        { id: '1', context: 'Once upon a time', choices: [' there', ' cat'], gold: 0 },
        { id: '2', context: 'The girl', choices: [' was', ' dog'], gold: 0 },
      ],
    } as Task;
    const a = await cpuTarget(fixtureBytes(STORIES), 'stories');
    const ctrl = new AbortController();
    let first: unknown;
    try {
      await runTask({ task, store, loadModel: async () => a.target, signal: ctrl.signal, onProgress: (p) => p.done >= 1 && ctrl.abort() });
    } catch (e) {
      first = e;
    }
    expect(isCriaError(first, 'aborted')).toBe(true);
    const [run] = await store.listRuns();
    // the same file with one weight changed: same name, architecture, parameters and tensor types
    const src = await readGguf(bytesSource(new Uint8Array(fixtureBytes(STORIES))));
    const tensors = [];
    for (const t of src.tensors) {
      const data = (await readTensorBytes(src, t)).slice();
      if (t.name === 'output_norm.weight') new DataView(data.buffer, data.byteOffset).setFloat32(0, 0.5, true);
      tensors.push({ name: t.name, type: t.type, dims: t.dims, data });
    }
    const meta = new Map(src.metadata);
    meta.set('general.name', gv.str(String(src.metadata.get('general.name')?.value ?? 'stories')));
    const b = await cpuTarget(writeGguf({ metadata: meta, tensors }).buffer as ArrayBuffer, 'stories');
    expect((await b.target.modelInfo())!.id).toBe((await a.target.modelInfo())!.id);
    let e: unknown;
    try {
      await runTask({ task, store, loadModel: async () => b.target, resume: run.id });
    } catch (err) {
      e = err;
    }
    expect(isCriaError(e, 'bad-argument'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/content|weights/);
    // the same model resumes
    const done = await runTask({ task, store, loadModel: async () => a.target, resume: run.id });
    expect(done.results).toHaveLength(2);
  });
});

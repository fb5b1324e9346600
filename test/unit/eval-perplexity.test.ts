/**
 * Perplexity (src/eval/kinds/perplexity.ts) of stories260K on TinyStories text, by llama.cpp's
 * method, through the eval runner and the client-shaped CPU engine; checked against
 * (1) the same chunks computed plainly here: the CPU reference's logits, log-softmax, the
 *     second half of every chunk;
 * (2) llama.cpp itself (node-llama-cpp 3.21, CPU, F32 KV cache): llama-perplexity's number on
 *     the same chunks, with llama.cpp's own tokenization of the text.
 * Plus the sliding-window method against a plain computation, and the window arithmetic.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perplexityTask } from '../../src/eval/data/text.ts';
import { llamaCppChunks, slidingWindows } from '../../src/eval/kinds/perplexity.ts';
import { runTask } from '../../src/eval/runner.ts';
import { Session } from '../../src/engine/session.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { cpuTarget, fixtureBytes, STORIES } from './helpers/eval-engine.ts';
import { MemoryEvalStore } from './helpers/eval-memory-store.ts';
import { fixtureGguf, loadCpuModel } from './helpers/models.ts';

const N_CTX = 128; // stories260K's training context
const TEXT = readFileSync(fixturePath('text/tinystories_train_head_niklas6.txt'), 'utf8').slice(0, 9000); // ≈ 4.1k tokens, 32 chunks of 128

/** llama-perplexity written plainly: chunks of N_CTX, first token → BOS, score positions N_CTX/2+1 … N_CTX−1. */
async function plainPerplexity(ids: number[], bos: number) {
  const model = await loadCpuModel(STORIES);
  const nVocab = model.config.nVocab;
  const first = N_CTX / 2;
  let nll = 0;
  let count = 0;
  const scored: number[][] = [];
  for (let c = 0; c + 1 <= ids.length / N_CTX; c++) {
    const tokens = ids.slice(c * N_CTX, (c + 1) * N_CTX);
    tokens[0] = bos;
    const logits = await new Session(model, { nCtx: N_CTX }).eval(tokens, 'all');
    for (let j = first; j < N_CTX - 1; j++) {
      nll -= logSoftmax(logits.subarray(j * nVocab, (j + 1) * nVocab))[tokens[j + 1]];
      count++;
    }
    scored.push(tokens.slice(first + 1));
  }
  return { nll, count, ppl: Math.exp(nll / count), scored };
}

type Llama = Awaited<ReturnType<typeof import('node-llama-cpp').getLlama>>;
let llama: Llama;
beforeAll(async () => {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama?.dispose();
});

describe('perplexity, llama.cpp method', () => {
  it('stories260K on TinyStories: the runner equals a plain computation and llama.cpp (llama-perplexity) within 0.5%', async () => {
    const t0 = performance.now();
    const { engine, target } = await cpuTarget(fixtureBytes(STORIES), 'stories260K');
    const task = perplexityTask(TEXT, { name: 'tinystories-head', options: { n_ctx: N_CTX } });
    const { report, results } = await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target });
    const tRun = performance.now() - t0;

    const ids = await engine.tokenize(TEXT);
    const bos = ids[0];
    const nChunks = Math.floor(ids.length / N_CTX);
    expect(nChunks).toBeGreaterThanOrEqual(32);
    expect(results.length).toBe(nChunks);
    expect(report.metrics.tokens).toBe(nChunks * (N_CTX - 1 - N_CTX / 2)); // 63 scored per chunk

    // (1) plain computation on the CPU reference
    const plain = await plainPerplexity(ids, bos);
    expect(plain.count).toBe(report.metrics.tokens);
    expect(Math.abs(report.metrics.ppl! / plain.ppl - 1)).toBeLessThan(1e-6);

    // bits per byte: nats → bits over the UTF-8 bytes of the scored tokens' text
    const tok = createTokenizer((await fixtureGguf(STORIES)).metadata);
    const bytes = plain.scored.reduce((n, s) => n + tok.decodeBytes(s, { startOfText: false }).length, 0);
    expect(results.reduce((n, r) => n + r.nll!.bytes, 0)).toBe(bytes);
    expect(report.metrics.bits_per_byte).toBeCloseTo(plain.nll / Math.LN2 / bytes, 9);

    // (2) llama.cpp: its own tokenization of the text, then llama-perplexity's chunks
    const model = await llama.loadModel({ modelPath: fixturePath(STORIES) });
    const ctx = await model.createContext({ contextSize: N_CTX, batchSize: N_CTX, flashAttention: false, threads: 2, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
    let llamaPpl: number;
    try {
      const lcIds = [bos, ...model.tokenize(TEXT).map(Number)];
      expect(lcIds).toEqual(ids); // the same tokens, so the same chunks
      const seqn = ctx.getSequence();
      type Input = Parameters<typeof seqn.controlledEvaluate>[0];
      let nll = 0;
      let count = 0;
      for (const { context, continuation } of llamaCppChunks(lcIds, bos, N_CTX)) {
        const chunk = [...context, ...continuation];
        await seqn.clearHistory();
        const out = await seqn.controlledEvaluate(chunk.map((t, j) => (j >= context.length - 1 && j < N_CTX - 1 ? [t, { generateNext: { probabilities: true } }] : t)) as unknown as Input);
        for (let j = context.length - 1; j < N_CTX - 1; j++) {
          nll -= Math.log(out[j]!.next.probabilities!.get(chunk[j + 1] as never) ?? 0);
          count++;
        }
      }
      expect(count).toBe(plain.count);
      llamaPpl = Math.exp(nll / count);
    } finally {
      await ctx.dispose();
      await model.dispose();
    }
    const rel = Math.abs(report.metrics.ppl! / llamaPpl - 1);
    console.log(
      `stories260K perplexity, ${nChunks} chunks of ${N_CTX} (${report.metrics.tokens} tokens scored): Cria ${report.metrics.ppl!.toFixed(4)} ± ${report.metrics.ppl_stderr!.toFixed(4)}, ` +
        `plain ${plain.ppl.toFixed(4)}, llama.cpp ${llamaPpl.toFixed(4)} (Δ ${(rel * 100).toExponential(2)}%), ${report.metrics.bits_per_byte!.toFixed(4)} bits/byte; runner ${(tRun / 1000).toFixed(1)} s`,
    );
    expect(rel).toBeLessThan(0.005);
  });
});

describe('perplexity, sliding windows', () => {
  it('windows score every token after the first exactly once, each with ≥ n_ctx − stride context', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    for (const [n, s] of [
      [128, 64],
      [128, 1],
      [100, 99],
      [50, 17],
    ]) {
      const w = slidingWindows(ids, n, s);
      expect(w.flatMap((x) => x.continuation)).toEqual(ids.slice(1));
      w.forEach((x, i) => {
        expect(x.context.length + x.continuation.length).toBeLessThanOrEqual(n);
        if (i > 0) expect(x.context.length).toBeGreaterThanOrEqual(n - s);
        expect(x.context[x.context.length - 1] + 1).toBe(x.continuation[0]);
      });
    }
    expect(() => slidingWindows(ids, 128, 128)).toThrow(/stride/);
  });

  it('the runner equals a plain strided computation', async () => {
    const text = TEXT.slice(0, 2000);
    const { engine, target } = await cpuTarget(fixtureBytes(STORIES), 'stories260K');
    const task = perplexityTask(text, { options: { method: 'sliding', n_ctx: N_CTX, stride: 48 } });
    const { report } = await runTask({ task, store: new MemoryEvalStore(), loadModel: async () => target });
    const ids = await engine.tokenize(text);
    expect(report.metrics.tokens).toBe(ids.length - 1);
    const model = await loadCpuModel(STORIES);
    const nVocab = model.config.nVocab;
    let nll = 0;
    let prevEnd = 1;
    for (let begin = 0; prevEnd < ids.length; begin += 48) {
      const end = Math.min(begin + N_CTX, ids.length);
      const window = ids.slice(begin, end);
      const logits = await new Session(model, { nCtx: N_CTX }).eval(window, 'all');
      for (let p = prevEnd; p < end; p++) nll -= logSoftmax(logits.subarray((p - 1 - begin) * nVocab, (p - begin) * nVocab))[ids[p]];
      prevEnd = end;
    }
    expect(Math.abs(report.metrics.ppl! / Math.exp(nll / (ids.length - 1)) - 1)).toBeLessThan(1e-6);
  });
});

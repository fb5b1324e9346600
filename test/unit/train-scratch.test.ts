/**
 * Training from scratch (`cria train`, src/train/pretrain.ts) and the vocabulary it learns
 * (src/train/spm-vocab.ts), with llama.cpp (node-llama-cpp) as the outside ground truth:
 * - the vocabulary: deterministic, every story round-trips through Cria's tokenizer, and llama.cpp
 *   tokenizes text into the same ids as Cria with it;
 * - a small run on a slice of the TinyStories excerpt: the held-out loss falls, the model it writes
 *   loads in Cria and in llama.cpp with the same log-probabilities, and a run stopped and resumed from
 *   its checkpoint writes the same bytes as an uninterrupted one.
 * - `cria train` as a process: the same small run, its progress, its report, the file's metadata, and
 *   `cria generate` on what it wrote.
 * The demo model itself (public/models/cria-demo.gguf) is checked in demo-model.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import { concatBytes } from '../../src/shared/bytes.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { pretrain, readTrained, splitStories, type PretrainConfig } from '../../src/train/pretrain.ts';
import type { FinetuneCheckpoint } from '../../src/train/run.ts';
import { spmVocabMetadata, trainSpmVocab } from '../../src/train/spm-vocab.ts';
import { caught } from './helpers/caught.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { llamaCppLogprobs, openLlama } from './helpers/llamacpp.ts';

const TEXT = readFileSync(fixturePath('text/tinystories_train_head_niklas6.txt'), 'utf8');
const HELD = readFileSync(fixturePath('text/tinystories_sample_cs336.txt'), 'utf8');

describe('the vocabulary cria train learns (SentencePiece-style BPE)', () => {
  it('is deterministic, of the asked size, with byte fallback; every story round-trips through the tokenizer', () => {
    const a = trainSpmVocab(TEXT, { size: 512 });
    const b = trainSpmVocab(TEXT, { size: 512 });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens.length).toBe(512);
    expect(a.tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(new Set(a.tokens).size).toBe(512);
    // the frequent words became single tokens
    for (const w of ['▁the', '▁and', '▁was']) expect(a.tokens).toContain(w);
    // no piece crosses a word boundary or holds a newline
    expect(a.tokens.filter((t) => /.▁|\n/.test(t))).toEqual([]);
    const tok = createTokenizer(new Map(spmVocabMetadata(a)));
    const stories = [...splitStories(TEXT).slice(0, 50), ...splitStories(HELD)];
    let chars = 0;
    let tokens = 0;
    for (const s of stories) {
      const ids = tok.encode(s);
      expect(ids[0]).toBe(1); // <s>
      expect(tok.decode(ids)).toBe(s);
      chars += s.length;
      tokens += ids.length - 1;
    }
    // characters outside the vocabulary (rare ones) are spelt in bytes and still round-trip
    const odd = 'Café — “naïve” 🦙\nnew line';
    expect(tok.decode(tok.encode(odd))).toBe(odd);
    console.log(`vocabulary: ${a.chars} characters, ${a.merges} merges; ${(chars / tokens).toFixed(2)} characters per token on ${stories.length} stories`);
    // 191 merges on a 512 vocabulary: ~2.2 characters a token (characters alone would be 1)
    expect(chars / tokens).toBeGreaterThan(2);
  });

  it('refuses a size that cannot hold the special, byte and character tokens', () => {
    const e = caught(() => trainSpmVocab(TEXT, { size: 300 }));
    expect(e).toMatchObject({ code: 'bad-argument' });
    expect(String(e)).toMatch(/at least \d+/);
  });
});

/** a small run: 120 stories, a 1-layer model 32 wide */
const SMALL: Partial<PretrainConfig> = { vocab: 360, nEmbd: 32, nLayer: 1, nHead: 2, nHeadKv: 1, nFf: 64, nCtx: 96, epochs: 2, batchSize: 8, lr: 1e-2, warmup: 3, seed: 3 };
const SMALL_TEXT = splitStories(TEXT).slice(0, 120).join('\n\n');

describe('training from scratch on the CPU reference', () => {
  it('lowers the held-out loss; the model it writes gives llama.cpp the same log-probabilities and the same tokens as Cria', async () => {
    const r = await pretrain(SMALL_TEXT, SMALL, {}, { heldOutText: HELD });
    console.log(`small run: ${r.prepared.parameters} parameters, ${r.prepared.trainTokens} tokens, ${r.steps} steps in ${r.seconds.toFixed(1)} s (${r.tokensPerSecond.toFixed(0)} tok/s); held-out loss ${r.heldOutLoss.map((v) => v.toFixed(3)).join(' → ')}`);
    expect(r.heldOutLoss).toHaveLength(3);
    // from ~ln(360) = 5.9 at random weights to well below it in two epochs
    expect(r.heldOutLoss[0]).toBeGreaterThan(5);
    expect(r.heldOutLoss[2]).toBeLessThan(r.heldOutLoss[0]! - 1.5);
    expect(r.heldOutPerplexity).toBeCloseTo(Math.exp(r.heldOutLoss[2]!), 3);

    const file = await readTrained(r.gguf);
    expect(file.metadata.get('general.architecture')?.value).toBe('llama');
    expect(file.tensors.every((t) => t.type.name === 'F32')).toBe(true);
    const tok = createTokenizer(file.metadata);
    const prompt = tok.encode(splitStories(HELD)[0]!.slice(0, 100));
    const model = await Model.load(file, new CpuBackend());
    const nVocab = model.config.nVocab;
    const mine = await new Session(model, { nCtx: 96 }).eval(prompt, 'all');
    const dir = mkdtempSync(join(tmpdir(), 'cria-pretrain-'));
    writeFileSync(join(dir, 'small.gguf'), concatBytes(r.gguf));
    const llama = await openLlama();
    try {
      // llama.cpp tokenizes with the learnt vocabulary as Cria does
      const lm = await llama.loadModel({ modelPath: join(dir, 'small.gguf') });
      for (const s of [...splitStories(HELD), 'Once upon a time, there was a big dog named Max.\nThe end.']) {
        expect(Array.from(lm.tokenize(s)).map(Number), s.slice(0, 40)).toEqual(tok.encode(s).slice(1));
      }
      await lm.dispose();
      const theirs = await llamaCppLogprobs(llama, join(dir, 'small.gguf'), prompt, nVocab, { contextSize: 96 });
      let d = 0;
      for (let p = 0; p < prompt.length; p++) {
        const ls = logSoftmax(mine.subarray(p * nVocab, (p + 1) * nVocab));
        for (let v = 0; v < nVocab; v++) if (theirs[p * nVocab + v]! > Math.log(1e-6)) d = Math.max(d, Math.abs(theirs[p * nVocab + v]! - ls[v]!));
      }
      console.log(`trained from scratch, llama.cpp vs Cria: max |Δ logprob| ${d.toExponential(2)} over ${prompt.length} positions`);
      // F32 weights: the bound of the F32 comparisons with llama.cpp (lora.test.ts, model tests)
      expect(d).toBeLessThan(1e-3);
    } finally {
      await llama.dispose();
    }
  }, 300_000);

  it('stopped and resumed from its checkpoint, writes the same model bit for bit', async () => {
    const config = { ...SMALL, epochs: 1 };
    const full = await pretrain(SMALL_TEXT, config, {}, { heldOutText: HELD });
    let saved: FinetuneCheckpoint | undefined;
    const ctrl = new AbortController();
    const first = await pretrain(SMALL_TEXT, config, {
      signal: ctrl.signal,
      checkpoints: { load: async () => undefined, save: async (c) => void (saved = structuredClone(c)), clear: async () => {}, every: 4 },
      onProgress: (p) => p.step === 6 && ctrl.abort(),
    }, { heldOutText: HELD });
    expect(first.stoppedEarly).toBe(true);
    expect(saved?.trainer.steps).toBe(4);
    const resumed = await pretrain(SMALL_TEXT, config, { checkpoints: { load: async () => saved, save: async () => {}, clear: async () => {} } }, { heldOutText: HELD });
    expect(resumed.prepared.resumedFromStep).toBe(4);
    expect(resumed.steps).toBe(full.steps);
    expect(Buffer.from(concatBytes(resumed.gguf)).equals(Buffer.from(concatBytes(full.gguf)))).toBe(true);
  }, 300_000);
});

describe('cria train (the command)', () => {
  it('trains, says how it goes, writes a model with its recipe in the metadata that cria generate runs', async () => {
    const root = new URL('../../', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'cria-train-cli-'));
    writeFileSync(join(dir, 'stories.txt'), SMALL_TEXT);
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((ok) =>
        execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
      );
    const out = join(dir, 'tiny.gguf');
    const r = await run(['train', '--data', join(dir, 'stories.txt'), '--out', out, '--vocab', '360', '--dim', '32', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--ff', '64', '--ctx', '96', '--epochs', '1', '--lr', '1e-2', '--warmup', '3', '--seed', '3', '--license', 'MIT']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/train: 114 stories, \d+ tokens in \d+ windows of ≤ 96; 6 stories \(\d+ tokens\) held out/);
    expect(r.stderr).toMatch(/vocabulary of 360 tokens .* \d+ parameters; \d+ steps/);
    expect(r.stderr).toMatch(/step 1\/\d+ {2}epoch 1\/1 {2}loss [\d.]+/);
    expect(r.stderr).toMatch(/epoch 1\/1: held-out loss [\d.]+ \(perplexity [\d.]+\)/);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ out, vocab: 360, stopped_early: false });
    expect(report.held_out_loss[1]).toBeLessThan(report.held_out_loss[0]);
    const file = await readTrained([new Uint8Array(readFileSync(out))]);
    expect(String(file.metadata.get('cria.train.command')?.value)).toBe(`cria train --data ${join(dir, 'stories.txt')} --out ${out} --vocab 360 --dim 32 --layers 1 --heads 2 --kv-heads 1 --ff 64 --ctx 96 --epochs 1 --lr 1e-2 --warmup 3 --seed 3 --license MIT`);
    expect(file.metadata.get('general.license')?.value).toBe('MIT');
    expect(Number(file.metadata.get('cria.train.held_out_perplexity')?.value)).toBeCloseTo(Math.exp(report.held_out_loss[1]), 2);
    const g = await run(['generate', '--model', out, '--prompt', 'Once upon a time', '--max-tokens', '8', '--temperature', '0', '--engine', 'reference', '--json']);
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout).text.length).toBeGreaterThan(0);
    // bad settings are refused before anything is trained
    const bad = await run(['train', '--data', join(dir, 'stories.txt'), '--out', join(dir, 'x.gguf'), '--dim', '30', '--heads', '4']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/must split into 4 heads/);
  }, 300_000);
});


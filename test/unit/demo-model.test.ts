/**
 * The demo model that ships with the app (public/models/cria-demo.gguf), trained by Cria itself with
 * `cria train` (public/models/README.md gives the command, the data and its license):
 * - it is what the file says: the command and the training text's SHA-256 in its metadata match the
 *   fixture text, its size is within the 4 MB budget, the catalogue (public/models.json) names it
 *   embedded with its real size and SHA-256, and its chat template is the repo's story template;
 * - its held-out perplexity, recomputed here on the CPU reference, is the one written in the file and
 *   stated in public/models/README.md;
 * - from "Once upon a time" it writes story-like text (greedy), and llama.cpp (node-llama-cpp) makes the
 *   same greedy choice at every position of that text (near-ties excepted).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { crossEntropy } from '../../src/reference/cross_entropy.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { splitStories, storyExamples } from '../../src/train/pretrain.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { llamaCppLogprobs, openLlama } from './helpers/llamacpp.ts';

const root = new URL('../../', import.meta.url);
const FILE = new URL('public/models/cria-demo.gguf', root);
const bytes = new Uint8Array(readFileSync(FILE));
const meta = async () => (await readGguf(bytesSource(bytes))).metadata;
const str = (m: ReadonlyMap<string, { value: unknown }>, k: string) => String(m.get(k)?.value ?? '');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const TRAIN_TEXT = readFileSync(fixturePath('text/tinystories_train_head_niklas6.txt'), 'utf8');
const HELD_TEXT = readFileSync(fixturePath('text/tinystories_sample_cs336.txt'), 'utf8');

describe('the demo model (public/models/cria-demo.gguf)', () => {
  it('is the file its metadata, the catalogue and the README say it is', async () => {
    expect(statSync(FILE).size).toBeLessThanOrEqual(4 * 1024 * 1024);
    const m = await meta();
    expect(str(m, 'cria.train.command')).toMatch(/^cria train --data \S*tinystories_train_head_niklas6\.txt /);
    expect(str(m, 'cria.train.data_sha256')).toBe(sha256(TRAIN_TEXT));
    expect(str(m, 'cria.train.held_out_sha256')).toBe(sha256(HELD_TEXT));
    expect(str(m, 'tokenizer.chat_template')).toBe(readFileSync(new URL('src/train/templates/story.jinja', root), 'utf8'));
    expect(str(m, 'general.license')).toBe('MIT');
    const catalogue = JSON.parse(readFileSync(new URL('public/models.json', root), 'utf8')) as { models: { url: string; embedded?: boolean; default?: boolean; sha256?: string; approxBytes: number }[] };
    const entry = catalogue.models.find((x) => x.url === 'models/cria-demo.gguf');
    expect(entry).toMatchObject({ embedded: true, default: true, sha256: sha256(bytes), approxBytes: bytes.byteLength });
    expect(catalogue.models.filter((x) => x.default)).toHaveLength(1);
    // the command in the README is the one that made the file
    const readme = readFileSync(new URL('public/models/README.md', root), 'utf8');
    expect(readme.replace(/\\\n\s*/g, '').replace(/"/g, '')).toContain(str(m, 'cria.train.command').replace(/"/g, ''));
  });

  it('has the held-out perplexity it states, recomputed on the CPU reference', async () => {
    const file = await readGguf(bytesSource(bytes));
    const model = await Model.load(file, new CpuBackend());
    const tok = createTokenizer(file.metadata);
    const nCtx = model.config.nCtxTrain;
    let nats = 0;
    let n = 0;
    for (const ex of storyExamples(tok, splitStories(HELD_TEXT), nCtx)) {
      const logits = await new Session(model, { nCtx }).eval(ex.tokens, 'all');
      const ce = crossEntropy(logits, model.config.nVocab, ex.targets);
      nats += ce.loss * ce.count;
      n += ce.count;
    }
    const ppl = Math.exp(nats / n);
    const stated = Number(file.metadata.get('cria.train.held_out_perplexity')?.value);
    console.log(`demo model: held-out perplexity ${ppl.toFixed(3)} per token over ${n} tokens (file says ${stated.toFixed(3)})`);
    // the file's value was computed by the training tape's forward (the same reference ops), written as f32
    expect(Math.abs(ppl - stated) / stated).toBeLessThan(1e-4);
    const readme = readFileSync(new URL('public/models/README.md', root), 'utf8');
    expect(readme).toContain(`perplexity ${stated.toFixed(2)}`);
  }, 120_000);

  it('continues "Once upon a time" with story-like text, and llama.cpp makes the same greedy choices', async () => {
    const file = await readGguf(bytesSource(bytes));
    const model = await Model.load(file, new CpuBackend());
    const tok = createTokenizer(file.metadata);
    const nVocab = model.config.nVocab;
    const prompt = tok.encode('Once upon a time');
    const s = new Session(model, { nCtx: model.config.nCtxTrain });
    let logits = await s.eval(prompt);
    const out: number[] = [];
    for (let i = 0; i < 64; i++) {
      let best = 0;
      for (let v = 1; v < nVocab; v++) if (logits[v]! > logits[best]!) best = v;
      if (tok.isEog(best)) break;
      out.push(best);
      logits = await s.eval([best]);
    }
    const text = tok.decode(out);
    console.log(`demo model, greedy: "Once upon a time${text}"`);
    // story-like: words of the language it was trained on, not a loop of one token
    const known = new Set(TRAIN_TEXT.toLowerCase().match(/[a-z']+/g));
    const words = text.toLowerCase().match(/[a-z']+/g) ?? [];
    expect(words.length).toBeGreaterThanOrEqual(20);
    expect(words.filter((w) => known.has(w)).length / words.length).toBeGreaterThanOrEqual(0.9);
    expect(new Set(words).size).toBeGreaterThanOrEqual(12);

    // llama.cpp on the same file: at every position of prompt + text, its greedy choice is Cria's next token
    const seq = [...prompt, ...out];
    const dir = mkdtempSync(join(tmpdir(), 'cria-demo-'));
    writeFileSync(join(dir, 'demo.gguf'), bytes);
    const llama = await openLlama();
    try {
      const theirs = await llamaCppLogprobs(llama, join(dir, 'demo.gguf'), seq, nVocab, { contextSize: model.config.nCtxTrain });
      let nearTies = 0;
      for (let p = prompt.length - 1; p < seq.length - 1; p++) {
        const row = theirs.subarray(p * nVocab, (p + 1) * nVocab);
        const sorted = [...row].sort((a, b) => b - a);
        const pick = row.indexOf(sorted[0]!);
        // a near-tie (top two within 1e-4 in log-probability) may flip under different float sums
        if (sorted[0]! - sorted[1]! < 1e-4) nearTies++;
        else expect(pick, `position ${p}`).toBe(seq[p + 1]);
      }
      expect(nearTies).toBeLessThanOrEqual(2);
    } finally {
      await llama.dispose();
    }
  }, 300_000);
});

/**
 * LoRA training on the CPU reference (src/train/): whole-model gradients of the loss w.r.t. the
 * adapter's A and B against finite differences, on fixture models whose forward paths differ (llama
 * with GQA, qwen2 with biases, phi3 with a file-fused attn_qkv and gate|up); then a fine-tune of
 * stories260K on a small synthetic task (a fixed question → answer mapping: which colour each animal
 * is, asked in many contexts) that must drive the held-out loss below a stated target and make greedy
 * answers right on held-out prompts (contexts never trained on); and the trained adapter, written in
 * llama.cpp's format, gives the same logits in llama.cpp (node-llama-cpp) as in Cria.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import type { CpuAct, CpuWeight } from '../../src/reference/backend.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import { Rng } from '../../src/shared/rng.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { LoraTrainer, type TrainExample } from '../../src/train/lora-train.ts';
import { TapeBackend } from '../../src/train/tape.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { fixtureGguf, readJson } from './helpers/models.ts';
import { adapterBytes } from './helpers/lora.ts';
import { llamaCppLogprobs, openLlama } from './helpers/llamacpp.ts';
import { ANIMALS, CONTEXTS, TRAIN_CONTEXTS, example } from './helpers/animals.ts';

async function tapeModel(rel: string) {
  const tape = new TapeBackend();
  const model = (await Model.load(await fixtureGguf(rel), tape)) as Model<CpuAct, CpuWeight>;
  new Session(model, { nCtx: model.config.nCtxTrain }); // allocates the KV cache
  return { tape, model };
}

describe('whole-model LoRA gradients against finite differences', () => {
  it.each(['llama-gqa-f32', 'qwen2-f32', 'phi3-f32'])('%s', async (name) => {
    const { tape, model } = await tapeModel(`models/random/${name}/${name}.gguf`);
    const trainer = await LoraTrainer.create(model, tape, { rank: 4, alpha: 8, seed: 1, matrices: ['attn_q', 'attn_k', 'attn_v', 'attn_qkv', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] });
    // B starts at 0 (so dA = 0 exactly): give it values, so both gradients are exercised
    const rng = new Rng(3);
    // (B is [out, 32]: rank 4 padded to 32 columns, the padding stays 0)
    for (const [k, p] of trainer.params().entries()) if (k % 2 === 1) for (let i = 0; i < p.length; i++) if (i % 32 < 4) p[i] = 0.05 * rng.normal();
    const tokens: number[] = readJson(`models/random/${name}/expected.json`).prompts[0].tokens.slice(0, 12);
    const ex: TrainExample = { tokens, targets: tokens.map((_, t) => (t >= 4 && t + 1 < tokens.length ? tokens[t + 1]! : -1)) };
    const { grads } = await trainer.lossAndGrads(ex);
    const params = trainer.params();
    let max = 0;
    for (const g of grads!) for (const v of g) max = Math.max(max, Math.abs(v));
    expect(max).toBeGreaterThan(1e-3);
    // the loss is a float64 sum of f32 logits: step 1e-2 on values ~0.05–0.1; measured ≤ 2e-5 of the largest
    // gradient (f32 rounding of the logits ~1e-6 / 2h and curvature ~h²); bound 1e-3 of it, where a wrong term is O(1)
    const h = 1e-2;
    let checked = 0;
    let worst = 0;
    for (const k of [0, 1, params.length - 2, params.length - 1, 2 * Math.floor(params.length / 4) + 1]) {
      const p = params[k]!;
      // entries inside the rank (A: its first 4 of 32 rows; B: columns 0–3 of 32), where gradients are not 0 by construction
      const rows = p.length / 32;
      const at = k % 2 === 0 ? [0, Math.floor((p.length / 8) / 3), p.length / 8 - 1] : [0, 32 * Math.floor(rows / 3) + 1, 32 * (rows - 1) + 3];
      for (const i of at) {
        const keep = p[i]!;
        p[i] = keep + h;
        const up = (await trainer.lossAndGrads(ex, false)).loss;
        p[i] = keep - h;
        const down = (await trainer.lossAndGrads(ex, false)).loss;
        p[i] = keep;
        const numeric = (up - down) / (2 * h);
        const err = Math.abs(numeric - grads![k]![i]!);
        worst = Math.max(worst, err / max);
        expect(err, `param ${k}[${i}]: analytic ${grads![k]![i]}, numeric ${numeric}`).toBeLessThan(1e-3 * max);
        checked++;
      }
    }
    console.log(`${name}: LoRA gradients vs finite differences at ${checked} entries: worst |Δ| ${(worst * 100).toFixed(3)}% of the largest gradient (${max.toExponential(2)})`);
  }, 120_000);
});

// ---- a small fine-tune ----

describe('a LoRA fine-tune of stories260K on a fixed question → answer mapping, in Node', () => {
  it('drives the held-out loss below 0.25 nats per answer token and answers held-out prompts right; llama.cpp agrees with the trained adapter', async () => {
    const { tape, model } = await tapeModel('models/stories260K/stories260K-f32.gguf');
    const tok = createTokenizer(model.file.metadata);
    const train: TrainExample[] = [];
    for (let c = 0; c < TRAIN_CONTEXTS; c++) for (let a = 0; a < ANIMALS.length; a++) train.push(example(tok, CONTEXTS[c]!, a).ex);
    const heldOut = CONTEXTS.slice(TRAIN_CONTEXTS).flatMap((c) => ANIMALS.map((_, a) => example(tok, c, a)));
    expect(train).toHaveLength(200);

    const trainer = await LoraTrainer.create(model, tape, { rank: 8, alpha: 16, lr: 3e-3, warmup: 5, batchSize: 8, seed: 7 });
    const before = await trainer.evaluate(heldOut.map((h) => h.ex));
    const rng = new Rng(11);
    const epochs = 3;
    const total = Math.ceil((train.length * epochs) / trainer.config.batchSize);
    const curve: string[] = [];
    const t0 = performance.now();
    for (let e = 0; e < epochs; e++) {
      const order = train.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (let s = 0; s < order.length; s += trainer.config.batchSize) await trainer.step(order.slice(s, s + trainer.config.batchSize).map((i) => train[i]!), total);
      curve.push((await trainer.evaluate(heldOut.map((h) => h.ex))).toFixed(3));
    }
    const secs = (performance.now() - t0) / 1000;
    const after = await trainer.evaluate(heldOut.map((h) => h.ex));

    // greedy answers on the held-out prompts, through the adapter as inference runs it
    let right = 0;
    for (const h of heldOut) {
      const s = new Session(model, { nCtx: 128 });
      let logits = await s.eval(h.prompt);
      const out: number[] = [];
      for (let i = 0; i < h.answerTokens.length; i++) {
        let best = 0;
        for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
        out.push(best);
        logits = await s.eval([best]);
      }
      if (out.every((t, i) => t === h.answerTokens[i])) right++;
      else if (heldOut.indexOf(h) < 3) console.log(`wrong: ${JSON.stringify(tok.decode(out))} for ${JSON.stringify(h.answer)}`);
    }
    console.log(
      `LoRA fine-tune (Node, CPU reference): ${trainer.trainableCount} trainable values, ${trainer.steps} steps in ${secs.toFixed(1)} s; held-out loss ${before.toFixed(3)} → ${curve.join(' → ')}; greedy right on ${right}/${heldOut.length} held-out prompts`,
    );
    expect(before).toBeGreaterThan(1);
    expect(after).toBeLessThan(0.25);
    expect(right / heldOut.length).toBeGreaterThanOrEqual(0.9);

    // the trained adapter, in llama.cpp's format, on the same base: llama.cpp's log-probabilities equal Cria's
    const bytes = adapterBytes(trainer.adapter());
    const dir = mkdtempSync(join(tmpdir(), 'cria-trained-'));
    writeFileSync(join(dir, 'trained.gguf'), bytes);
    const cria = await Model.load(await fixtureGguf('models/stories260K/stories260K-f32.gguf'), new CpuBackend());
    await cria.addAdapter('t', await readGguf(bytesSource(bytes)));
    cria.setAdapters([{ id: 't', scale: 1 }]);
    const probe = heldOut[0]!.ex.tokens;
    const mine = await new Session(cria, { nCtx: 128 }).eval(probe, 'all');
    const llama = await openLlama();
    try {
      const nVocab = model.config.nVocab;
      const theirs = await llamaCppLogprobs(llama, fixturePath('models/stories260K/stories260K-f32.gguf'), probe, nVocab, { lora: { path: join(dir, 'trained.gguf'), scale: 1 } });
      let d = 0;
      for (let r = 0; r < probe.length; r++) {
        const ls = logSoftmax(mine.subarray(r * nVocab, (r + 1) * nVocab));
        for (let v = 0; v < nVocab; v++) if (theirs[r * nVocab + v]! > Math.log(1e-6)) d = Math.max(d, Math.abs(theirs[r * nVocab + v]! - ls[v]!));
      }
      console.log(`the trained adapter in llama.cpp vs Cria: max |Δ logprob| ${d.toExponential(2)} over ${probe.length} positions`);
      // F32 base, f32 adapter: the bound of the F32 comparisons with llama.cpp (lora.test.ts)
      expect(d).toBeLessThan(1e-3);
    } finally {
      await llama.dispose();
    }
  }, 600_000);
});

describe('checkpoints: a fine-tune stopped and resumed from its last checkpoint ends where an uninterrupted one does', () => {
  it('the same adapter bit for bit, the same losses', async () => {
    const { runFinetune } = await import('../../src/train/run.ts');
    type Checkpoint = import('../../src/train/run.ts').FinetuneCheckpoint;
    const setup = async () => {
      const { tape, model } = await tapeModel('models/stories260K/stories260K-f32.gguf');
      const tok = createTokenizer(model.file.metadata);
      const train = CONTEXTS.slice(0, 4).flatMap((c) => ANIMALS.map((_, a) => example(tok, c, a).ex));
      const held = CONTEXTS.slice(20, 21).flatMap((c) => ANIMALS.map((_, a) => example(tok, c, a).ex));
      const trainer = await LoraTrainer.create(model, tape, { rank: 4, lr: 3e-3, warmup: 2, batchSize: 8, seed: 5 });
      return { trainer, train, held };
    };
    // uninterrupted: 2 epochs of 5 steps
    const a = await setup();
    const full = await runFinetune(a.trainer, a.train, a.held, { epochs: 2, seed: 5 });
    expect(full.steps).toBe(10);

    // stopped after step 7 (checkpoints every 3 steps and at each epoch's end: the last one is at step 6)
    const b = await setup();
    let last: Checkpoint | undefined;
    const ctrl = new AbortController();
    const cut = await runFinetune(b.trainer, b.train, b.held, {
      epochs: 2,
      seed: 5,
      signal: ctrl.signal,
      checkpointEvery: 3,
      onCheckpoint: (c) => void (last = structuredClone(c)),
      onProgress: (p) => p.step === 7 && ctrl.abort(),
    });
    expect(cut.aborted).toBe(true);
    expect(last!.trainer.steps).toBe(6);

    // a new trainer (a new tab) goes on from the checkpoint
    const c = await setup();
    const steps: number[] = [];
    const resumed = await runFinetune(c.trainer, c.train, c.held, { epochs: 2, seed: 5, resume: last!, onProgress: (p) => steps.push(p.step) });
    expect(steps).toEqual([7, 8, 9, 10]);
    expect(resumed.heldOut).toEqual(full.heldOut);
    expect(resumed.trainLoss).toEqual(full.trainLoss);
    const bytes = (t: LoraTrainer) => adapterBytes(t.adapter());
    expect(Buffer.from(bytes(c.trainer)).equals(Buffer.from(bytes(a.trainer)))).toBe(true);
    // a checkpoint from another adapter shape is refused
    const other = await setup();
    const wrong = { ...last!, trainer: { ...last!.trainer, params: last!.trainer.params.slice(1) } };
    await expect(runFinetune(other.trainer, other.train, other.held, { epochs: 2, seed: 5, resume: wrong })).rejects.toThrow(/the checkpoint is for another adapter/);
  }, 300_000);
});

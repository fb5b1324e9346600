/**
 * A whole LoRA fine-tune: epochs over the training examples in a seeded order, an optimizer step per
 * batch (src/train/lora-train.ts), the held-out loss before and after each epoch, and progress (step,
 * loss, learning rate, tokens/s, ETA) for a UI or the CLI. Stops between steps when `signal` aborts,
 * keeping what was trained so far.
 */
import { CriaError } from '../shared/errors.ts';
import { Rng } from '../shared/rng.ts';
import type { Trainer, TrainExample, TrainerState } from './trainer.ts';

/** Where a fine-tune stood after a step: enough to go on from there (with the same data, settings and seed). */
export interface FinetuneCheckpoint {
  trainer: TrainerState;
  /** held-out losses so far (before training, after each finished epoch) */
  heldOut: number[];
  trainLoss: number[];
  /** tokens processed so far */
  tokens: number;
  /** seconds spent so far */
  seconds: number;
}

export interface FinetuneProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** the batch's mean loss per learned token */
  loss: number;
  lr: number;
  gradNorm: number;
  /** learned-and-context tokens processed per second so far */
  tokensPerSecond: number;
  /** seconds left at the pace so far */
  etaSeconds: number;
  /** at the end of an epoch: the held-out loss */
  heldOutLoss?: number;
}

export interface FinetuneResult {
  steps: number;
  epochs: number;
  seconds: number;
  tokensPerSecond: number;
  /** held-out loss per learned token before training and after each epoch (NaN without held-out examples) */
  heldOut: number[];
  /** training loss of each step */
  trainLoss: number[];
  /** tokens trained on (a resumed run: those before the checkpoint too) */
  tokens: number;
  aborted: boolean;
}

export async function runFinetune(
  trainer: Trainer<any, any>,
  train: readonly TrainExample[],
  heldOut: readonly TrainExample[],
  opts: {
    epochs: number;
    seed?: number;
    signal?: AbortSignal;
    onProgress?: (p: FinetuneProgress) => void;
    yieldEvery?: () => Promise<void>;
    /** go on from here (the same data, settings and seed as the run that made it) */
    resume?: FinetuneCheckpoint;
    /** called after every `checkpointEvery` steps and at each epoch's end (awaited: training waits while it is stored) */
    onCheckpoint?: (c: FinetuneCheckpoint) => void | Promise<void>;
    checkpointEvery?: number;
  },
): Promise<FinetuneResult> {
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1)) throw new CriaError('bad-argument', `epochs must be a whole number ≥ 1, got ${opts.epochs}`);
  if (train.length === 0) throw new CriaError('bad-argument', 'no training examples');
  const batch = trainer.config.batchSize;
  const perEpoch = Math.ceil(train.length / batch);
  const steps = perEpoch * opts.epochs;
  const rng = new Rng(opts.seed ?? trainer.config.seed);
  const r0 = opts.resume;
  if (r0) {
    if (r0.trainer.steps > steps) throw new CriaError('bad-argument', `the checkpoint is at step ${r0.trainer.steps} of a longer run than this one (${steps} steps): start again`);
    trainer.restore(r0.trainer);
  }
  const held = r0 ? [...r0.heldOut] : [heldOut.length ? await trainer.evaluate(heldOut) : NaN];
  const trainLoss: number[] = r0 ? [...r0.trainLoss] : [];
  const t0 = performance.now() - (r0 ? r0.seconds * 1000 : 0);
  let tokens = r0?.tokens ?? 0;
  let step = 0;
  const resumeAt = r0?.trainer.steps ?? 0;
  const started = performance.now();
  const checkpoint = async () =>
    opts.onCheckpoint?.({ trainer: trainer.state(), heldOut: [...held], trainLoss: [...trainLoss], tokens, seconds: (performance.now() - t0) / 1000 });
  for (let e = 0; e < opts.epochs; e++) {
    const order = train.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let s = 0; s < order.length; s += batch) {
      // the steps a resumed run already took (the same seeded orders): skipped
      if (step < resumeAt) {
        step++;
        continue;
      }
      if (opts.signal?.aborted) return done(true);
      const examples = order.slice(s, s + batch).map((i) => train[i]!);
      const r = await trainer.step(examples, steps);
      step++;
      tokens += examples.reduce((n, ex) => n + ex.tokens.length, 0);
      trainLoss.push(r.loss);
      const secs = (performance.now() - t0) / 1000;
      const last = s + batch >= order.length;
      const heldOutLoss = last && heldOut.length ? await trainer.evaluate(heldOut) : undefined;
      if (heldOutLoss !== undefined) held.push(heldOutLoss);
      opts.onProgress?.({
        epoch: e + 1,
        epochs: opts.epochs,
        step,
        steps,
        loss: r.loss,
        lr: r.lr,
        gradNorm: r.gradNorm,
        tokensPerSecond: tokens / Math.max(secs, 1e-9),
        etaSeconds: ((performance.now() - started) / 1000 / Math.max(1, step - resumeAt)) * (steps - step),
        ...(heldOutLoss !== undefined ? { heldOutLoss } : {}),
      });
      if (last || (opts.checkpointEvery && step % opts.checkpointEvery === 0)) await checkpoint();
      await opts.yieldEvery?.();
    }
  }
  return done(false);

  function done(aborted: boolean): FinetuneResult {
    const seconds = (performance.now() - t0) / 1000;
    return { steps: step, epochs: opts.epochs, seconds, tokensPerSecond: tokens / Math.max(seconds, 1e-9), heldOut: held, trainLoss, tokens, aborted };
  }
}

/** What a caller hands a run (cria finetune / train, the engine's worker): abort, progress, and where checkpoints go. */
export interface RunHooks {
  signal?: AbortSignal;
  onProgress?(p: FinetuneProgress): void;
  /** awaited between steps (the event loop: an abort or a progress message gets through) */
  yieldEvery?(): Promise<void>;
  /** where the job's checkpoints go: resumed from when one is there, written as training goes, deleted at the end */
  checkpoints?: { load(): Promise<FinetuneCheckpoint | undefined>; save(c: FinetuneCheckpoint): Promise<void>; clear(): Promise<void>; every?: number };
}

/** `runFinetune` with a caller's hooks, going on from `resume` (their store's checkpoint); the store is cleared when the run was not aborted. */
export async function runWithHooks(
  trainer: Trainer<any, any>,
  train: readonly TrainExample[],
  heldOut: readonly TrainExample[],
  o: { epochs: number; seed: number; checkpointEvery: number; resume?: FinetuneCheckpoint | undefined },
  hooks: RunHooks,
): Promise<FinetuneResult> {
  const ck = hooks.checkpoints;
  const r = await runFinetune(trainer, train, heldOut, {
    epochs: o.epochs,
    seed: o.seed,
    ...(o.resume ? { resume: o.resume } : {}),
    ...(ck ? { onCheckpoint: (x: FinetuneCheckpoint) => ck.save(x), checkpointEvery: ck.every ?? o.checkpointEvery } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.yieldEvery ? { yieldEvery: hooks.yieldEvery } : {}),
  });
  if (!r.aborted) await ck?.clear();
  return r;
}


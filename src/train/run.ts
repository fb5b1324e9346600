/**
 * A whole LoRA fine-tune: epochs over the training examples in a seeded order, an optimizer step per
 * batch (src/train/lora-train.ts), the held-out loss before and after each epoch, and progress (step,
 * loss, learning rate, tokens/s, ETA) for a UI or the CLI. Stops between steps when `signal` aborts,
 * keeping what was trained so far.
 */
import { CriaError } from '../shared/errors.ts';
import { Rng } from '../shared/rng.ts';
import type { LoraTrainer, TrainExample } from './lora-train.ts';

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
  aborted: boolean;
}

export async function runFinetune(
  trainer: LoraTrainer,
  train: readonly TrainExample[],
  heldOut: readonly TrainExample[],
  opts: { epochs: number; seed?: number; signal?: AbortSignal; onProgress?: (p: FinetuneProgress) => void; yieldEvery?: () => Promise<void> },
): Promise<FinetuneResult> {
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1)) throw new CriaError('bad-argument', `epochs must be a whole number ≥ 1, got ${opts.epochs}`);
  if (train.length === 0) throw new CriaError('bad-argument', 'no training examples');
  const batch = trainer.config.batchSize;
  const perEpoch = Math.ceil(train.length / batch);
  const steps = perEpoch * opts.epochs;
  const rng = new Rng(opts.seed ?? trainer.config.seed);
  const held = [heldOut.length ? trainer.evaluate(heldOut) : NaN];
  const trainLoss: number[] = [];
  const t0 = performance.now();
  let tokens = 0;
  let step = 0;
  for (let e = 0; e < opts.epochs; e++) {
    const order = train.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let s = 0; s < order.length; s += batch) {
      if (opts.signal?.aborted) return done(true);
      const examples = order.slice(s, s + batch).map((i) => train[i]!);
      const r = trainer.step(examples, steps);
      step++;
      tokens += examples.reduce((n, ex) => n + ex.tokens.length, 0);
      trainLoss.push(r.loss);
      const secs = (performance.now() - t0) / 1000;
      const last = s + batch >= order.length;
      const heldOutLoss = last && heldOut.length ? trainer.evaluate(heldOut) : undefined;
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
        etaSeconds: (secs / step) * (steps - step),
        ...(heldOutLoss !== undefined ? { heldOutLoss } : {}),
      });
      await opts.yieldEvery?.();
    }
  }
  return done(false);

  function done(aborted: boolean): FinetuneResult {
    const seconds = (performance.now() - t0) / 1000;
    return { steps: step, epochs: opts.epochs, seconds, tokensPerSecond: tokens / Math.max(seconds, 1e-9), heldOut: held, trainLoss, aborted };
  }
}

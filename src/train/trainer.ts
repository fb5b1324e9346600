/**
 * What every training run shares: a model on a `TrainDevice` (the CPU reference's tape, or WebGPU), the
 * weights being trained, AdamW on them with gradient accumulation over a batch, clipping by global norm
 * and a warm-up + cosine schedule, evaluation, and a state to checkpoint and resume from. A LoRA
 * fine-tune (lora-train.ts) trains an adapter's A and B; training from scratch (pretrain.ts) trains
 * every weight of a small F32 model.
 */
import { CriaError } from '../shared/errors.ts';
import type { Model } from '../model/model.ts';
import type { Act, Weight } from '../model/ops.ts';
import type { CpuAct, CpuWeight } from '../reference/backend.ts';
import { crossEntropy } from '../reference/cross_entropy.ts';
import { AdamW, clipGradients, learningRate } from './adamw.ts';
import type { TapeBackend } from './tape.ts';
import type { OptimConfig } from './defaults.ts';

export type { OptimConfig };

/** A training sequence: its tokens, and per position the token to predict there (−1: not learned). */
export interface TrainExample {
  tokens: number[];
  targets: number[];
}

/**
 * Where training computes: the CPU reference (`cpuDevice`, src/train/tape.ts) or WebGPU
 * (`gpuDevice`, src/train/gpu-device.ts). The optimizer runs on the CPU on `param` arrays; a device
 * whose weights live elsewhere takes their new values with `commit`.
 */
export interface TrainDevice<A extends Act = Act, W extends Weight = Weight> {
  /** from now on `w`'s gradient is computed; `initial`: its values as uploaded (the device keeps them where it cannot read its own) */
  train(w: W, initial: Float32Array): void;
  /** the trained values as the optimizer changes them (the CPU reference: the weight's own storage) */
  param(w: W): Float32Array;
  /** after an update: the device uses the params' values from now on */
  commit?(ws: readonly W[]): void;
  /** an example's mean loss over its learned tokens, how many, and (with `grads`) the gradients of `ws` */
  lossAndGrads(model: Model<A, W>, ex: TrainExample, ws: readonly W[], grads: boolean): Promise<{ loss: number; count: number; grads?: Float32Array[] }>;
}

/** Training on the CPU reference (the tape records the forward pass; f64 sums). */
export function cpuDevice(tape: TapeBackend): TrainDevice<CpuAct, CpuWeight> {
  return {
    train: (w) => tape.train(w),
    param: (w) => tape.param(w),
    async lossAndGrads(model, ex, ws, grads) {
      const nCtx = model.config.nCtxTrain;
      const logits = model.forward({ tokens: ex.tokens, pos0: 0, logits: 'all', nCtx });
      const ce = crossEntropy(logits.data, model.config.nVocab, ex.targets);
      if (!grads || ce.count === 0) return { loss: ce.loss, count: ce.count };
      const g = tape.backward(logits, ce.dlogits);
      return { loss: ce.loss, count: ce.count, grads: ws.map((w) => g.get(w) ?? new Float32Array(tape.param(w).length)) };
    },
  };
}

/** A trainer's state between steps (a checkpoint's core). */
export interface TrainerState {
  steps: number;
  params: Float32Array[];
  optimizer: { step: number; m: Float64Array[]; v: Float64Array[] };
}

export class Trainer<A extends Act = Act, W extends Weight = Weight> {
  private readonly optimizer: AdamW;
  /** optimizer steps taken */
  steps = 0;

  constructor(
    readonly model: Model<A, W>,
    protected readonly device: TrainDevice<A, W>,
    readonly config: OptimConfig,
    /** the weights trained, in `params()` order (each marked with `device.train` already) */
    private readonly weights: readonly W[],
  ) {
    this.optimizer = new AdamW(this.params(), { weightDecay: config.weightDecay });
  }

  /** the trained values, in a fixed order */
  params(): Float32Array[] {
    return this.weights.map((w) => this.device.param(w));
  }

  /** after the params were changed (an update, a restored checkpoint): the device takes them */
  private commit(): void {
    this.device.commit?.(this.weights);
  }

  /** number of trainable values */
  get trainableCount(): number {
    return this.params().reduce((n, p) => n + p.length, 0);
  }

  /** mean loss over an example's learned tokens, and (with `grads`) its gradients, in `params()` order */
  lossAndGrads(ex: TrainExample, grads = true): Promise<{ loss: number; count: number; grads?: Float32Array[] }> {
    if (ex.tokens.length !== ex.targets.length) throw new CriaError('bad-argument', 'an example has one target per token');
    const nCtx = this.model.config.nCtxTrain;
    if (ex.tokens.length > nCtx) throw new CriaError('context-overflow', `an example is ${ex.tokens.length} tokens; the model's context is ${nCtx}`);
    return this.device.lossAndGrads(this.model, ex, this.weights, grads);
  }

  /** mean loss per learned token over examples (no gradients) */
  async evaluate(examples: readonly TrainExample[]): Promise<number> {
    let sum = 0;
    let n = 0;
    for (const ex of examples) {
      const r = await this.lossAndGrads(ex, false);
      sum += r.loss * r.count;
      n += r.count;
    }
    return n ? sum / n : NaN;
  }

  /**
   * One optimizer step on a batch: the gradients of the batch's mean loss per learned token
   * (accumulated example by example), clipped, then AdamW at the schedule's rate for this step.
   */
  async step(batch: readonly TrainExample[], totalSteps: number): Promise<{ loss: number; tokens: number; gradNorm: number; lr: number }> {
    const parts = [];
    for (const ex of batch) parts.push(await this.lossAndGrads(ex));
    const tokens = parts.reduce((n, p) => n + p.count, 0);
    if (tokens === 0) throw new CriaError('bad-argument', 'a batch with no learned token');
    const sum = this.params().map((p) => new Float32Array(p.length));
    let loss = 0;
    for (const p of parts) {
      if (!p.grads) continue;
      const wgt = p.count / tokens;
      loss += p.loss * wgt;
      p.grads.forEach((g, k) => {
        const s = sum[k]!;
        for (let i = 0; i < g.length; i++) s[i]! += g[i]! * wgt;
      });
    }
    const gradNorm = clipGradients(sum, this.config.maxGradNorm);
    const lr = learningRate(this.steps, totalSteps, { lr: this.config.lr, warmup: this.config.warmup, minLr: this.config.lr / 10 });
    this.optimizer.update(sum, lr);
    this.commit();
    this.steps++;
    return { loss, tokens, gradNorm, lr };
  }

  /** everything training needs to go on later from this step (the adapter's values and the optimizer's state) */
  state(): TrainerState {
    return { steps: this.steps, params: this.params().map((p) => p.slice()), optimizer: this.optimizer.state() };
  }

  /** goes on from a state `state()` gave (for this model, adapter shape and config) */
  restore(s: TrainerState): void {
    const params = this.params();
    if (s.params.length !== params.length || s.params.some((p, k) => p.length !== params[k]!.length)) throw new CriaError('bad-argument', 'the checkpoint is for another adapter (its shapes differ): start again');
    s.params.forEach((p, k) => params[k]!.set(p));
    this.commit();
    this.optimizer.restore(s.optimizer);
    this.steps = s.steps;
  }
}

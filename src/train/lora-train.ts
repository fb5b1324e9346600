/**
 * LoRA fine-tuning on the CPU reference (src/train/tape.ts): a fresh adapter on chosen matrices of a
 * loaded base model (A ~ U(−1/√in, 1/√in), B = 0, so training starts from the base model exactly, as
 * PEFT initialises it), trained with AdamW on the cross-entropy of the tokens an example marks (the
 * answer: the loss on assistant tokens only, as the Alpaca and Vicuna recipes compute it), with
 * gradient accumulation over a batch, clipping and a warm-up + cosine schedule. The adapter is applied
 * as inference applies it (src/model/lora.ts, scale alpha / r), so what is trained is what runs, and
 * `adapter()` writes it in llama.cpp's GGUF LoRA format.
 */
import { CriaError } from '../shared/errors.ts';
import { Rng } from '../shared/rng.ts';
import { concatBytes } from '../shared/bytes.ts';
import { readGguf } from '../formats/gguf.ts';
import { bytesSource } from '../formats/source.ts';
import { encodeLoraAdapter, type LoraWriteInput } from '../formats/lora.ts';
import type { Model } from '../model/model.ts';
import type { Act, Weight } from '../model/ops.ts';
import type { CpuAct, CpuWeight } from '../reference/backend.ts';
import { crossEntropy } from '../reference/cross_entropy.ts';
import { AdamW, clipGradients, learningRate } from './adamw.ts';
import type { TapeBackend } from './tape.ts';
import { LORA_DEFAULTS, type LoraConfig } from './defaults.ts';

export { LORA_DEFAULTS, type LoraConfig };

/** A training sequence: its tokens, and per position the token to predict there (−1: not learned). */
export interface TrainExample {
  tokens: number[];
  targets: number[];
}

const ID = 'train';

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

export class LoraTrainer<A extends Act = Act, W extends Weight = Weight> {
  private readonly optimizer: AdamW;
  /** optimizer steps taken */
  steps = 0;

  private constructor(
    readonly model: Model<A, W>,
    private readonly device: TrainDevice<A, W>,
    readonly config: LoraConfig,
    /** per adapted weight: its A and B on the device, and the pair's shape */
    private readonly pairs: { target: string; a: W; b: W; inDim: number; outDim: number; padded: number }[],
  ) {
    this.optimizer = new AdamW(this.params(), { weightDecay: config.weightDecay });
  }

  /** a fresh adapter on `model` (loaded on the CPU training tape), applied at alpha / rank from now on */
  static create(model: Model<CpuAct, CpuWeight>, tape: TapeBackend, config: Partial<LoraConfig> = {}): Promise<LoraTrainer<CpuAct, CpuWeight>> {
    return LoraTrainer.on(model, cpuDevice(tape), config);
  }

  /** a fresh adapter on `model`, trained on `device` */
  static async on<A extends Act, W extends Weight>(model: Model<A, W>, device: TrainDevice<A, W>, config: Partial<LoraConfig> = {}): Promise<LoraTrainer<A, W>> {
    const c: LoraConfig = { ...LORA_DEFAULTS, ...config };
    if (!(Number.isInteger(c.rank) && c.rank >= 1)) throw new CriaError('bad-argument', `the rank must be a whole number ≥ 1, got ${c.rank}`);
    const rng = new Rng(c.seed);
    const targets = model.file.tensors.filter((t) => t.dims.length >= 2 && c.matrices.some((m) => new RegExp(`^blk\\.\\d+\\.${m}\\.weight$`).test(t.name)));
    if (targets.length === 0) throw new CriaError('bad-argument', `the model has none of the matrices ${c.matrices.join(', ')} to adapt`);
    const input: LoraWriteInput = {
      arch: model.config.arch,
      alpha: 0, // the factor alpha / rank is the run-time scale below: the stored B is the trained B
      name: 'cria-lora',
      pairs: targets.map((t) => {
        const [inDim, outDim] = t.dims as [number, number];
        const bound = 1 / Math.sqrt(inDim);
        return { target: t.name, rank: c.rank, inDim, outDim, a: Float32Array.from({ length: c.rank * inDim }, () => (rng.uniform() * 2 - 1) * bound), b: new Float32Array(outDim * c.rank) };
      }),
    };
    await model.addAdapter(ID, await readGguf(bytesSource(concatBytes(encodeLoraAdapter(input)))));
    model.setAdapters([{ id: ID, scale: c.alpha / c.rank }]);
    const weights = model.adapterWeights(ID);
    const pairs = input.pairs.map((p) => {
      const w = weights.get(p.target);
      if (!w) throw new CriaError('internal', `the training adapter has no weights for ${p.target}`);
      // the values as src/model/lora.ts laid them out: A's rows then zero rows, B's columns then zero columns (B starts at 0)
      const padded = w.a.dims[1]!;
      const a0 = new Float32Array(padded * p.inDim);
      a0.set(p.a);
      device.train(w.a, a0);
      device.train(w.b, new Float32Array(p.outDim * padded));
      return { target: p.target, a: w.a, b: w.b, inDim: p.inDim, outDim: p.outDim, padded };
    });
    return new LoraTrainer(model, device, c, pairs);
  }

  private get weights(): W[] {
    return this.pairs.flatMap((p) => [p.a, p.b]);
  }

  /** the trained values, in a fixed order (A then B of each pair) */
  params(): Float32Array[] {
    return this.weights.map((w) => this.device.param(w));
  }

  /** after the params were changed (an update, a restored checkpoint): the device takes them */
  private commit(): void {
    this.device.commit?.(this.weights);
  }

  /** number of trainable values (without the zero padding of the rank) */
  get trainableCount(): number {
    return this.pairs.reduce((n, p) => n + this.config.rank * (p.inDim + p.outDim), 0);
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

  /** the trained adapter as llama.cpp reads it (alpha and rank as configured; A and B without padding) */
  adapter(name = 'cria-lora'): LoraWriteInput {
    const r = this.config.rank;
    return {
      arch: this.model.config.arch,
      alpha: this.config.alpha,
      name,
      pairs: this.pairs.map((p) => {
        const A = this.device.param(p.a).slice(0, r * p.inDim);
        const Bp = this.device.param(p.b);
        const B = new Float32Array(p.outDim * r);
        for (let o = 0; o < p.outDim; o++) B.set(Bp.subarray(o * p.padded, o * p.padded + r), o * r);
        return { target: p.target, rank: r, inDim: p.inDim, outDim: p.outDim, a: A, b: B };
      }),
    };
  }
}

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
import type { TapeBackend } from './tape.ts';
import { LORA_DEFAULTS, type LoraConfig } from './defaults.ts';
import { cpuDevice, Trainer, type TrainDevice } from './trainer.ts';

export { LORA_DEFAULTS, type LoraConfig };
export { cpuDevice, type TrainDevice, type TrainExample, type TrainerState } from './trainer.ts';

/** the adapter's id on the model while it trains */
const ID = 'train';

export class LoraTrainer<A extends Act = Act, W extends Weight = Weight> extends Trainer<A, W> {
  declare readonly config: LoraConfig;

  private constructor(
    model: Model<A, W>,
    device: TrainDevice<A, W>,
    config: LoraConfig,
    /** per adapted weight: its A and B on the device, and the pair's shape */
    private readonly pairs: { target: string; a: W; b: W; inDim: number; outDim: number; padded: number }[],
  ) {
    super(model, device, config, pairs.flatMap((p) => [p.a, p.b]));
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

  /** number of trainable values (without the zero padding of the rank) */
  override get trainableCount(): number {
    return this.pairs.reduce((n, p) => n + this.config.rank * (p.inDim + p.outDim), 0);
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

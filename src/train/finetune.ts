/**
 * A LoRA fine-tune from a model file and JSON Lines of examples to an adapter file: what `cria
 * finetune` and the engine's `finetune` (the app's Fine-tune page) both run. The base model is loaded
 * on the training backend (src/train/tape.ts: the CPU reference with gradients), the examples made
 * into tokens (src/train/data.ts) and split, the adapter trained (lora-train.ts, run.ts) and written
 * in llama.cpp's GGUF LoRA format.
 */
import { CriaError } from '../shared/errors.ts';
import { concatBytes } from '../shared/bytes.ts';
import type { GgufFile } from '../formats/gguf.ts';
import { encodeLoraAdapter } from '../formats/lora.ts';
import { Model } from '../model/model.ts';
import { Session } from '../engine/session.ts';
import type { CpuAct, CpuWeight } from '../reference/backend.ts';
import { createTokenizer } from '../tokenizer/index.ts';
import type { FinetuneOptions, FinetuneOutcome, FinetunePrepared } from '../protocol/api.ts';
import { parseTrainingJsonl, recordExample, splitRecords } from './data.ts';
import { LORA_DEFAULTS, LoraTrainer } from './lora-train.ts';
import { runWithHooks, type RunHooks } from './run.ts';
import { TapeBackend } from './tape.ts';

export interface FinetuneHooks extends RunHooks {
  /** the data, read and split, before training starts */
  onPrepared?(p: FinetunePrepared): void;
}

/** The options with their defaults, checked. */
export function finetuneConfig(o: FinetuneOptions = {}) {
  const int = (v: number | undefined, fallback: number, what: string, min = 1) => {
    const x = v ?? fallback;
    if (!(Number.isInteger(x) && x >= min)) throw new CriaError('bad-argument', `${what} must be a whole number ≥ ${min}, got ${x}`);
    return x;
  };
  const pos = (v: number | undefined, fallback: number, what: string) => {
    const x = v ?? fallback;
    if (!(Number.isFinite(x) && x > 0)) throw new CriaError('bad-argument', `${what} must be a number above 0, got ${x}`);
    return x;
  };
  return {
    rank: int(o.rank, LORA_DEFAULTS.rank, 'rank'),
    alpha: pos(o.alpha, LORA_DEFAULTS.alpha, 'alpha'),
    lr: pos(o.lr, LORA_DEFAULTS.lr, 'the learning rate'),
    batchSize: int(o.batch_size, LORA_DEFAULTS.batchSize, 'the batch size'),
    warmup: int(o.warmup, LORA_DEFAULTS.warmup, 'the warm-up steps', 0),
    seed: int(o.seed, 0, 'the seed', 0),
    matrices: o.matrices ?? LORA_DEFAULTS.matrices,
    epochs: int(o.epochs, 3, 'epochs'),
    maxLen: int(o.max_len, 512, 'the longest example (tokens)'),
    heldOut: o.held_out ?? 0.1,
  };
}

export async function finetune(file: GgufFile, data: string, opts: FinetuneOptions = {}, hooks: FinetuneHooks = {}, dataName = 'the data'): Promise<FinetuneOutcome> {
  const c = finetuneConfig(opts);
  const records = parseTrainingJsonl(data, dataName);
  const tape = new TapeBackend();
  try {
    const model = (await Model.load(file, tape, hooks.signal ? { signal: hooks.signal } : {})) as Model<CpuAct, CpuWeight>;
    const nCtx = Math.min(model.config.nCtxTrain, c.maxLen);
    new Session(model, { nCtx }); // the KV cache a training forward writes
    const tok = createTokenizer(file.metadata);
    const split = splitRecords(records, c.heldOut, c.seed);
    const make = (rs: typeof records) => rs.map((r) => recordExample(tok, r, nCtx, opts.chat_template));
    const train = make(split.train).filter((e) => e.learned > 0);
    const heldOut = make(split.heldOut).filter((e) => e.learned > 0);
    if (train.length === 0) throw new CriaError('bad-argument', `no training example keeps an answer token within ${nCtx} tokens; allow longer examples or shorten the prompts`);
    const prepared: FinetunePrepared = {
      examples: records.length,
      format: records[0]!.kind,
      prompt: opts.chat_template !== undefined ? 'template given' : tok.chatTemplate ? 'model template' : 'alpaca',
      train: train.length,
      held_out: heldOut.length,
      train_tokens: train.reduce((n, e) => n + e.tokens.length, 0),
      learned_tokens: train.reduce((n, e) => n + e.learned, 0),
      truncated: [...train, ...heldOut].filter((e) => e.truncated).length,
      n_ctx: nCtx,
      resumed_from_step: 0,
      steps: Math.ceil(train.length / c.batchSize) * c.epochs,
      trainable: 0,
    };
    const trainer = await LoraTrainer.create(model, tape, c);
    prepared.trainable = trainer.trainableCount;
    const resume = await hooks.checkpoints?.load();
    prepared.resumed_from_step = resume?.trainer.steps ?? 0;
    hooks.onPrepared?.(prepared);
    const r = await runWithHooks(trainer, train, heldOut, { epochs: c.epochs, seed: c.seed, checkpointEvery: 5, resume }, hooks);
    return {
      adapter: concatBytes(encodeLoraAdapter(trainer.adapter(opts.name ?? 'cria-lora'))),
      prepared,
      held_out_loss: r.heldOut.map((v) => (Number.isFinite(v) ? v : null)),
      train_loss: r.trainLoss,
      steps: r.steps,
      seconds: r.seconds,
      tokens_per_s: r.tokensPerSecond,
      stopped_early: r.aborted,
      rank: c.rank,
      alpha: c.alpha,
    };
  } finally {
    tape.dispose();
  }
}

/**
 * Training a tiny llama from scratch on plain text: what `cria train` runs, and how Cria's demo model
 * (public/models/, the app's embedded default) was made. Every weight of a small F32 model is trained
 * with the same machinery as a LoRA fine-tune (trainer.ts: the architectures' own forward recorded on
 * the CPU reference's tape and differentiated, AdamW, accumulation, clipping, warm-up + cosine), on a
 * vocabulary learnt from the same text (spm-vocab.ts).
 *
 * Data: the text is cut into stories at blank lines (or `<|endoftext|>` lines); each story is tokenized
 * with the model's own tokenizer as `<s>` story `</s>` and cut into windows of the context length; the
 * loss is the next-token cross-entropy at every position. The initial weights are a synthetic model's
 * (src/model/synthetic.ts: matrices N(0, 1/row length), norms near 1), seeded.
 */
import { CriaError } from '../shared/errors.ts';
import { concatBytes } from '../shared/bytes.ts';
import { readGguf, readTensorBytes, type GgufFile, type GgufValue } from '../formats/gguf.ts';
import { encodeGguf, gv } from '../formats/gguf-writer.ts';
import { bytesSource } from '../formats/source.ts';
import { syntheticModel, type SyntheticShape } from '../model/synthetic.ts';
import { Model } from '../model/model.ts';
import { Session } from '../engine/session.ts';
import type { CpuAct, CpuWeight } from '../reference/backend.ts';
import { createTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { spmVocabMetadata, trainSpmVocab } from './spm-vocab.ts';
import { TapeBackend } from './tape.ts';
import { cpuDevice, Trainer, type OptimConfig, type TrainExample } from './trainer.ts';
import { runWithHooks, type RunHooks } from './run.ts';

export interface PretrainConfig extends OptimConfig {
  vocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  /** context length = the training window */
  nCtx: number;
  epochs: number;
  /** the share of stories held out when no held-out text is given */
  heldOut: number;
}

/** The demo model's recipe (`cria train` with no settings). */
export const PRETRAIN_DEFAULTS: PretrainConfig = {
  vocab: 512,
  nEmbd: 64,
  nLayer: 4,
  nHead: 4,
  nHeadKv: 2,
  nFf: 192,
  nCtx: 256,
  epochs: 8,
  heldOut: 0.05,
  lr: 3e-3,
  warmup: 20,
  batchSize: 8,
  maxGradNorm: 1,
  weightDecay: 0.01,
  seed: 0,
};

/** The stories of a text: split at blank lines or `<|endoftext|>` lines, trimmed, empty ones dropped. */
export function splitStories(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*<\|endoftext\|>\s*\n|\n\s*\n/)
    .map((s) => s.replace(/<\|endoftext\|>/g, '').trim())
    .filter(Boolean);
}

/** Each story as `<s>` story `</s>`, cut into training windows of `nCtx` tokens (each predicting the next token). */
export function storyExamples(tok: Tokenizer, stories: readonly string[], nCtx: number): TrainExample[] {
  const out: TrainExample[] = [];
  for (const s of stories) {
    const ids = [...tok.encode(s), tok.eos]; // <s> added: the vocabulary says add_bos_token
    for (let start = 0; start + 1 < ids.length; start += nCtx) {
      const w = ids.slice(start, start + nCtx + 1);
      out.push({ tokens: w.slice(0, -1), targets: w.slice(1) });
    }
  }
  return out;
}

export interface PretrainHooks extends RunHooks {
  onPrepared?(p: PretrainPrepared): void;
}

export interface PretrainPrepared {
  stories: number;
  heldOutStories: number;
  vocab: number;
  chars: number;
  merges: number;
  trainTokens: number;
  heldOutTokens: number;
  windows: number;
  parameters: number;
  steps: number;
  resumedFromStep: number;
}

export interface PretrainResult {
  /** the trained model as GGUF byte parts */
  gguf: Uint8Array[];
  prepared: PretrainPrepared;
  /** held-out loss (nats per token) before training and after each epoch */
  heldOutLoss: number[];
  /** held-out perplexity per token and bits per byte of held-out text, at the end */
  heldOutPerplexity: number;
  heldOutBitsPerByte: number;
  trainLoss: number[];
  steps: number;
  seconds: number;
  tokensPerSecond: number;
  stoppedEarly: boolean;
}

/**
 * Trains a model from scratch on `text` (held-out: `heldOutText`, or a share of the stories).
 * `describe`: metadata the caller wants in the file (how it was made, the data's source and license).
 */
export async function pretrain(text: string, config: Partial<PretrainConfig> = {}, hooks: PretrainHooks = {}, opts: { heldOutText?: string; metadata?: [string, GgufValue][] } = {}): Promise<PretrainResult> {
  const c: PretrainConfig = { ...PRETRAIN_DEFAULTS, ...config };
  for (const k of ['vocab', 'nEmbd', 'nLayer', 'nHead', 'nHeadKv', 'nFf', 'nCtx', 'epochs', 'batchSize'] as const) {
    if (!(Number.isInteger(c[k]) && c[k] >= 1)) throw new CriaError('bad-argument', `${k} must be a whole number ≥ 1, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0 || c.nHead % c.nHeadKv !== 0) throw new CriaError('bad-argument', `the width ${c.nEmbd} must split into ${c.nHead} heads, and the heads into ${c.nHeadKv} key/value groups`);
  let stories = splitStories(text);
  let heldStories = opts.heldOutText !== undefined ? splitStories(opts.heldOutText) : [];
  if (opts.heldOutText === undefined && c.heldOut > 0) {
    const k = Math.max(1, Math.round(stories.length * c.heldOut));
    heldStories = stories.slice(stories.length - k);
    stories = stories.slice(0, stories.length - k);
  }
  if (stories.length === 0) throw new CriaError('bad-argument', 'the text holds no story to train on');

  const vocab = trainSpmVocab(stories.join('\n\n'), { size: c.vocab });
  const shape: SyntheticShape = {
    name: 'cria-train',
    arch: 'llama',
    nEmbd: c.nEmbd,
    nLayer: c.nLayer,
    nHead: c.nHead,
    nHeadKv: c.nHeadKv,
    headDim: c.nEmbd / c.nHead,
    nFf: c.nFf,
    nVocab: vocab.tokens.length,
    nCtxTrain: c.nCtx,
    tied: true,
    ropeTheta: 10000,
    rmsEps: 1e-5,
  };
  const init = await readGguf(syntheticModel(shape, 'F32', c.seed).source());
  const metadata = new Map<string, GgufValue>();
  for (const [k, v] of init.metadata) if (!k.startsWith('tokenizer.') && !k.startsWith('general.')) metadata.set(k, v);
  metadata.set('general.architecture', gv.str('llama'));
  metadata.set('general.name', gv.str('cria-train'));
  metadata.set('general.file_type', gv.u32(0));
  for (const [k, v] of spmVocabMetadata(vocab)) metadata.set(k, v);
  for (const [k, v] of opts.metadata ?? []) metadata.set(k, v);
  const tensors = [];
  for (const t of init.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: (await readTensorBytes(init, t)).slice() });
  const file = await readGguf(bytesSource(concatBytes(encodeGguf({ metadata, tensors }))));

  const tape = new TapeBackend();
  try {
    const model = (await Model.load(file, tape)) as Model<CpuAct, CpuWeight>;
    new Session(model, { nCtx: c.nCtx }); // the KV cache a training forward writes
    const tok = createTokenizer(file.metadata);
    const train = storyExamples(tok, stories, c.nCtx);
    const held = storyExamples(tok, heldStories, c.nCtx);
    const weights = file.tensors.map((t) => model.weight(t.name));
    for (const w of weights) tape.train(w);
    const trainer = new Trainer(model, cpuDevice(tape), c, weights);
    const resume = await hooks.checkpoints?.load();
    const prepared: PretrainPrepared = {
      stories: stories.length,
      heldOutStories: heldStories.length,
      vocab: vocab.tokens.length,
      chars: vocab.chars,
      merges: vocab.merges,
      trainTokens: train.reduce((n, e) => n + e.tokens.length, 0),
      heldOutTokens: held.reduce((n, e) => n + e.tokens.length, 0),
      windows: train.length,
      parameters: trainer.trainableCount,
      steps: Math.ceil(train.length / c.batchSize) * c.epochs,
      resumedFromStep: resume?.trainer.steps ?? 0,
    };
    hooks.onPrepared?.(prepared);
    const r = await runWithHooks(trainer, train, held, { epochs: c.epochs, seed: c.seed, checkpointEvery: 10, resume }, hooks);
    const heldLoss = held.length ? await trainer.evaluate(held) : NaN;
    const heldBytes = heldStories.reduce((n, s) => n + new TextEncoder().encode(s).length, 0);
    const heldNats = heldLoss * prepared.heldOutTokens;
    const params = trainer.params();
    const outTensors = file.tensors.map((t, k) => ({ name: t.name, type: t.type, dims: t.dims, data: new Uint8Array(params[k]!.buffer, params[k]!.byteOffset, params[k]!.byteLength) }));
    const ppl = Math.exp(heldLoss);
    const bpb = heldNats / Math.LN2 / heldBytes;
    const outMeta = new Map(file.metadata);
    if (Number.isFinite(ppl)) {
      outMeta.set('cria.train.held_out_perplexity', gv.f32(ppl));
      outMeta.set('cria.train.held_out_bits_per_byte', gv.f32(bpb));
    }
    outMeta.set('cria.train.steps', gv.u32(r.steps));
    outMeta.set('cria.train.tokens_seen', gv.u32(r.tokens));
    return {
      gguf: encodeGguf({ metadata: outMeta, tensors: outTensors }),
      prepared,
      heldOutLoss: r.heldOut,
      heldOutPerplexity: ppl,
      heldOutBitsPerByte: bpb,
      trainLoss: r.trainLoss,
      steps: r.steps,
      seconds: r.seconds,
      tokensPerSecond: r.tokensPerSecond,
      stoppedEarly: r.aborted,
    };
  } finally {
    tape.dispose();
  }
}

/** the model a `pretrain` wrote, read back (for tests and the CLI's sample) */
export function readTrained(parts: Uint8Array[]): Promise<GgufFile> {
  return readGguf(bytesSource(concatBytes(parts)));
}

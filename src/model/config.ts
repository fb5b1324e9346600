/**
 * Model configuration, parsed once from GGUF metadata into a typed,
 * validated object. Nothing downstream reads raw metadata keys.
 * Key names follow llama.cpp (`{arch}.embedding_length`, …).
 */
import { CriaError } from '../shared/errors.ts';
import { GgufValueType, type GgufFile, type GgufValue } from '../formats/gguf.ts';
import { hasKey, metaNumber, metaString, metaStringArray } from '../formats/gguf-meta.ts';

export type RopeType = 'normal' | 'neox';

export interface ModelConfig {
  /** `general.architecture` */
  readonly arch: string;
  readonly name: string;
  readonly nVocab: number;
  /** context length the model was trained with */
  readonly nCtxTrain: number;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  /** per-head dimension of q and k */
  readonly headDim: number;
  /** per-head dimension of v */
  readonly headDimV: number;
  readonly nFf: number;
  readonly rmsEps: number;
  readonly rope: {
    readonly type: RopeType;
    /** number of leading dimensions of each head that are rotated */
    readonly dim: number;
    readonly base: number;
    /** position multiplier (1 / linear scaling factor) */
    readonly freqScale: number;
    /** multiplies cos and sin (`{arch}.rope.scaling.attn_factor`, LongRoPE); 1 = none */
    readonly attnFactor: number;
  };
  /** the context the model was trained with before any extension (LongRoPE: short factors up to it, long beyond) */
  readonly nCtxOrig: number;
  /** attention logits scale, 1/sqrt(headDim) unless the architecture says otherwise */
  readonly attnScale: number;
  /** tanh soft-capping of attention logits (gemma2), 0 = off */
  readonly attnSoftcap: number;
  /** tanh soft-capping of the final logits (gemma2), 0 = off */
  readonly finalSoftcap: number;
  /** per layer: sliding-window size in tokens, 0 = full attention */
  readonly slidingWindow: readonly number[];
  /** multiply embeddings by this (gemma: sqrt(nEmbd)) */
  readonly embedScale: number;
}

export type ConfigOverrides = Partial<Pick<ModelConfig, 'rope' | 'attnScale' | 'attnSoftcap' | 'finalSoftcap' | 'slidingWindow' | 'embedScale'>>;

function scalarKey(file: GgufFile, key: string): void {
  const v = file.metadata.get(key) as GgufValue | undefined;
  if (v && v.type === GgufValueType.ARRAY) {
    throw new CriaError('unsupported-arch', `metadata "${key}" varies per layer, which Cria does not support yet`, { key });
  }
}

/**
 * The hyperparameters every transformer in llama.cpp's family shares.
 * `ropeType` and anything arch-specific come from the architecture file.
 */
export function parseBaseConfig(file: GgufFile, ropeType: RopeType, overrides: ConfigOverrides = {}): ModelConfig {
  const arch = metaString(file, 'general.architecture');
  const k = (s: string) => `${arch}.${s}`;
  for (const s of ['embedding_length', 'block_count', 'feed_forward_length', 'attention.head_count', 'attention.head_count_kv']) scalarKey(file, k(s));

  const nEmbd = metaNumber(file, k('embedding_length'));
  const nLayer = metaNumber(file, k('block_count'));
  const nHead = metaNumber(file, k('attention.head_count'));
  const nHeadKv = metaNumber(file, k('attention.head_count_kv'), nHead);
  const nFf = metaNumber(file, k('feed_forward_length'));
  const nCtxTrain = metaNumber(file, k('context_length'));
  const headDim = metaNumber(file, k('attention.key_length'), nHead > 0 ? nEmbd / nHead : 0);
  const headDimV = metaNumber(file, k('attention.value_length'), headDim);
  const rmsEps = metaNumber(file, k('attention.layer_norm_rms_epsilon'), 1e-5);

  let nVocab = hasKey(file, k('vocab_size')) ? metaNumber(file, k('vocab_size')) : 0;
  if (!nVocab && hasKey(file, 'tokenizer.ggml.tokens')) nVocab = metaStringArray(file, 'tokenizer.ggml.tokens').length;
  if (!nVocab) nVocab = file.tensorsByName.get('token_embd.weight')?.dims[1] ?? 0;

  const ropeBase = metaNumber(file, k('rope.freq_base'), 10000);
  const ropeDim = metaNumber(file, k('rope.dimension_count'), headDim);
  let freqScale = 1;
  const scalingType = hasKey(file, k('rope.scaling.type')) ? metaString(file, k('rope.scaling.type')) : 'none';
  if (scalingType === 'linear') {
    const f = metaNumber(file, k('rope.scaling.factor'), 1);
    freqScale = f > 0 ? 1 / f : 1;
  } else if (scalingType !== 'none') {
    throw new CriaError('unsupported-arch', `RoPE scaling "${scalingType}" (${k('rope.scaling.type')}) is not supported yet; supported: none, linear, and llama3 frequency factors`, { scalingType });
  }
  if (hasKey(file, k('rope.scale_linear'))) {
    const f = metaNumber(file, k('rope.scale_linear'));
    if (f > 0) freqScale = 1 / f;
  }

  const cfg: ModelConfig = {
    arch,
    name: hasKey(file, 'general.name') ? metaString(file, 'general.name') : arch,
    nVocab,
    nCtxTrain,
    nEmbd,
    nLayer,
    nHead,
    nHeadKv,
    headDim,
    headDimV,
    nFf,
    rmsEps,
    rope: { type: ropeType, dim: ropeDim, base: ropeBase, freqScale, attnFactor: metaNumber(file, k('rope.scaling.attn_factor'), 1) },
    nCtxOrig: hasKey(file, k('rope.scaling.original_context_length')) ? metaNumber(file, k('rope.scaling.original_context_length')) : nCtxTrain,
    attnScale: 1 / Math.sqrt(headDim),
    attnSoftcap: 0,
    finalSoftcap: 0,
    slidingWindow: new Array(nLayer).fill(0),
    embedScale: 1,
    ...overrides,
  };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: ModelConfig): void {
  const bad = (what: string) => {
    throw new CriaError('bad-file', `${c.arch} model has invalid hyperparameters: ${what}`, { arch: c.arch });
  };
  const pos = (v: number, name: string, max = 1 << 24) => {
    if (!Number.isInteger(v) || v <= 0 || v > max) bad(`${name} = ${v}`);
  };
  pos(c.nEmbd, 'embedding_length');
  pos(c.nLayer, 'block_count', 4096);
  pos(c.nHead, 'attention.head_count', 4096);
  pos(c.nHeadKv, 'attention.head_count_kv', 4096);
  pos(c.nFf, 'feed_forward_length');
  pos(c.nVocab, 'vocab size', 1 << 22);
  pos(c.nCtxTrain, 'context_length', 1 << 26);
  if (c.nCtxTrain < 2) bad(`context_length = ${c.nCtxTrain} (a context must hold a prompt and an answer)`);
  pos(c.headDim, 'attention.key_length', 4096);
  pos(c.headDimV, 'attention.value_length', 4096);
  if (c.nHead % c.nHeadKv !== 0) bad(`head_count ${c.nHead} is not a multiple of head_count_kv ${c.nHeadKv}`);
  if (!(c.rmsEps > 0 && c.rmsEps < 1)) bad(`layer_norm_rms_epsilon = ${c.rmsEps}`);
  if (c.rope.dim % 2 !== 0 || c.rope.dim <= 0 || c.rope.dim > c.headDim) bad(`rope.dimension_count = ${c.rope.dim} (head dim ${c.headDim})`);
  if (!(c.rope.base > 0)) bad(`rope.freq_base = ${c.rope.base}`);
  if (!(c.rope.attnFactor > 0 && c.rope.attnFactor < 16)) bad(`rope.scaling.attn_factor = ${c.rope.attnFactor}`);
}

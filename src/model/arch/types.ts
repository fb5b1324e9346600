import type { GgufFile } from '../../formats/gguf.ts';
import type { ModelConfig } from '../config.ts';
import type { Act, AttentionParams, Batch, Ops, Trace, Weight } from '../ops.ts';

/** A tensor an architecture reads, with its expected ggml-order dims. */
export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  /** absent → the architecture copes (e.g. tied output, optional rope factors) */
  readonly optional?: boolean;
}

/** Weights by GGUF tensor name; `get` throws `missing-tensor` naming the tensor and the arch. */
export interface Weights<W extends Weight = Weight> {
  get(name: string): W;
  has(name: string): boolean;
}

export interface Architecture<C extends ModelConfig = ModelConfig> {
  /** `general.architecture` values this file handles */
  readonly names: readonly string[];
  config(file: GgufFile): C;
  tensors(c: C): TensorSpec[];
  /** Straight-line forward pass; returns logits `[rows, nVocab]` for the rows `batch.logits` asks for. */
  forward<A extends Act, W extends Weight>(ops: Ops<A, W>, w: Weights<W>, c: C, batch: Batch, trace: Trace<A>): A;
}

/** `blk.{il}.{name}.weight` */
export const blk = (il: number, name: string, suffix = 'weight') => `blk.${il}.${name}.${suffix}`;

export function attentionParams(c: ModelConfig, il: number): AttentionParams {
  return {
    layer: il,
    nHead: c.nHead,
    nHeadKv: c.nHeadKv,
    headDim: c.headDim,
    headDimV: c.headDimV,
    scale: c.attnScale,
    softcap: c.attnSoftcap,
    window: c.slidingWindow[il],
  };
}

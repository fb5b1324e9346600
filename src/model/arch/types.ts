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

/**
 * Tensors a backend that asks for it (`Backend.fuseWeights`) receives as one: the parts'
 * bytes concatenated along the output rows, in order (rows are whole quant blocks, so this is a
 * valid tensor `[cols, Σ rows]`; 1-D parts give `[Σ len]`). The loader makes a fusion only when every
 * part is in the file with the same type and row length, and its companion (the parts' biases)
 * can be made too or has no parts in the file; otherwise the parts load as they are.
 */
export interface Fusion {
  /** the fused tensor's name, e.g. `blk.0.attn_qkv.weight` */
  readonly into: string;
  readonly parts: readonly string[];
  /** fused exactly when this one is (the biases of the parts) */
  readonly companion?: Fusion;
}

export interface Architecture<C extends ModelConfig = ModelConfig> {
  /** `general.architecture` values this file handles */
  readonly names: readonly string[];
  config(file: GgufFile): C;
  tensors(c: C): TensorSpec[];
  /** load-time fusions this architecture's forward can use (it checks which ones were made) */
  fusions?(c: C): Fusion[];
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

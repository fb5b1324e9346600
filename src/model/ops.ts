/**
 * The Ops interface: everything a forward pass may ask of a backend.
 * `model/` only ever sees this interface; the CPU reference (src/reference/)
 * and the WebGPU backend (src/gpu/) implement it. Activations are 2-D,
 * row-major f32 `[rows, cols]`, one row per token; heads are laid out
 * head-major inside a row (`[n, nHeads·headDim]`).
 */
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { RopeType } from './config.ts';

/** An activation handle: rows × cols f32. Its storage belongs to the backend. */
export interface Act {
  readonly rows: number;
  readonly cols: number;
}

/** A weight as stored in the model file (still quantized). dims in ggml order: dims[0] = row length. */
export interface Weight {
  readonly name: string;
  readonly type: GgmlTypeInfo;
  readonly dims: readonly number[];
}

/** RoPE of every head of one projection: the shared rotation (`RopeSpec`) plus the head layout. */
export interface RopeParams extends RopeSpec {
  readonly nHeads: number;
  readonly headDim: number;
}

/** What RoPE rotates by, shared by q and k (their head counts come from the attention parameters). */
export interface RopeSpec {
  readonly type: RopeType;
  /** rotate the first `dim` entries of each head; the rest pass through */
  readonly dim: number;
  readonly base: number;
  readonly freqScale: number;
  /** per-frequency divisors: llama3's `rope_freqs.weight`, phi3 LongRoPE's `rope_factors_short/long` (dim/2 values) */
  readonly freqFactors?: Weight;
  /** multiplies cos and sin (LongRoPE's attention factor); 1 = none */
  readonly attnFactor?: number;
}

export interface AttentionParams {
  readonly layer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly headDimV: number;
  /** multiplies q·k */
  readonly scale: number;
  /** cap·tanh(s/cap) on the scaled logits; 0 = off */
  readonly softcap: number;
  /** attend only to the last `window` positions (inclusive of self); 0 = all */
  readonly window: number;
}

/**
 * What a matmul may do around its product (fused on the GPU into the same dispatch):
 * `norm`, an RMSNorm of x first; `add`, a residual added to the result.
 */
export interface MatmulFusion<A extends Act = Act, W extends Weight = Weight> {
  /** x is replaced by rmsNorm(x, weight, eps) (the norm of the whole row) */
  readonly norm?: { readonly weight: W; readonly eps: number };
  /** `[n, out]`, added to the result */
  readonly add?: A;
}

export interface Ops<A extends Act = Act, W extends Weight = Weight> {
  /** rows of the embedding table `[nVocab, dim]` for `tokens` → `[n, dim]` */
  embed(table: W, tokens: readonly number[]): A;
  /** x / sqrt(mean(x²) + eps) · w, over each group of `groupSize` columns (default: the whole row) */
  rmsNorm(x: A, w: W, eps: number, groupSize?: number): A;
  /**
   * y = add + (x' · Wᵀ + bias), x' = rmsNorm(x, norm.weight, norm.eps) with `fuse.norm`, else x:
   * `[n, in]` × `[out, in]` → `[n, out]`. The reference composes rmsNorm, matmul and add.
   */
  matmul(x: A, w: W, bias?: W, fuse?: MatmulFusion<A, W>): A;
  add(a: A, b: A): A;
  scale(x: A, s: number): A;
  /** rotary position embedding; row i is at position pos0 + i */
  rope(x: A, p: RopeParams, pos0: number): A;
  /**
   * Store k and v for positions [pos0, pos0+n) in layer `p.layer` of the KV
   * cache, then causal attention of q over positions [0, pos0+n).
   * q `[n, nHead·headDim]`, k `[n, nHeadKv·headDim]`, v `[n, nHeadKv·headDimV]` → `[n, nHead·headDimV]`.
   */
  attention(q: A, k: A, v: A, p: AttentionParams, pos0: number): A;
  /**
   * `attention` on a fused projection: qkv `[n, q | k | v]` (q `nHead·headDim` columns, then k
   * `nHeadKv·headDim`, then v `nHeadKv·headDimV`); q and k are rotated by `rope` (q with nHead
   * heads, k with nHeadKv), k and v stored in the cache at [pos0, pos0+n) → `[n, nHead·headDimV]`.
   */
  ropeAttention(qkv: A, p: AttentionParams, rope: RopeSpec, pos0: number): A;
  /** silu(gate) · up; with one argument, gate and up are the first and second half of its columns (a fused gate_up projection) */
  swiglu(gate: A, up?: A): A;
  /** gelu_tanh(gate) · up; one argument: as `swiglu` */
  geglu(gate: A, up?: A): A;
  /** cap · tanh(x / cap) */
  softcap(x: A, cap: number): A;
  /** columns [col0, col0+cols) of every row (splitting fused projections) */
  columns(x: A, col0: number, cols: number): A;
  /** rows [row0, row0+n) */
  rows(x: A, row0: number, n: number): A;
}

/** Names every intermediate (llama.cpp's `cb(cur, "attn_norm", il)`); returns its input. */
export type Trace<A extends Act = Act> = (name: string, layer: number, x: A) => A;
export const noTrace: Trace<any> = (_n, _l, x) => x;

/** One forward call: tokens at positions [pos0, pos0 + tokens.length). */
export interface Batch {
  readonly tokens: readonly number[];
  readonly pos0: number;
  /** which rows' logits to compute: the last one (generation) or all (scoring) */
  readonly logits: 'last' | 'all';
  /** the session's context size (LongRoPE picks its frequency factors by it, as llama.cpp does) */
  readonly nCtx: number;
}

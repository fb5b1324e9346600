/**
 * Reference for kernels/rope_kv.wgsl: a fused q|k|v projection split into rotated q, and rotated k and
 * plain v stored in one layer's KV cache. Composed of the references it replaces: column slices
 * (slice_columns.ts), RoPE of q and of k (rope.ts), and the cache writes of attention.ts.
 *   qkv [n, qLen + kLen + vLen], row t at position pos0 + t (qLen = nHead·headDim, kLen = nHeadKv·headDim,
 *   vLen = nHeadKv·headDimV) → q [n, qLen]; kCache [nCtx, kLen] and vCache [nCtx, vLen] rows
 *   pos0 .. pos0+n−1 written in place.
 */
import { rope, type RopeArgs } from './rope.ts';
import { sliceColumns } from './slice_columns.ts';

export interface RopeKvShape {
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly headDimV: number;
}

export function ropeKv(
  qkv: Float32Array,
  n: number,
  shape: RopeKvShape,
  r: Omit<RopeArgs, 'nHeads' | 'headDim'>,
  kCache: Float32Array,
  vCache: Float32Array,
  pos0: number,
): Float32Array {
  const qLen = shape.nHead * shape.headDim;
  const kLen = shape.nHeadKv * shape.headDim;
  const vLen = shape.nHeadKv * shape.headDimV;
  const cols = qLen + kLen + vLen;
  const q = rope(sliceColumns(qkv, cols, 0, qLen), n, { ...r, nHeads: shape.nHead, headDim: shape.headDim }, pos0);
  const k = rope(sliceColumns(qkv, cols, qLen, kLen), n, { ...r, nHeads: shape.nHeadKv, headDim: shape.headDim }, pos0);
  kCache.set(k, pos0 * kLen);
  vCache.set(sliceColumns(qkv, cols, qLen + kLen, vLen), pos0 * vLen);
  return q;
}

/**
 * Launcher for kernels/rope_kv.wgsl: a fused q|k|v projection → rotated q, with rotated k and v
 * written into one layer's KV cache (replaces three column slices, two ropes and two copies).
 */
import source from '@kernels/rope_kv.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { ropeTableMismatch } from '../../shared/rope-table.ts';
import type { RopeTable } from '../rope-table.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';
import type { RopeKernelParams } from './rope.ts';

export const ropeKvKernel = defineKernel('rope_kv', source);

const WG = 64;

/** Head layout: structurally a subset of model/ops.ts `AttentionParams`, which can be passed as is. */
export interface RopeKvShape {
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly headDimV: number;
}

/**
 * qkv [n, q | k | v] with row t at position pos0 + t → q [n, nHead·headDim] rotated; rotated k and v
 * stored in rows [pos0, pos0 + n) of kCache [nCtx, nHeadKv·headDim] and vCache [nCtx, nHeadKv·headDimV].
 */
export function ropeKv(
  rec: Recorder,
  qkv: GpuTensor,
  table: RopeTable,
  rope: Omit<RopeKernelParams, 'nHeads' | 'headDim'>,
  shape: RopeKvShape,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  pos0: number,
): GpuTensor {
  const qLen = shape.nHead * shape.headDim;
  const kLen = shape.nHeadKv * shape.headDim;
  const vLen = shape.nHeadKv * shape.headDimV;
  const n = qkv.rows;
  if (qkv.cols !== qLen + kLen + vLen) throw new CriaError('internal', `rope_kv: qkv has ${qkv.cols} columns, q ${qLen} + k ${kLen} + v ${vLen} expected`);
  if (shape.headDim % 2 !== 0 || rope.dim % 2 !== 0 || rope.dim > shape.headDim) throw new CriaError('internal', `rope_kv: dim ${rope.dim} and head dim ${shape.headDim} must be even with dim ≤ head dim`);
  for (const [name, cache, len] of [['k', kCache, kLen], ['v', vCache, vLen]] as const) {
    if (!(Number.isInteger(pos0) && pos0 >= 0 && (pos0 + n) * len * 4 <= cache.size)) {
      throw new CriaError('context-overflow', `rope_kv: ${name} rows ${pos0}..${pos0 + n - 1} do not fit a cache of ${Math.floor(cache.size / (len * 4))} positions`);
    }
  }
  const mismatch = ropeTableMismatch(table, rope, pos0, n);
  if (mismatch) throw new CriaError('internal', `rope_kv: ${mismatch}`);
  const q: GpuTensor = { rows: n, cols: qLen, buffer: rec.temp(n * qLen * 4) };
  rec.dispatch({
    kernel: ropeKvKernel,
    variant: { overrides: { WG } },
    params: { n_rows: n, head_dim: shape.headDim, q_len: qLen, k_len: kLen, v_len: vLen, half: rope.dim / 2, neox: rope.type === 'neox' ? 1 : 0, pos0 },
    bindings: [qkv.buffer, table.buffer, q.buffer, kCache, vCache],
    grid: grid1d(Math.ceil((n * ((qLen + kLen) / 2 + vLen)) / WG)),
  });
  return q;
}

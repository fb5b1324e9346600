/** Launcher for kernels/rope_backward.wgsl: the gradient of RoPE w.r.t. its input (training), with the forward pass's table. */
import source from '@kernels/rope_backward.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { ropeTableMismatch } from '../../shared/rope-table.ts';
import type { RopeTable } from '../rope-table.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';
import type { RopeKernelParams } from './rope.ts';

export const ropeBackwardKernel = defineKernel('rope_backward', source);

const WG = 64;

/** dy [n, nHeads·headDim] (rows at positions pos0 + t) → dx, same shape: each pair rotated back by its angle. */
export function ropeBackward(rec: Recorder, dy: GpuTensor, table: RopeTable, p: RopeKernelParams, pos0: number): GpuTensor {
  if (dy.cols !== p.nHeads * p.headDim) throw new CriaError('internal', `ropeBackward: dy has ${dy.cols} columns, ${p.nHeads} heads × ${p.headDim} expected`);
  if (p.headDim % 2 !== 0 || p.dim % 2 !== 0 || p.dim > p.headDim) throw new CriaError('internal', `ropeBackward: dim ${p.dim} and head dim ${p.headDim} must be even with dim ≤ head dim`);
  const mismatch = ropeTableMismatch(table, p, pos0, dy.rows);
  if (mismatch) throw new CriaError('internal', `ropeBackward: ${mismatch}`);
  const dx: GpuTensor = { rows: dy.rows, cols: dy.cols, buffer: rec.temp(dy.rows * dy.cols * 4) };
  rec.dispatch({
    kernel: ropeBackwardKernel,
    variant: { overrides: { WG } },
    params: { n_rows: dy.rows, n_heads: p.nHeads, head_dim: p.headDim, half: p.dim / 2, neox: p.type === 'neox' ? 1 : 0, pos0 },
    bindings: [dy.buffer, table.buffer, dx.buffer],
    grid: grid1d(Math.ceil((dy.rows * dy.cols) / 2 / WG)),
  });
  return dx;
}

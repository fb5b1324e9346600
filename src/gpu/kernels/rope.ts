/** Launcher for kernels/rope.wgsl: rotary position embedding with a CPU-built cos/sin table. */
import source from '@kernels/rope.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { checkBinding } from '../device.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { buildRopeTable, ropeSpecError, ropeTableMismatch, type RopeTableSpec } from '../../shared/rope-table.ts';
import type { RopeTable } from '../rope-table.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const ropeKernel = defineKernel('rope', source);

const WG = 64;

/** Structurally a subset of model/ops.ts `RopeParams`, which can be passed as is. */
export interface RopeKernelParams {
  readonly type: 'normal' | 'neox';
  readonly nHeads: number;
  readonly headDim: number;
  readonly dim: number;
  readonly base: number;
  readonly freqScale: number;
  /** must be present exactly when the table was built with factors (compared by value if a Float32Array) */
  readonly freqFactors?: unknown;
  readonly attnFactor?: number;
}

/** Build the table for positions [0, nCtx) on the CPU and upload it (once per model). */
export function createRopeTable(rec: Recorder, spec: RopeTableSpec, nCtx: number): RopeTable {
  const err = ropeSpecError(spec);
  if (err) throw new CriaError('bad-argument', err);
  checkBinding(rec.ctx, nCtx * spec.dim * 4, `the RoPE table (${nCtx} positions × ${spec.dim})`);
  const data = buildRopeTable(spec, nCtx);
  return { ...spec, freqFactors: spec.freqFactors?.slice(), nCtx, buffer: rec.upload(data, 'rope_table') };
}

/** x [n, nHeads·headDim] with row t at position pos0 + t → rotated copy, same shape. */
export function rope(rec: Recorder, x: GpuTensor, table: RopeTable, p: RopeKernelParams, pos0: number): GpuTensor {
  return rotate(rec, 'rope', x, table, p, pos0, false);
}

/** RoPE's gradient w.r.t. its input (training): dy's pairs rotated back by their angles, with the forward pass's table. */
export function ropeBackward(rec: Recorder, dy: GpuTensor, table: RopeTable, p: RopeKernelParams, pos0: number): GpuTensor {
  return rotate(rec, 'ropeBackward', dy, table, p, pos0, true);
}

function rotate(rec: Recorder, what: string, x: GpuTensor, table: RopeTable, p: RopeKernelParams, pos0: number, inverse: boolean): GpuTensor {
  if (x.cols !== p.nHeads * p.headDim) throw new CriaError('internal', `${what}: x has ${x.cols} columns, ${p.nHeads} heads × ${p.headDim} = ${p.nHeads * p.headDim} expected`);
  if (p.headDim % 2 !== 0 || p.dim % 2 !== 0 || p.dim > p.headDim) throw new CriaError('internal', `${what}: dim ${p.dim} and head dim ${p.headDim} must be even with dim ≤ head dim`);
  const mismatch = ropeTableMismatch(table, p, pos0, x.rows);
  if (mismatch) throw new CriaError('internal', `${what}: ${mismatch}`);
  const y: GpuTensor = { rows: x.rows, cols: x.cols, buffer: rec.temp(x.rows * x.cols * 4) };
  rec.dispatch({
    kernel: ropeKernel,
    variant: { overrides: { WG } },
    params: { n_rows: x.rows, n_heads: p.nHeads, head_dim: p.headDim, half: p.dim / 2, neox: p.type === 'neox' ? 1 : 0, pos0, inverse: inverse ? 1 : 0 },
    bindings: [x.buffer, table.buffer, y.buffer],
    grid: grid1d(Math.ceil((x.rows * x.cols) / 2 / WG)),
  });
  return y;
}

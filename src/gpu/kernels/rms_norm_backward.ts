/** Launcher for kernels/rms_norm_backward.wgsl: the gradient of RMSNorm w.r.t. its input (training; the norm's weight frozen). */
import source from '@kernels/rms_norm_backward.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const rmsNormBackwardKernel = defineKernel('rms_norm_backward', source);

const WG = 64;

/** dx [rows, cols] of y = rmsNorm(x, w, eps) over groups of `groupSize` columns (default: the row), given dy. */
export function rmsNormBackward(rec: Recorder, x: GpuTensor, w: GpuTensor, eps: number, dy: GpuTensor, groupSize = x.cols): GpuTensor {
  if (dy.rows !== x.rows || dy.cols !== x.cols) throw new CriaError('internal', `rmsNormBackward: dy ${dy.rows}×${dy.cols}, x ${x.rows}×${x.cols}`);
  if (x.cols % groupSize !== 0) throw new CriaError('internal', `rmsNormBackward: ${x.cols} columns are not whole groups of ${groupSize}`);
  const nGroups = (x.rows * x.cols) / groupSize;
  const dx: GpuTensor = { rows: x.rows, cols: x.cols, buffer: rec.temp(x.rows * x.cols * 4) };
  rec.dispatch({ kernel: rmsNormBackwardKernel, variant: { overrides: { WG } }, params: { group_size: groupSize, n_groups: nGroups, eps }, bindings: [x.buffer, w.buffer, dy.buffer, dx.buffer], grid: grid1d(nGroups) });
  return dx;
}

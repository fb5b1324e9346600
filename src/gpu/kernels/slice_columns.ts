/** Launcher for kernels/slice_columns.wgsl: columns [col0, col0 + cols) of every row. */
import source from '@kernels/slice_columns.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const sliceColumnsKernel = defineKernel('slice_columns', source);

const WG = 256;

export function sliceColumns(rec: Recorder, x: GpuTensor, col0: number, cols: number): GpuTensor {
  if (!(Number.isInteger(col0) && Number.isInteger(cols) && col0 >= 0 && cols >= 0 && col0 + cols <= x.cols)) {
    throw new CriaError('internal', `slice_columns: columns [${col0}, ${col0 + cols}) out of 0..${x.cols}`);
  }
  const n = x.rows * cols;
  const y: GpuTensor = { rows: x.rows, cols, buffer: rec.temp(n * 4) };
  rec.dispatch({
    kernel: sliceColumnsKernel,
    variant: { overrides: { WG } },
    params: { rows: x.rows, x_cols: x.cols, col0, cols },
    bindings: [x.buffer, y.buffer],
    grid: grid1d(Math.ceil(n / WG)),
  });
  return y;
}

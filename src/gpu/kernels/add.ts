/** Launcher for kernels/add.wgsl: y = a + b, elementwise. */
import source from '@kernels/add.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const addKernel = defineKernel('add', source);

const WG = 256;

export function add(rec: Recorder, a: GpuTensor, b: GpuTensor): GpuTensor {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new CriaError('internal', `add: shapes ${a.rows}×${a.cols} and ${b.rows}×${b.cols} differ`);
  const n = a.rows * a.cols;
  const y: GpuTensor = { rows: a.rows, cols: a.cols, buffer: rec.temp(n * 4) };
  rec.dispatch({ kernel: addKernel, variant: { overrides: { WG } }, params: { n }, bindings: [a.buffer, b.buffer, y.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return y;
}

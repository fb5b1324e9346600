/** Launcher for kernels/softcap.wgsl: y = cap · tanh(x / cap), elementwise. */
import source from '@kernels/softcap.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const softcapKernel = defineKernel('softcap', source);

const WG = 256;

export function softcap(rec: Recorder, x: GpuTensor, cap: number): GpuTensor {
  if (!(cap > 0)) throw new CriaError('internal', `softcap: cap ${cap} must be > 0`);
  const n = x.rows * x.cols;
  const y: GpuTensor = { rows: x.rows, cols: x.cols, buffer: rec.temp(n * 4) };
  rec.dispatch({ kernel: softcapKernel, variant: { overrides: { WG } }, params: { n, cap }, bindings: [x.buffer, y.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return y;
}

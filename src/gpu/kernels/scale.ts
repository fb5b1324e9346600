/** Launcher for kernels/scale.wgsl: y = s · x, elementwise. */
import source from '@kernels/scale.wgsl?raw';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const scaleKernel = defineKernel('scale', source);

const WG = 256;

export function scale(rec: Recorder, x: GpuTensor, s: number): GpuTensor {
  const n = x.rows * x.cols;
  const y: GpuTensor = { rows: x.rows, cols: x.cols, buffer: rec.temp(n * 4) };
  rec.dispatch({ kernel: scaleKernel, variant: { overrides: { WG } }, params: { n, s }, bindings: [x.buffer, y.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return y;
}

/** Launcher for kernels/geglu.wgsl: y = gelu_tanh(gate) · up, elementwise. */
import source from '@kernels/geglu.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const gegluKernel = defineKernel('geglu', source);

const WG = 256;

export function geglu(rec: Recorder, gate: GpuTensor, up: GpuTensor): GpuTensor {
  if (gate.rows !== up.rows || gate.cols !== up.cols) throw new CriaError('internal', `geglu: gate ${gate.rows}×${gate.cols} and up ${up.rows}×${up.cols} differ`);
  const n = gate.rows * gate.cols;
  const y: GpuTensor = { rows: gate.rows, cols: gate.cols, buffer: rec.temp(n * 4) };
  rec.dispatch({ kernel: gegluKernel, variant: { overrides: { WG } }, params: { n }, bindings: [gate.buffer, up.buffer, y.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return y;
}

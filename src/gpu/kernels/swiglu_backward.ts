/** Launcher for kernels/swiglu_backward.wgsl: the gradients of silu(gate) · up w.r.t. gate and up (training). */
import source from '@kernels/swiglu_backward.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const swigluBackwardKernel = defineKernel('swiglu_backward', source);

const WG = 256;

/** dgate and dup [rows, F] from gate, up and dy [rows, F]. */
export function swigluBackward(rec: Recorder, gate: GpuTensor, up: GpuTensor, dy: GpuTensor): { dg: GpuTensor; du: GpuTensor } {
  for (const [name, t] of [['up', up], ['dy', dy]] as const) {
    if (t.rows !== gate.rows || t.cols !== gate.cols) throw new CriaError('internal', `swigluBackward: ${name} is ${t.rows}×${t.cols}, gate ${gate.rows}×${gate.cols}`);
  }
  const n = gate.rows * gate.cols;
  const dg: GpuTensor = { rows: gate.rows, cols: gate.cols, buffer: rec.temp(n * 4) };
  const du: GpuTensor = { rows: gate.rows, cols: gate.cols, buffer: rec.temp(n * 4) };
  rec.dispatch({ kernel: swigluBackwardKernel, variant: { overrides: { WG } }, params: { n }, bindings: [gate.buffer, up.buffer, dy.buffer, dg.buffer, du.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return { dg, du };
}

/** Launcher for kernels/swiglu.wgsl: y = silu(gate) · up, elementwise (separate or fused gate|up). */
import source from '@kernels/swiglu.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const swigluKernel = defineKernel('swiglu', source);

const WG = 256;

/**
 * silu(gate) · up, elementwise: gate and up [rows, F] → [rows, F]; or, with one argument,
 * a fused gate_up projection [rows, 2F] (gate = the first F columns, up = the last F) → [rows, F].
 */
export function swiglu(rec: Recorder, gate: GpuTensor, up?: GpuTensor): GpuTensor {
  if (up && (gate.rows !== up.rows || gate.cols !== up.cols)) throw new CriaError('internal', `swiglu: gate ${gate.rows}×${gate.cols} and up ${up.rows}×${up.cols} differ`);
  if (!up && gate.cols % 2 !== 0) throw new CriaError('internal', `swiglu: a fused gate|up activation needs an even column count, has ${gate.cols}`);
  const cols = up ? gate.cols : gate.cols / 2;
  const n = gate.rows * cols;
  const y: GpuTensor = { rows: gate.rows, cols, buffer: rec.temp(n * 4) };
  const params = up ? { n, cols: n, stride: n, u_off: 0 } : { n, cols, stride: 2 * cols, u_off: cols };
  rec.dispatch({ kernel: swigluKernel, variant: { overrides: { WG } }, params, bindings: [gate.buffer, (up ?? gate).buffer, y.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return y;
}

/** Launcher for kernels/geglu_backward.wgsl and kernels/softcap_backward.wgsl: elementwise gradients (training). */
import sourceGeglu from '@kernels/geglu_backward.wgsl?raw';
import sourceSoftcap from '@kernels/softcap_backward.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const gegluBackwardKernel = defineKernel('geglu_backward', sourceGeglu);
export const softcapBackwardKernel = defineKernel('softcap_backward', sourceSoftcap);

const WG = 256;

const same = (what: string, a: GpuTensor, b: GpuTensor) => {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new CriaError('internal', `${what}: ${a.rows}×${a.cols} and ${b.rows}×${b.cols} differ`);
};

/** dgate and dup [rows, F] of gelu(gate) · up, given dy. */
export function gegluBackward(rec: Recorder, gate: GpuTensor, up: GpuTensor, dy: GpuTensor): { dg: GpuTensor; du: GpuTensor } {
  same('gegluBackward', gate, up);
  same('gegluBackward', gate, dy);
  const n = gate.rows * gate.cols;
  const dg: GpuTensor = { rows: gate.rows, cols: gate.cols, buffer: rec.temp(n * 4) };
  const du: GpuTensor = { rows: gate.rows, cols: gate.cols, buffer: rec.temp(n * 4) };
  rec.dispatch({ kernel: gegluBackwardKernel, variant: { overrides: { WG } }, params: { n }, bindings: [gate.buffer, up.buffer, dy.buffer, dg.buffer, du.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return { dg, du };
}

/** dx of cap · tanh(x / cap), given dy. */
export function softcapBackward(rec: Recorder, x: GpuTensor, cap: number, dy: GpuTensor): GpuTensor {
  same('softcapBackward', x, dy);
  if (!(cap > 0)) throw new CriaError('internal', `softcapBackward: cap ${cap} must be above 0`);
  const n = x.rows * x.cols;
  const dx: GpuTensor = { rows: x.rows, cols: x.cols, buffer: rec.temp(n * 4) };
  rec.dispatch({ kernel: softcapBackwardKernel, variant: { overrides: { WG } }, params: { n, cap }, bindings: [x.buffer, dy.buffer, dx.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return dx;
}

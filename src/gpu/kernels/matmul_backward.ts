/**
 * Launcher for kernels/matmul_backward_input.wgsl and kernels/matmul_backward_weight.wgsl: the
 * gradients of y = x · Wᵀ w.r.t. x (a weight of any type: frozen quantized base weights too) and
 * w.r.t. an f32 W (training: a LoRA adapter's A and B, f32 models).
 */
import sourceInput from '@kernels/matmul_backward_input.wgsl?raw';
import sourceWeight from '@kernels/matmul_backward_weight.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import type { GpuTensor } from '../tensor.ts';
import type { GpuWeight } from '../weights.ts';

export const matmulBackwardInputKernel = defineKernel('matmul_backward_input', sourceInput);
export const matmulBackwardWeightKernel = defineKernel('matmul_backward_weight', sourceWeight);

const WG = 64;

function check(rec: Recorder, what: string, blocks: number, rows: number): void {
  const max = rec.device.limits.maxComputeWorkgroupsPerDimension;
  if (blocks > max || rows > max) throw new CriaError('internal', `${what}: grid ${blocks}×${rows} exceeds ${max} workgroups per dimension`);
}

/** dx [rows, in] = dy [rows, out] · W for a weight of any type, W [out rows × in cols] (dequantized as the forward product does). */
export function matmulBackwardInput(rec: Recorder, dy: GpuTensor, w: GpuWeight): GpuTensor {
  if (dy.cols !== w.rows) throw new CriaError('internal', `matmulBackwardInput: dy has ${dy.cols} columns, ${w.name} ${w.rows} rows`);
  const chunks = Math.ceil(w.cols / w.lib.chunk);
  const dx: GpuTensor = { rows: dy.rows, cols: w.cols, buffer: rec.temp(dy.rows * w.cols * 4) };
  const blocks = Math.ceil(chunks / WG);
  check(rec, 'matmulBackwardInput', blocks, dy.rows);
  rec.dispatch({
    kernel: matmulBackwardInputKernel,
    variant: { libs: [w.lib], overrides: { WG } },
    params: { rows: dy.rows, in_dim: w.cols, out_dim: w.rows, d_off: w.dOffsetWords, chunks_per_row: chunks },
    bindings: [w.buffer, dy.buffer, dx.buffer],
    grid: [blocks, dy.rows, 1],
  });
  return dx;
}

/** dW [out, in] = dyᵀ [out, rows] · x [rows, in]. */
export function matmulBackwardWeight(rec: Recorder, dy: GpuTensor, x: GpuTensor): GpuTensor {
  if (dy.rows !== x.rows) throw new CriaError('internal', `matmulBackwardWeight: dy has ${dy.rows} rows, x ${x.rows}`);
  const dw: GpuTensor = { rows: dy.cols, cols: x.cols, buffer: rec.temp(dy.cols * x.cols * 4) };
  const blocks = Math.ceil(x.cols / WG);
  check(rec, 'matmulBackwardWeight', blocks, dy.cols);
  rec.dispatch({ kernel: matmulBackwardWeightKernel, variant: { overrides: { WG } }, params: { rows: dy.rows, in_dim: x.cols, out_dim: dy.cols }, bindings: [dy.buffer, x.buffer, dw.buffer], grid: [blocks, dy.cols, 1] });
  return dw;
}

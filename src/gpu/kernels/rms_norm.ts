/** Launcher for kernels/rms_norm.wgsl: y = x / rms(x) · w over groups of `groupSize`. */
import source from '@kernels/rms_norm.wgsl?raw';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const rmsNormKernel = defineKernel('rms_norm', source);

export function rmsNorm(rec: Recorder, x: GpuTensor, w: GPUBuffer, eps: number, groupSize = x.cols): GpuTensor {
  const nGroups = (x.rows * x.cols) / groupSize;
  const y: GpuTensor = { rows: x.rows, cols: x.cols, buffer: rec.temp(x.rows * x.cols * 4) };
  const wg = groupSize >= 256 ? 64 : 32;
  rec.dispatch({
    kernel: rmsNormKernel,
    variant: { overrides: { WG: wg } },
    params: { group_size: groupSize, n_groups: nGroups, eps },
    bindings: [x.buffer, w, y.buffer],
    grid: grid1d(nGroups),
  });
  return y;
}

import type { GpuBuf } from './recorder.ts';

/** A GPU activation: `rows × cols` f32, row-major, at the start of `buffer` (usually a temporary). */
export interface GpuTensor {
  readonly rows: number;
  readonly cols: number;
  readonly buffer: GpuBuf;
}

/**
 * Workgroup grid for `n` workgroups: (min(n, max), ⌈n / max⌉, 1). Kernels
 * recover the linear id as `wid.x + wid.y * nwg.x` and skip ids ≥ n.
 */
export function grid1d(n: number, maxPerDim = 65535): [number, number, number] {
  if (n <= maxPerDim) return [Math.max(n, 0), 1, 1];
  return [maxPerDim, Math.ceil(n / maxPerDim), 1];
}

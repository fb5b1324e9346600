/** Launcher for kernels/embedding.wgsl: rows `ids` of a (quantized) weight, dequantized → [n, cols]. */
import source from '@kernels/embedding.wgsl?raw';
import { defineKernel } from '../kernel.ts';
import type { GpuBuf, Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';
import type { GpuWeight } from '../weights.ts';

export const embeddingKernel = defineKernel('embedding', source);

const WG = 64;

/** `ids`: a u32 buffer of n token ids (each < w.rows, checked by the caller). */
export function embedding(rec: Recorder, w: GpuWeight, ids: GpuBuf, n: number): GpuTensor {
  const chunksPerRow = Math.ceil(w.cols / w.lib.chunk);
  const y: GpuTensor = { rows: n, cols: w.cols, buffer: rec.temp(n * w.cols * 4) };
  rec.dispatch({
    kernel: embeddingKernel,
    variant: { libs: [w.lib], overrides: { WG } },
    params: { cols: w.cols, n_tokens: n, d_off: w.dOffsetWords, chunks_per_row: chunksPerRow },
    bindings: [w.buffer, ids, y.buffer],
    grid: grid1d(Math.ceil((n * chunksPerRow) / WG)),
  });
  return y;
}

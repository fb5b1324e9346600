/**
 * Launcher for kernels/argmax.wgsl: per row of logits, the index of the maximum (lowest index on
 * ties, NaN never wins) → u32 [rows]. Greedy decoding reads back these 4 bytes per row, not the logits.
 */
import source from '@kernels/argmax.wgsl?raw';
import { defineKernel } from '../kernel.ts';
import type { GpuBuf, Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const argmaxKernel = defineKernel('argmax', source);

const WG = 256;
/**
 * Logits per workgroup in the first pass when a row is split. One workgroup per row streams the
 * whole row through one compute unit (1 MiB for a 262144 vocabulary); with few rows (decoding) the
 * row is split into chunks of 4096 (16 per thread) so that up to 64 workgroups share the read, and
 * a second dispatch reduces the ≤ 64 pairs per row. With many rows (scoring a prompt) there are
 * enough workgroups already and one pass is cheaper.
 */
const CHUNK = 4096;
const SPLIT_BELOW_ROWS = 32;

/** → a u32 buffer [rows], valid until the end of the next flush (a temp). */
export function argmax(rec: Recorder, logits: GpuTensor): GpuBuf {
  const { rows, cols } = logits;
  const out = rec.temp(rows * 4);
  const nChunks = rows < SPLIT_BELOW_ROWS ? Math.ceil(cols / CHUNK) : 1;
  if (nChunks <= 1) {
    rec.dispatch({
      kernel: argmaxKernel,
      variant: { overrides: { WG, PAIRS: 0, FINAL: 1 } },
      params: { rows, cols, chunk: cols, n_chunks: 1 },
      bindings: [logits.buffer, out],
      grid: grid1d(rows),
    });
    return out;
  }
  const pairs = rec.temp(rows * nChunks * 8);
  rec.dispatch({
    kernel: argmaxKernel,
    variant: { overrides: { WG, PAIRS: 0, FINAL: 0 } },
    params: { rows, cols, chunk: CHUNK, n_chunks: nChunks },
    bindings: [logits.buffer, pairs],
    grid: grid1d(rows * nChunks),
  });
  rec.dispatch({
    kernel: argmaxKernel,
    variant: { overrides: { WG, PAIRS: 1, FINAL: 1 } },
    params: { rows, cols: nChunks, chunk: nChunks, n_chunks: 1 },
    bindings: [pairs, out],
    grid: grid1d(rows),
  });
  return out;
}

/**
 * Launcher for kernels/topk.wgsl: per row of logits, the k largest as (id, value) pairs sorted by
 * value descending, ties by lower id (NaN counts and is reported as −∞). The sampler then works on
 * k candidates (`Sampler.sampleCandidates`), so a token reads back k·8 bytes instead of the logits.
 */
import source from '@kernels/topk.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { GpuBuf, Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const topkKernel = defineKernel('topk', source);

/** the largest k the kernel supports (its sort buffer in workgroup memory) */
export const TOPK_MAX_K = 256;

const WG = 256;
/**
 * Logits per workgroup in the first pass when a row is split: with few rows (decoding) a row of up
 * to 262144 logits becomes ≤ 64 workgroups of 4096 (16 per thread), and a second dispatch selects
 * the top k of their n_chunks·k candidates. With many rows there are enough workgroups already.
 */
const CHUNK = 4096;
const SPLIT_BELOW_ROWS = 32;

/** pairs [rows × k] of (id u32, value f32), interleaved, in `buffer` (a temp: read it at the next flush) */
export interface GpuTopK {
  readonly rows: number;
  /** min(requested k, cols) */
  readonly k: number;
  readonly buffer: GpuBuf;
}

export function topk(rec: Recorder, logits: GpuTensor, k: number): GpuTopK {
  const { rows, cols } = logits;
  if (!(Number.isInteger(k) && k >= 1 && k <= TOPK_MAX_K)) throw new CriaError('bad-argument', `top-k on the GPU needs 1 ≤ k ≤ ${TOPK_MAX_K}, got ${k}`);
  if (cols < 1) throw new CriaError('internal', 'topk: a row has no logits');
  const kOut = Math.min(k, cols);
  const out: GpuTopK = { rows, k: kOut, buffer: rec.temp(rows * kOut * 8) };
  const nChunks = rows < SPLIT_BELOW_ROWS ? Math.ceil(cols / CHUNK) : 1;
  if (nChunks <= 1) {
    rec.dispatch({
      kernel: topkKernel,
      variant: { overrides: { WG, PAIRS: 0, FINAL: 1 } },
      params: { rows, cols, chunk: cols, n_chunks: 1, k, k_out: kOut },
      bindings: [logits.buffer, out.buffer],
      grid: grid1d(rows),
    });
    return out;
  }
  // cols > CHUNK ≥ k here, so every row has ≥ k real candidates and kOut = k
  const pairs = rec.temp(rows * nChunks * k * 8);
  rec.dispatch({
    kernel: topkKernel,
    variant: { overrides: { WG, PAIRS: 0, FINAL: 0 } },
    params: { rows, cols, chunk: CHUNK, n_chunks: nChunks, k, k_out: k },
    bindings: [logits.buffer, pairs],
    grid: grid1d(rows * nChunks),
  });
  rec.dispatch({
    kernel: topkKernel,
    variant: { overrides: { WG, PAIRS: 1, FINAL: 1 } },
    params: { rows, cols: nChunks * k, chunk: nChunks * k, n_chunks: 1, k, k_out: kOut },
    bindings: [pairs, out.buffer],
    grid: grid1d(rows),
  });
  return out;
}

/** Split read-back bytes of a GpuTopK into ids [rows × k] and values [rows × k]. */
export function decodeTopK(bytes: ArrayBuffer, rows: number, k: number): { ids: Uint32Array; values: Float32Array } {
  const u = new Uint32Array(bytes, 0, rows * k * 2);
  const f = new Float32Array(bytes, 0, rows * k * 2);
  const ids = new Uint32Array(rows * k);
  const values = new Float32Array(rows * k);
  for (let i = 0; i < rows * k; i++) {
    ids[i] = u[2 * i];
    values[i] = f[2 * i + 1];
  }
  return { ids, values };
}

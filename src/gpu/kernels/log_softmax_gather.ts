/**
 * Launcher for kernels/log_softmax_gather.wgsl: per row of logits, the log-probability of a target
 * id and the row's argmax (scoring: is the continuation greedy?). Reads back 8 bytes per row.
 */
import source from '@kernels/log_softmax_gather.wgsl?raw';
import { defineKernel } from '../kernel.ts';
import type { GpuBuf, Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const logSoftmaxGatherKernel = defineKernel('log_softmax_gather', source);

const WG = 256;

/** pairs [rows] of (logprob f32, argmax u32), interleaved, in `buffer` (a temp: read it at the next flush) */
export interface GpuLogprobs {
  readonly rows: number;
  readonly buffer: GpuBuf;
}

/** `targets`: a u32 buffer [logits.rows] of token ids (< cols, checked by the caller; others give NaN). */
export function logSoftmaxGather(rec: Recorder, logits: GpuTensor, targets: GpuBuf): GpuLogprobs {
  const out: GpuLogprobs = { rows: logits.rows, buffer: rec.temp(logits.rows * 8) };
  rec.dispatch({
    kernel: logSoftmaxGatherKernel,
    variant: { overrides: { WG } },
    params: { rows: logits.rows, cols: logits.cols },
    bindings: [logits.buffer, targets, out.buffer],
    grid: grid1d(logits.rows),
  });
  return out;
}

/** Split read-back bytes of a GpuLogprobs into logprobs [rows] and argmax [rows]. */
export function decodeLogprobs(bytes: ArrayBuffer, rows: number): { logprobs: Float32Array; argmax: Uint32Array } {
  const u = new Uint32Array(bytes, 0, rows * 2);
  const f = new Float32Array(bytes, 0, rows * 2);
  return { logprobs: Float32Array.from({ length: rows }, (_, i) => f[2 * i]), argmax: Uint32Array.from({ length: rows }, (_, i) => u[2 * i + 1]) };
}

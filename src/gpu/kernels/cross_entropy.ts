/** Launcher for kernels/cross_entropy.wgsl: the training loss per row and its gradient w.r.t. the logits. */
import source from '@kernels/cross_entropy.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const crossEntropyKernel = defineKernel('cross_entropy', source);

const WG = 256;

/**
 * Per row of `logits` [rows, V] with a target (−1: unscored): its loss (logsumexp − the target's logit)
 * and dlogits = (softmax − onehot) / (scored rows); `loss` [rows, 1] sums to the mean loss × the scored rows.
 */
export function crossEntropy(rec: Recorder, logits: GpuTensor, targets: readonly number[]): { dlogits: GpuTensor; loss: GpuTensor; count: number } {
  if (targets.length !== logits.rows) throw new CriaError('internal', `crossEntropy: ${targets.length} targets for ${logits.rows} rows`);
  for (const t of targets) if (!Number.isInteger(t) || t < -1 || t >= logits.cols) throw new CriaError('internal', `crossEntropy: target ${t} is outside the vocabulary (0..${logits.cols - 1}, or −1)`);
  const count = targets.filter((t) => t >= 0).length;
  const tbuf = rec.temp(targets.length * 4);
  rec.write(tbuf, Int32Array.from(targets));
  const dlogits: GpuTensor = { rows: logits.rows, cols: logits.cols, buffer: rec.temp(logits.rows * logits.cols * 4) };
  const loss: GpuTensor = { rows: logits.rows, cols: 1, buffer: rec.temp(logits.rows * 4) };
  rec.dispatch({
    kernel: crossEntropyKernel,
    variant: { overrides: { WG } },
    params: { n_vocab: logits.cols, rows: logits.rows, inv_count: count ? 1 / count : 0 },
    bindings: [logits.buffer, tbuf, dlogits.buffer, loss.buffer],
    grid: grid1d(logits.rows),
  });
  return { dlogits, loss, count };
}

/**
 * Launcher for kernels/mask_logits.wgsl: one row of logits, disallowed tokens set to −∞ in place.
 * The bitmask goes up through the recorder's write path into a temporary: written just before the
 * flush's one submit into a pooled buffer (the same one step after step, so a decode loop creates
 * none), and several masks recorded before one flush each keep their own contents.
 */
import source from '@kernels/mask_logits.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { checkMask, maskWords } from '../../reference/mask_logits.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const maskLogitsKernel = defineKernel('mask_logits', source);

const WG = 256;

/** Masks `logits` (1 × nVocab) in place and returns it. Only the first ⌈nVocab / 32⌉ words of `allowed` are uploaded. */
export function maskLogits(rec: Recorder, logits: GpuTensor, allowed: Uint32Array): GpuTensor {
  if (logits.rows !== 1) throw new CriaError('internal', `maskLogits: one row of logits expected, got ${logits.rows}×${logits.cols}`);
  const n = logits.cols;
  checkMask(n, allowed);
  const words = maskWords(n);
  const mask = rec.temp(words * 4);
  rec.write(mask, allowed.subarray(0, words));
  rec.dispatch({ kernel: maskLogitsKernel, variant: { overrides: { WG } }, params: { n }, bindings: [mask, logits.buffer], grid: grid1d(Math.ceil(n / WG)) });
  return logits;
}

/**
 * Launcher for kernels/attention_backward_q.wgsl and kernels/attention_backward_kv.wgsl: the gradients
 * of causal attention over one whole sequence (training) w.r.t. q, k and v, given dout.
 */
import sourceQ from '@kernels/attention_backward_q.wgsl?raw';
import sourceKv from '@kernels/attention_backward_kv.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { checkBinding } from '../device.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';
import type { AttentionParams } from '../../model/ops.ts';

export const attentionBackwardQKernel = defineKernel('attention_backward_q', sourceQ);
export const attentionBackwardKvKernel = defineKernel('attention_backward_kv', sourceKv);

const WG = 64;

/** q [n, nHead·hd], k [n, nHeadKv·hd], v [n, nHeadKv·hdv], dout [n, nHead·hdv] (positions 0..n−1) → dq, dk, dv. */
export function attentionBackward(rec: Recorder, q: GpuTensor, k: GpuTensor, v: GpuTensor, dout: GpuTensor, p: Omit<AttentionParams, 'layer'>): { dq: GpuTensor; dk: GpuTensor; dv: GpuTensor } {
  const n = q.rows;
  const fail = (m: string) => new CriaError('internal', `attentionBackward: ${m}`);
  if (!(p.nHeadKv > 0 && p.nHead % p.nHeadKv === 0)) throw fail(`${p.nHead} heads is not a multiple of ${p.nHeadKv} kv heads`);
  if (q.cols !== p.nHead * p.headDim || k.cols !== p.nHeadKv * p.headDim || v.cols !== p.nHeadKv * p.headDimV || dout.cols !== p.nHead * p.headDimV) throw fail('q, k, v or dout has the wrong width');
  if (k.rows !== n || v.rows !== n || dout.rows !== n) throw fail('q, k, v and dout must have one row per token');
  // P and dz: one row of n per (token, head)
  const bytes = n * p.nHead * n * 4;
  checkBinding(rec.ctx, bytes, `attention's backward scratch (${n} tokens × ${p.nHead} heads × ${n})`);
  const pm = rec.temp(bytes);
  const dzm = rec.temp(bytes);
  const dq: GpuTensor = { rows: n, cols: q.cols, buffer: rec.temp(n * q.cols * 4) };
  const dk: GpuTensor = { rows: n, cols: k.cols, buffer: rec.temp(n * k.cols * 4) };
  const dv: GpuTensor = { rows: n, cols: v.cols, buffer: rec.temp(n * v.cols * 4) };
  const params = { n, n_head: p.nHead, n_head_kv: p.nHeadKv, head_dim: p.headDim, head_dim_v: p.headDimV, scale: p.scale, softcap: p.softcap, window: p.window };
  rec.dispatch({ kernel: attentionBackwardQKernel, variant: { overrides: { WG } }, params, bindings: [q.buffer, k.buffer, v.buffer, dout.buffer, pm, dzm, dq.buffer], grid: grid1d(n * p.nHead) });
  rec.dispatch({ kernel: attentionBackwardKvKernel, variant: { overrides: { WG } }, params, bindings: [q.buffer, dout.buffer, pm, dzm, dk.buffer, dv.buffer], grid: grid1d(n * p.nHeadKv) });
  return { dq, dk, dv };
}

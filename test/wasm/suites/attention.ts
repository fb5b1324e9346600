/**
 * attention against src/reference/attention.ts: GQA groups, soft-capping, a sliding window, prefill
 * (several rows at once, causal) and decode far into the context. The kernel accumulates scores,
 * softmax and the weighted sum in f32, the reference in f64: each output is a convex combination of V
 * values, so the error is bounded by a few f32 roundings per term times max|V|: the bound is
 * 1e-5·max|V| + 1e-6 (a score error of ε moves a weight by ≤ ε·weight).
 */
import type { AttentionParams } from '../../../src/model/ops.ts';
import { attention as reference } from '../../../src/reference/attention.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { attention } from '../../../src/wasm/kernels/attention.ts';
import { compare, type Suite } from '../harness.ts';

interface Case {
  n: number;
  pos0: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  headDimV: number;
  softcap: number;
  window: number;
}

const CASES: Case[] = [
  { n: 1, pos0: 0, nHead: 1, nHeadKv: 1, headDim: 4, headDimV: 4, softcap: 0, window: 0 },
  { n: 5, pos0: 0, nHead: 9, nHeadKv: 3, headDim: 64, headDimV: 64, softcap: 0, window: 0 },
  { n: 1, pos0: 300, nHead: 9, nHeadKv: 3, headDim: 64, headDimV: 64, softcap: 0, window: 0 },
  { n: 3, pos0: 17, nHead: 4, nHeadKv: 2, headDim: 32, headDimV: 32, softcap: 50, window: 8 },
  { n: 2, pos0: 9, nHead: 2, nHeadKv: 1, headDim: 6, headDimV: 10, softcap: 0, window: 0 },
];

export const attentionSuite: Suite = {
  name: 'attention',
  cases: CASES.map((c) => ({
    name: JSON.stringify(c),
    run(ctx) {
      const rng = new Rng(c.n * 31 + c.pos0 + c.nHead);
      const ctxLen = c.pos0 + c.n;
      const kvDim = c.nHeadKv * c.headDim;
      const kvDimV = c.nHeadKv * c.headDimV;
      const kAll = Float32Array.from({ length: ctxLen * kvDim }, () => rng.normal());
      const vAll = Float32Array.from({ length: ctxLen * kvDimV }, () => rng.normal());
      const q = Float32Array.from({ length: c.n * c.nHead * c.headDim }, () => rng.normal());
      const p: AttentionParams = { layer: 0, nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, headDimV: c.headDimV, scale: 1 / Math.sqrt(c.headDim), softcap: c.softcap, window: c.window };
      ctx.heap.reset();
      const kp = ctx.heap.alloc(kAll.byteLength, 'k');
      const vp = ctx.heap.alloc(vAll.byteLength, 'v');
      ctx.heap.f32(kp, kAll.length).set(kAll);
      ctx.heap.f32(vp, vAll.length).set(vAll);
      const qp = ctx.heap.scratch(q.byteLength);
      ctx.heap.f32(qp, q.length).set(q);
      const got = ctx.heap.f32(attention(ctx.run, ctx.heap, qp, c.nHead * c.headDim, c.n, kp, vp, p, c.pos0), c.n * c.nHead * c.headDimV).slice();
      // the reference writes the new rows into its caches itself
      const kc = kAll.slice();
      const vc = vAll.slice();
      const want = reference(q, kAll.subarray(c.pos0 * kvDim), vAll.subarray(c.pos0 * kvDimV), c.n, kc, vc, p, c.pos0);
      const maxV = vAll.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      return compare('attention', JSON.stringify(c), got, want, () => 1e-5 * maxV + 1e-6);
    },
  })),
};

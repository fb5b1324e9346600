/**
 * attention_backward_q and attention_backward_kv on WebGPU (through their launcher) vs
 * src/reference/attention_backward.ts (float64), which is checked against finite differences in
 * test/unit/backward.test.ts.
 */
import { attentionBackward } from '../../../src/gpu/kernels/attention_backward.ts';
import { attentionBackward as reference } from '../../../src/reference/attention_backward.ts';
import type { AttentionParams } from '../../../src/model/ops.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  n: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  softcap?: number;
  window?: number;
}

export default defineSuite<Case>({
  kernel: 'attention_backward',
  cases: [
    { n: 1, nHead: 1, nHeadKv: 1, headDim: 4 },
    { n: 7, nHead: 4, nHeadKv: 2, headDim: 8 }, // GQA
    { n: 13, nHead: 9, nHeadKv: 3, headDim: 64 }, // SmolLM2-135M heads
    { n: 70, nHead: 14, nHeadKv: 2, headDim: 64 }, // Qwen2.5-0.5B heads, more keys than a workgroup
    { n: 9, nHead: 6, nHeadKv: 1, headDim: 20, softcap: 5, window: 4 }, // gemma2-style
  ],
  name: (c) => `n=${c.n} ${c.nHead}/${c.nHeadKv} heads × ${c.headDim}${c.softcap ? ` softcap ${c.softcap}` : ''}${c.window ? ` window ${c.window}` : ''}`,
  async run(h, c) {
    const p: AttentionParams = { layer: 0, nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, headDimV: c.headDim, scale: 1 / Math.sqrt(c.headDim), softcap: c.softcap ?? 0, window: c.window ?? 0 };
    const q = h.randn(c.n * c.nHead * c.headDim, 41, 1.5);
    const k = h.randn(c.n * c.nHeadKv * c.headDim, 42, 1.5);
    const v = h.randn(c.n * c.nHeadKv * c.headDim, 43);
    const dout = h.randn(c.n * c.nHead * c.headDim, 44);
    const want = reference(q, k, v, c.n, p, dout);
    const got = attentionBackward(h.rec, h.tensor(c.n, c.nHead * c.headDim, q), h.tensor(c.n, c.nHeadKv * c.headDim, k), h.tensor(c.n, c.nHeadKv * c.headDim, v), h.tensor(c.n, c.nHead * c.headDim, dout), p);
    const [dq, dk, dv] = await h.readAll(got.dq, got.dk, got.dv);
    // f32 dot products over head_dim, exp and sums over ≤ n keys and group·n queries, vs f64:
    // errors grow with the sums' lengths; measured against the size of the gradients
    const all = (a: Float32Array, b: Float32Array, cc: Float32Array) => Float64Array.from([...a, ...b, ...cc]);
    return compare(all(dq, dk, dv), all(want.dq, want.dk, want.dv), { atol: 2e-5, rtol: 2e-4, nmse: 1e-9, why: 'f32 dot products, exp and sums over keys and queries vs f64' });
  },
});

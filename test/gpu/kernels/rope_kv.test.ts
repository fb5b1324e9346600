/**
 * rope_kv on WebGPU vs src/reference/rope_kv.ts: a fused q|k|v projection → rotated q, and rotated k
 * and plain v written into the caches. The caches start filled with seeded values, and are compared
 * whole: rows outside [pos0, pos0 + n) must come back untouched.
 */
import { ropeKv } from '../../../src/gpu/kernels/rope_kv.ts';
import { createRopeTable } from '../../../src/gpu/kernels/rope.ts';
import type { RopeArgs } from '../../../src/reference/rope.ts';
import { ropeKv as reference } from '../../../src/reference/rope_kv.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  type: 'normal' | 'neox';
  n: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  /** default headDim */
  headDimV?: number;
  /** rotated entries per head; default headDim */
  dim?: number;
  pos0: number;
  base?: number;
  freqScale?: number;
  attnFactor?: number;
  /** llama3-style frequency factors (seeded, in [1, 8]) */
  factors?: boolean;
  /** check that the launcher refuses positions past the cache (context-overflow) and tables built for other parameters */
  refusals?: boolean;
}

export default defineSuite<Case>({
  kernel: 'rope_kv',
  cases: [
    { type: 'normal', n: 1, nHead: 1, nHeadKv: 1, headDim: 2, pos0: 0 },
    { type: 'normal', n: 1, nHead: 9, nHeadKv: 3, headDim: 64, pos0: 5 }, // SmolLM2-135M, decode
    { type: 'normal', n: 7, nHead: 9, nHeadKv: 3, headDim: 64, pos0: 0 }, // SmolLM2-135M, prefill
    { type: 'neox', n: 5, nHead: 14, nHeadKv: 2, headDim: 64, pos0: 3, base: 1e6 }, // qwen2-0.5B
    { type: 'neox', n: 3, nHead: 8, nHeadKv: 8, headDim: 128, pos0: 4093, base: 1e6 }, // MHA, large angles at the end of a 4096 context
    { type: 'normal', n: 2, nHead: 32, nHeadKv: 8, headDim: 128, pos0: 4000, base: 500000, factors: true }, // llama3
    { type: 'neox', n: 3, nHead: 8, nHeadKv: 8, headDim: 32, pos0: 17, factors: true, attnFactor: 1.19 }, // phi3 LongRoPE
    { type: 'normal', n: 4, nHead: 5, nHeadKv: 5, headDim: 80, dim: 32, pos0: 17 }, // partial rotation, adjacent pairs
    { type: 'neox', n: 4, nHead: 6, nHeadKv: 2, headDim: 96, dim: 24, pos0: 250 }, // partial rotation, NeoX pairs
    { type: 'neox', n: 3, nHead: 4, nHeadKv: 2, headDim: 64, headDimV: 36, pos0: 11 }, // v heads of another size
    { type: 'neox', n: 33, nHead: 8, nHeadKv: 4, headDim: 256, pos0: 100, freqScale: 0.25 }, // gemma2 head size, linear scaling
    { type: 'normal', n: 130, nHead: 9, nHeadKv: 3, headDim: 64, pos0: 1000 }, // a prefill chunk
    { type: 'normal', n: 2, nHead: 4, nHeadKv: 2, headDim: 16, pos0: 0, refusals: true },
  ],
  name: (c) =>
    `${c.type} n=${c.n} ${c.nHead}/${c.nHeadKv}×${c.headDim}${c.headDimV ? ` v ${c.headDimV}` : ''}${c.dim ? ` dim ${c.dim}` : ''} pos0=${c.pos0}${c.base ? ` base ${c.base}` : ''}${c.freqScale ? ` scale ${c.freqScale}` : ''}${c.attnFactor ? ` attn ${c.attnFactor}` : ''}${c.factors ? ' factors' : ''}${c.refusals ? ' refusals' : ''}`,
  async run(h, c) {
    const dim = c.dim ?? c.headDim;
    const shape = { nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, headDimV: c.headDimV ?? c.headDim };
    const r = h.rng(11);
    const rope: Omit<RopeArgs, 'nHeads' | 'headDim'> = {
      type: c.type,
      dim,
      base: c.base ?? 10000,
      freqScale: c.freqScale ?? 1,
      freqFactors: c.factors ? Float32Array.from({ length: dim / 2 }, () => 1 + 7 * r.uniform()) : undefined,
      attnFactor: c.attnFactor,
    };
    const nCtx = c.pos0 + c.n + 3;
    const qLen = c.nHead * c.headDim;
    const kLen = c.nHeadKv * c.headDim;
    const vLen = c.nHeadKv * shape.headDimV;
    const table = createRopeTable(h.rec, rope, nCtx);
    const qkv = h.randn(c.n * (qLen + kLen + vLen), 5);
    const k0 = h.randn(nCtx * kLen, 6);
    const v0 = h.randn(nCtx * vLen, 7);
    const kc = h.upload(k0, 'kCache');
    const vc = h.upload(v0, 'vCache');
    const x = h.tensor(c.n, qLen + kLen + vLen, qkv);
    if (c.refusals) {
      const code = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return (e as { code?: string }).code ?? 'error';
        }
        return undefined;
      };
      const bad: string[] = [];
      if (code(() => ropeKv(h.rec, x, table, rope, shape, kc, vc, nCtx - 1)) !== 'context-overflow') bad.push('rows past the cache are not a context-overflow');
      if (!code(() => ropeKv(h.rec, x, table, { ...rope, base: 500000 }, shape, kc, vc, 0))) bad.push('other base');
      if (!code(() => ropeKv(h.rec, x, table, { ...rope, dim: 8 }, shape, kc, vc, 0))) bad.push('other dim');
      if (!code(() => ropeKv(h.rec, x, table, rope, { ...shape, nHeadKv: 1 }, kc, vc, 0))) bad.push('columns that are not q + k + v');
      if (bad.length) throw new Error(`rope_kv accepted what it cannot do: ${bad.join(', ')}`);
    }
    const wantK = k0.slice();
    const wantV = v0.slice();
    const wantQ = reference(qkv, c.n, shape, rope, wantK, wantV, c.pos0);
    const q = ropeKv(h.rec, x, table, rope, shape, kc, vc, c.pos0);
    const gotQ = await h.read(q);
    const gotK = await h.read({ rows: nCtx, cols: kLen, buffer: kc });
    const gotV = await h.read({ rows: nCtx, cols: vLen, buffer: vc });
    table.buffer.destroy();
    const cat = (...a: Float32Array[]) => {
      const out = new Float32Array(a.reduce((s, x) => s + x.length, 0));
      a.reduce((o, x) => (out.set(x, o), o + x.length), 0);
      return out;
    };
    // As in rope.test.ts: the angles are the reference's own float64 expression, so only f32 roundings
    // differ (cos/sin stored as f32, the two products and the sum or an FMA, the reference's final
    // rounding), bounded by 4·2⁻²⁴·(|a| + |b|)·attnFactor ≤ 8·2⁻²⁴·max|x|·attnFactor, + 2⁻²³·|y|.
    // v and the untouched cache rows are copies: exact.
    const maxX = qkv.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return compare(cat(gotQ, gotK, gotV), cat(wantQ, wantK, wantV), {
      atol: 8 * 2 ** -24 * maxX * (c.attnFactor ?? 1),
      rtol: 2 ** -23,
      nmse: 1e-12,
      why: 'f32 rounding of table cos/sin and of the rotation; copies exact',
    });
  },
});

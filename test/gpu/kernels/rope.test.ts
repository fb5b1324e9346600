/** rope on WebGPU (with its CPU-built cos/sin table) vs src/reference/rope.ts. */
import { createRopeTable, rope } from '../../../src/gpu/kernels/rope.ts';
import { rope as reference, type RopeArgs } from '../../../src/reference/rope.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  type: 'normal' | 'neox';
  n: number;
  nHeads: number;
  headDim: number;
  /** rotated entries per head; default headDim */
  dim?: number;
  pos0: number;
  base?: number;
  freqScale?: number;
  /** llama3-style frequency factors (seeded, in [1, 8]) */
  factors?: boolean;
  /** check that the launcher refuses tables built for other parameters */
  refusals?: boolean;
}

export default defineSuite<Case>({
  kernel: 'rope',
  cases: [
    { type: 'normal', n: 1, nHeads: 1, headDim: 2, pos0: 0 },
    { type: 'normal', n: 1, nHeads: 9, headDim: 64, pos0: 5 }, // SmolLM2-135M q, decode
    { type: 'normal', n: 7, nHeads: 3, headDim: 64, pos0: 0 }, // SmolLM2-135M k, prefill
    { type: 'neox', n: 5, nHeads: 14, headDim: 64, pos0: 3, base: 1e6 }, // qwen2-0.5B
    { type: 'neox', n: 3, nHeads: 8, headDim: 128, pos0: 4093, base: 1e6 }, // large angles, end of a 4096 context
    { type: 'normal', n: 2, nHeads: 32, headDim: 128, pos0: 4000, base: 500000, factors: true }, // llama3
    { type: 'normal', n: 4, nHeads: 5, headDim: 80, dim: 32, pos0: 17 }, // partial rotation (phi-2 style), adjacent pairs
    { type: 'neox', n: 4, nHeads: 5, headDim: 96, dim: 24, pos0: 250 }, // partial rotation, NeoX pairs
    { type: 'neox', n: 33, nHeads: 3, headDim: 256, pos0: 100, freqScale: 0.25 }, // gemma2 head size, linear scaling
    { type: 'normal', n: 130, nHeads: 9, headDim: 64, pos0: 1000 }, // prefill chunk, grid > 1 workgroup row block
    { type: 'normal', n: 1, nHeads: 1, headDim: 64, pos0: 0, refusals: true },
  ],
  name: (c) =>
    `${c.type} n=${c.n} ${c.nHeads}×${c.headDim}${c.dim ? ` dim ${c.dim}` : ''} pos0=${c.pos0}${c.base ? ` base ${c.base}` : ''}${c.freqScale ? ` scale ${c.freqScale}` : ''}${c.factors ? ' factors' : ''}${c.refusals ? ' refusals' : ''}`,
  async run(h, c) {
    const dim = c.dim ?? c.headDim;
    const r = h.rng(11);
    const args: RopeArgs = {
      type: c.type,
      nHeads: c.nHeads,
      headDim: c.headDim,
      dim,
      base: c.base ?? 10000,
      freqScale: c.freqScale ?? 1,
      freqFactors: c.factors ? Float32Array.from({ length: dim / 2 }, () => 1 + 7 * r.uniform()) : undefined,
    };
    const nCtx = c.pos0 + c.n + 3;
    const table = createRopeTable(h.rec, args, nCtx);
    const x = h.randn(c.n * c.nHeads * c.headDim, 5);
    const xt = h.tensor(c.n, c.nHeads * c.headDim, x);
    if (c.refusals) {
      const refused = (f: () => unknown) => {
        try {
          f();
        } catch {
          return true;
        }
        return false;
      };
      const bad: string[] = [];
      if (!refused(() => rope(h.rec, xt, table, { ...args, base: 500000 }, 0))) bad.push('other base');
      if (!refused(() => rope(h.rec, xt, table, { ...args, freqScale: 0.5 }, 0))) bad.push('other freqScale');
      if (!refused(() => rope(h.rec, xt, table, { ...args, dim: 32 }, 0))) bad.push('other dim');
      if (!refused(() => rope(h.rec, xt, table, { ...args, freqFactors: new Float32Array(32).fill(1) }, 0))) bad.push('factors the table lacks');
      if (!refused(() => rope(h.rec, xt, table, args, nCtx))) bad.push('position past the table');
      if (bad.length) throw new Error(`rope accepted a table built for other parameters: ${bad.join(', ')}`);
    }
    const want = reference(x, c.n, args, c.pos0);
    const got = await h.read(rope(h.rec, xt, table, args, c.pos0));
    table.buffer.destroy();
    // The angle is the reference's own float64 expression, so the only differences are f32 roundings:
    // cos/sin stored as f32 (2⁻²⁴ relative each), the two products and the sum (or one FMA), and the
    // reference's final rounding of y to f32. y = a·cos − b·sin can cancel, so the bound scales with
    // |a| + |b| ≤ 2·max|x|, not with |y|: 4·2⁻²⁴·2·max|x| absolute, + 2⁻²³·|y|.
    const maxX = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return compare(got, want, { atol: 8 * 2 ** -24 * maxX, rtol: 2 ** -23, nmse: 1e-12, why: 'f32 rounding of table cos/sin and of the rotation' });
  },
});

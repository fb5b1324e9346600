/** RoPE's backward on WebGPU (kernels/rope.wgsl with inverse = 1, the forward pass's cos/sin table) vs src/reference/rope_backward.ts, which is checked against finite differences in test/unit/backward.test.ts. */
import { createRopeTable, ropeBackward } from '../../../src/gpu/kernels/rope.ts';
import type { RopeArgs } from '../../../src/reference/rope.ts';
import { ropeBackward as reference } from '../../../src/reference/rope_backward.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  type: 'normal' | 'neox';
  n: number;
  nHeads: number;
  headDim: number;
  dim?: number;
  base?: number;
  factors?: boolean;
}

export default defineSuite<Case>({
  kernel: 'rope',
  cases: [
    { type: 'normal', n: 1, nHeads: 1, headDim: 2 },
    { type: 'normal', n: 7, nHeads: 3, headDim: 64 }, // SmolLM2-135M k, a training sequence
    { type: 'neox', n: 13, nHeads: 14, headDim: 64, base: 1e6 }, // qwen2-0.5B q
    { type: 'normal', n: 5, nHeads: 4, headDim: 128, base: 500000, factors: true }, // llama3
    { type: 'neox', n: 9, nHeads: 5, headDim: 96, dim: 24 }, // partial rotation
    { type: 'normal', n: 130, nHeads: 9, headDim: 64 }, // a long sequence
  ],
  name: (c) => `${c.type} n=${c.n} ${c.nHeads}×${c.headDim}${c.dim ? ` dim ${c.dim}` : ''}${c.base ? ` base ${c.base}` : ''}${c.factors ? ' factors' : ''}`,
  async run(h, c) {
    const dim = c.dim ?? c.headDim;
    const r = h.rng(12);
    const args: RopeArgs = {
      type: c.type,
      nHeads: c.nHeads,
      headDim: c.headDim,
      dim,
      base: c.base ?? 10000,
      freqScale: 1,
      freqFactors: c.factors ? Float32Array.from({ length: dim / 2 }, () => 1 + 7 * r.uniform()) : undefined,
    };
    const table = createRopeTable(h.rec, args, c.n);
    const dy = h.randn(c.n * c.nHeads * c.headDim, 6);
    const want = reference(dy, c.n, args, 0);
    const got = await h.read(ropeBackward(h.rec, h.tensor(c.n, c.nHeads * c.headDim, dy), table, args, 0));
    table.buffer.destroy();
    // as the forward kernel's suite: f32 cos/sin from the table and the rotation's products and sum
    const maxDy = dy.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return compare(got, want, { atol: 8 * 2 ** -24 * maxDy, rtol: 2 ** -23, nmse: 1e-12, why: 'f32 rounding of table cos/sin and of the rotation' });
  },
});

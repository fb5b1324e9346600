/**
 * rope against src/reference/rope.ts, normal and NeoX, partial rotation (dim < head size), frequency
 * factors and an attention factor, at positions far into the context. The kernel reads f32 cos/sin
 * from the table (each within 2^-24 of the reference's float64 values) and rotates in f32: |error| ≤
 * 4·2^-24·(|x0| + |x1|) per value, bound 4e-7·(|x0| + |x1|) + 1e-7.
 */
import { rope as reference } from '../../../src/reference/rope.ts';
import { buildRopeTable } from '../../../src/shared/rope-table.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { rope } from '../../../src/wasm/kernels/rope.ts';
import { compare, type Suite } from '../harness.ts';

interface Case {
  rows: number;
  nHeads: number;
  headDim: number;
  dim: number;
  neox: boolean;
  pos0: number;
  factors?: boolean;
  attnFactor?: number;
}

const CASES: Case[] = [
  { rows: 1, nHeads: 1, headDim: 2, dim: 2, neox: false, pos0: 0 },
  { rows: 3, nHeads: 9, headDim: 64, dim: 64, neox: false, pos0: 5 },
  { rows: 2, nHeads: 4, headDim: 64, dim: 64, neox: true, pos0: 1000 },
  { rows: 4, nHeads: 2, headDim: 96, dim: 32, neox: true, pos0: 37 }, // partial rotation (phi-2 style)
  { rows: 2, nHeads: 8, headDim: 64, dim: 64, neox: false, pos0: 3000, factors: true }, // llama3 factors
  { rows: 1, nHeads: 3, headDim: 32, dim: 32, neox: true, pos0: 4095, attnFactor: 1.19 },
];

export const ropeSuite: Suite = {
  name: 'rope',
  cases: CASES.map((c) => ({
    name: JSON.stringify(c),
    run(ctx) {
      const rng = new Rng(c.rows * 13 + c.pos0);
      const cols = c.nHeads * c.headDim;
      const x = Float32Array.from({ length: c.rows * cols }, () => rng.normal());
      const freqFactors = c.factors ? Float32Array.from({ length: c.dim / 2 }, (_, j) => 1 + j / 4) : undefined;
      const spec = { dim: c.dim, base: 10000, freqScale: 1, freqFactors, attnFactor: c.attnFactor };
      const table = buildRopeTable(spec, c.pos0 + c.rows);
      ctx.heap.reset();
      const tp = ctx.heap.alloc(table.byteLength, 'table');
      ctx.heap.f32(tp, table.length).set(table);
      const xp = ctx.heap.scratch(x.byteLength);
      ctx.heap.f32(xp, x.length).set(x);
      const y = ctx.heap.f32(rope(ctx.run, ctx.heap, xp, cols, c.rows, { nHeads: c.nHeads, headDim: c.headDim, dim: c.dim, neox: c.neox, table: tp }, c.pos0), x.length).slice();
      const want = reference(x, c.rows, { type: c.neox ? 'neox' : 'normal', nHeads: c.nHeads, headDim: c.headDim, dim: c.dim, base: 10000, freqScale: 1, freqFactors, attnFactor: c.attnFactor }, c.pos0);
      const partner = (i: number) => {
        const within = i % c.headDim;
        if (within >= c.dim) return i;
        const half = c.dim / 2;
        if (c.neox) return within < half ? i + half : i - half;
        return within % 2 === 0 ? i + 1 : i - 1;
      };
      return compare('rope', JSON.stringify(c), y, want, (i) => 4e-7 * (Math.abs(x[i]) + Math.abs(x[partner(i)])) * (c.attnFactor ?? 1) + 1e-7);
    },
  })),
};

/** The RoPE cos/sin table builder (src/gpu/rope-table.ts) in Node: layout, angles, validation, mismatch messages. */
import { describe, expect, it } from 'vitest';
import { buildRopeTable, ropeSpecError, ropeTableMismatch, type RopeTableSpec } from '../../src/shared/rope-table.ts';
import { rope as reference, type RopeArgs } from '../../src/reference/rope.ts';
import { Rng } from '../../src/shared/rng.ts';

/** What kernels/rope.wgsl computes, in f32 (Math.fround after every operation, no FMA). */
function ropeWithTable(x: Float32Array, n: number, p: RopeArgs, pos0: number, table: Float32Array): Float32Array {
  const f = Math.fround;
  const y = Float32Array.from(x);
  const half = p.dim / 2;
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < p.nHeads; h++) {
      const o = (t * p.nHeads + h) * p.headDim;
      for (let j = 0; j < half; j++) {
        const c = table[2 * ((pos0 + t) * half + j)];
        const s = table[2 * ((pos0 + t) * half + j) + 1];
        const i0 = p.type === 'normal' ? o + 2 * j : o + j;
        const i1 = p.type === 'normal' ? i0 + 1 : i0 + half;
        y[i0] = f(f(x[i0] * c) - f(x[i1] * s));
        y[i1] = f(f(x[i0] * s) + f(x[i1] * c));
      }
    }
  }
  return y;
}

describe('buildRopeTable', () => {
  const spec: RopeTableSpec = { dim: 8, base: 10000, freqScale: 1 };

  it('lays out [pos, pair] × (cos, sin) as f32 of the float64 angle', () => {
    const nCtx = 5;
    const t = buildRopeTable(spec, nCtx);
    expect(t.length).toBe(nCtx * 4 * 2);
    for (let pos = 0; pos < nCtx; pos++) {
      for (let j = 0; j < 4; j++) {
        const theta = pos * Math.pow(10000, (-2 * j) / 8);
        expect(t[2 * (pos * 4 + j)]).toBe(Math.fround(Math.cos(theta)));
        expect(t[2 * (pos * 4 + j) + 1]).toBe(Math.fround(Math.sin(theta)));
      }
    }
    // position 0 is the identity
    expect(Array.from(t.subarray(0, 8))).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
  });

  it('applies freqScale and divides by the frequency factors', () => {
    const factors = Float32Array.from([1, 2, 4, 8]);
    const plain = buildRopeTable(spec, 100);
    const scaled = buildRopeTable({ ...spec, freqScale: 0.5 }, 100);
    const divided = buildRopeTable({ ...spec, freqFactors: factors }, 100);
    const at = (t: Float32Array, pos: number, j: number) => Math.atan2(t[2 * (pos * 4 + j) + 1], t[2 * (pos * 4 + j)]);
    // pair 0 turns 1 rad per position: position 2 at scale 0.5 is position 1
    expect(at(scaled, 2, 0)).toBeCloseTo(at(plain, 1, 0), 6);
    expect(at(divided, 8, 3)).toBeCloseTo(at(plain, 1, 3), 6);
    expect(at(divided, 0, 2)).toBe(0);
  });

  it('is accurate at large positions, where an f32 angle would not be', () => {
    const big = { dim: 128, base: 500000, freqScale: 1 };
    const t = buildRopeTable(big, 32768);
    const pos = 32767;
    const theta = pos * Math.pow(500000, 0); // pair 0: θ = pos radians
    expect(t[2 * pos * 64]).toBe(Math.fround(Math.cos(theta)));
    // an angle rounded to f32 first is off by up to ulp(32767)/2 ≈ 1e-3 rad: the table avoids that
    expect(Math.abs(Math.cos(Math.fround(32767.3)) - Math.cos(32767.3))).toBeGreaterThan(1e-5);
  });

  it('matches src/reference/rope.ts up to f32 rounding, in both pair modes and with partial rotation', () => {
    const rng = new Rng(3);
    for (const type of ['normal', 'neox'] as const) {
      for (const [headDim, dim] of [[64, 64], [80, 32], [128, 128]]) {
        const p: RopeArgs = { type, nHeads: 3, headDim, dim, base: 1e6, freqScale: 1, freqFactors: Float32Array.from({ length: dim / 2 }, (_, j) => 1 + (j % 5)) };
        const n = 4;
        const pos0 = 4090;
        const x = Float32Array.from({ length: n * 3 * headDim }, () => rng.normal());
        const want = reference(x, n, p, pos0);
        const got = ropeWithTable(x, n, p, pos0, buildRopeTable(p, pos0 + n));
        const maxX = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let i = 0; i < x.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(8 * 2 ** -24 * maxX + 2 ** -23 * Math.abs(want[i]));
        // pass-through entries are untouched
        for (let i = dim; i < headDim; i++) expect(got[i]).toBe(x[i]);
      }
    }
  });

  it('refuses bad specs', () => {
    expect(() => buildRopeTable({ ...spec, dim: 7 }, 4)).toThrow(/even/);
    expect(() => buildRopeTable({ ...spec, base: 0 }, 4)).toThrow(/base/);
    expect(() => buildRopeTable({ ...spec, freqScale: NaN }, 4)).toThrow(/freqScale/);
    expect(() => buildRopeTable({ ...spec, freqFactors: new Float32Array(3).fill(1) }, 4)).toThrow(/3 values for dim 8/);
    expect(() => buildRopeTable({ ...spec, freqFactors: Float32Array.from([1, 0, 1, 1]) }, 4)).toThrow(/positive/);
    expect(() => buildRopeTable(spec, 0)).toThrow(/nCtx/);
    expect(ropeSpecError(spec)).toBeUndefined();
  });
});

describe('ropeTableMismatch', () => {
  const factors = Float32Array.from([1, 2, 4, 8]);
  const table = { dim: 8, base: 10000, freqScale: 1, freqFactors: factors, nCtx: 16 };
  const p = { dim: 8, base: 10000, freqScale: 1, freqFactors: factors };

  it('accepts the parameters the table was built for, within its positions', () => {
    expect(ropeTableMismatch(table, p, 0, 16)).toBeUndefined();
    expect(ropeTableMismatch(table, { ...p, freqFactors: Float32Array.from(factors) }, 15, 1)).toBeUndefined();
    // a non-array handle (a GPU weight) only needs to be present
    expect(ropeTableMismatch(table, { ...p, freqFactors: { name: 'rope_freqs.weight' } }, 3, 2)).toBeUndefined();
  });

  it('names what differs', () => {
    expect(ropeTableMismatch(table, { ...p, dim: 4 }, 0, 1)).toMatch(/asked for dim 4/);
    expect(ropeTableMismatch(table, { ...p, base: 1e6 }, 0, 1)).toMatch(/base 1000000/);
    expect(ropeTableMismatch(table, { ...p, freqScale: 0.25 }, 0, 1)).toMatch(/freqScale 0.25/);
    expect(ropeTableMismatch(table, { ...p, freqFactors: undefined }, 0, 1)).toMatch(/without frequency factors/);
    expect(ropeTableMismatch({ ...table, freqFactors: undefined }, p, 0, 1)).toMatch(/with frequency factors/);
    expect(ropeTableMismatch(table, { ...p, freqFactors: Float32Array.from([1, 2, 4, 9]) }, 0, 1)).toMatch(/different frequency factors/);
    expect(ropeTableMismatch(table, p, 15, 2)).toMatch(/positions 0..15, asked for 15..16/);
    expect(ropeTableMismatch(table, p, -1, 1)).toMatch(/positions/);
  });
});

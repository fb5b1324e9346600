/**
 * The int8 plan's choice of tunables (src/gpu/kernels/matmul.ts int8Plan): decode packs x' (FDOT = 0),
 * prefill takes 4 tokens as f16 pairs (FDOT = 1) while they fit in workgroup memory, then 4 tokens
 * packed, then one token at a time, and no int8 plan at all when one token's packed row does not fit.
 */
import { describe, expect, it } from 'vitest';
import { int8Plan, int8WorkgroupBytes } from '../../src/gpu/kernels/matmul.ts';

const KIB16 = 16384;

describe('int8Plan', () => {
  it('decode: one token, packed bytes, enough workgroups for the cores', () => {
    const p = int8Plan(1, 3072, 576, true, KIB16)!;
    expect(p).toMatchObject({ TOKENS: 1, FDOT: 0, NORM: 1, ROWS: 4, XB: 18 });
    expect(Math.ceil(3072 / (p.WG * p.ROWS))).toBeGreaterThanOrEqual(16);
  });

  it('prefill: 4 tokens as f16 pairs while they fit', () => {
    const p = int8Plan(64, 576, 1536, false, 32768)!;
    expect(p).toMatchObject({ TOKENS: 4, FDOT: 1, XB: 192 });
    expect(int8WorkgroupBytes(p)).toBeLessThanOrEqual(32768);
  });

  it('falls back to 4 packed tokens, then to one token, as rows grow', () => {
    expect(int8Plan(64, 576, 1536, false, KIB16)).toMatchObject({ TOKENS: 4, FDOT: 1 }); // 13.6 KiB
    expect(int8Plan(64, 576, 2048, false, KIB16)).toMatchObject({ TOKENS: 4, FDOT: 0 }); // f16 pairs 18 KiB, packed 10 KiB
    expect(int8Plan(64, 896, 4864, false, KIB16)).toMatchObject({ TOKENS: 1, FDOT: 0 });
    expect(int8Plan(64, 2048, 8192, false, 32768)).toMatchObject({ TOKENS: 1, FDOT: 0 });
  });

  it('no int8 plan when one token does not fit (the f32 product runs)', () => {
    expect(int8Plan(1, 4096, 14336, false, KIB16)).toBeUndefined();
    expect(int8Plan(1, 4096, 14336, false, 32768)).toBeDefined();
  });

  it('every plan it returns fits', () => {
    for (const n of [1, 5, 64]) for (const cols of [32, 576, 1536, 4864, 8192, 13056]) for (const max of [KIB16, 32768]) {
      const p = int8Plan(n, 100, cols, n % 2 === 1, max);
      if (p) expect(int8WorkgroupBytes(p), `${n} × ${cols} in ${max}`).toBeLessThanOrEqual(max);
    }
  });
});

describe('resolveActivations', async () => {
  const { resolveActivations } = await import('../../src/gpu/activations.ts');
  const swiftshader = { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true, int8Dot: true };
  const gpu = { ...swiftshader, architecture: 'rdna-3', vendor: 'amd', isFallbackAdapter: false };

  it('auto: int8 on a CPU adapter with the WGSL feature, f32 on a GPU or without it', () => {
    expect(resolveActivations(undefined, swiftshader)).toBe('int8');
    expect(resolveActivations('auto', gpu)).toBe('f32');
    expect(resolveActivations('auto', { ...swiftshader, int8Dot: false })).toBe('f32');
  });

  it('an explicit choice is kept, and int8 without the feature is a clear error', () => {
    expect(resolveActivations('f32', swiftshader)).toBe('f32');
    expect(resolveActivations('int8', gpu)).toBe('int8');
    expect(() => resolveActivations('int8', { ...gpu, int8Dot: false })).toThrow(/packed_4x8_integer_dot_product/);
  });
});

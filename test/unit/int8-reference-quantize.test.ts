/**
 * Activation quantizers of the int8 reference (src/reference/quantize_q8_0.ts: Q8_0 and Q8_1;
 * src/reference/quantize_q8_k.ts: Q8_K), two ways:
 * - hand-computed rows: all zeros, a single outlier, a negative max, ties (x·id exactly a half-integer),
 *   +amax and −amax in one block, and x = amax/2, where llama.cpp's x86 id = 127/amax and the portable
 *   1/(amax/127) round to different integers (63.5000038 → 64 and 63.4999962 → 63);
 * - ggml's own bytes: the same rows through llama.cpp's CPU from_float (libggml-cpu built as for the
 *   fixtures: x86, AVX2/AVX-512, F16C), serialized as block_q8_0 (f16 d, 32 int8), block_q8_1 (f16 d,
 *   f16 s, 32 int8) and block_q8_K (f32 d, 256 int8, 16 int16 bsums), hashed (FNV-1a 32). The rows are
 *   integers times powers of two, so they are the same on every platform.
 */
import { describe, expect, it } from 'vitest';
import { f32ToF16 } from '../../src/formats/half.ts';
import { quantizeActivations } from '../../src/reference/matmul_int8.ts';
import { quantizeQ8_0, quantizeQ8_1, roundF16, roundHalfEven } from '../../src/reference/quantize_q8_0.ts';
import { quantizeQ8_K } from '../../src/reference/quantize_q8_k.ts';
import { Rng } from '../../src/shared/rng.ts';

const f = Math.fround;

/** n integers in [-range, range] times `scale`: exact f32 values */
function ints(rng: Rng, n: number, range: number, scale: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = ((rng.nextU32() % (2 * range + 1)) - range) * scale;
  return v;
}

/** The edge rows, 256 values each (one Q8_K block, eight Q8_0 blocks). */
const EDGES: [name: string, x: Float32Array][] = (() => {
  const zeros = new Float32Array(256);
  const outlier = new Float32Array(256);
  outlier[37] = 3.25;
  const negMax = ints(new Rng(1), 256, 1000, 2 ** -10);
  negMax[100] = -9.5;
  const ties = new Float32Array(256);
  for (let i = 0; i < 256; i++) ties[i] = i % 32 === 0 ? 127 : (i % 32) - 16 + 0.5; // amax 127: x·id = x
  const negFirst = ints(new Rng(2), 256, 1000, 2 ** -10);
  negFirst[3] = -6;
  negFirst[200] = 6;
  const posFirst = ints(new Rng(3), 256, 1000, 2 ** -10);
  posFirst[3] = 6;
  posFirst[200] = -6;
  const half = new Float32Array(256);
  for (let i = 0; i < 256; i += 32) [half[i], half[i + 1], half[i + 2]] = [0.171875, 0.0859375, -0.0859375];
  return [
    ['all zeros', zeros],
    ['a single outlier', outlier],
    ['a negative max', negMax],
    ['ties', ties],
    ['-amax before +amax', negFirst],
    ['+amax before -amax', posFirst],
    ['x = amax/2', half],
  ];
})();

/** FNV-1a hashes of llama.cpp's from_float output for EDGES (x86 build of the fixtures' llama.cpp). */
const GGML: Record<'Q8_0' | 'Q8_1' | 'Q8_K', string[]> = {
  Q8_0: ['50a34d05', '6f2da513', '4b9c2f79', '0624e305', '11a5db35', '61e095bc', '23e15985'],
  Q8_1: ['cb5a1845', '009c08a1', '4cf3938a', '17273165', '8124c5e8', '04d9a731', '3be45185'],
  Q8_K: ['68d09795', '8248bbcc', '81d72f62', '2f926898', '4decba4d', '8bd5dee4', 'b2cd3abd'],
};

function fnv1a(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const v of b) h = Math.imul(h ^ v, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** A row of activations as ggml's block_q8_0 / block_q8_1 / block_q8_K bytes. */
function ggmlBytes(type: 'Q8_0' | 'Q8_1' | 'Q8_K', x: Float32Array): Uint8Array {
  if (type === 'Q8_K') {
    const r = quantizeQ8_K(x);
    const b = new Uint8Array(292 * r.d.length);
    const v = new DataView(b.buffer);
    r.d.forEach((d, i) => {
      v.setFloat32(292 * i, d, true);
      for (let j = 0; j < 256; j++) v.setInt8(292 * i + 4 + j, r.q[256 * i + j]);
      for (let j = 0; j < 16; j++) v.setInt16(292 * i + 260 + 2 * j, r.bsums[16 * i + j], true);
    });
    return b;
  }
  const r = quantizeQ8_1(x);
  const size = type === 'Q8_1' ? 36 : 34;
  const b = new Uint8Array(size * r.d.length);
  const v = new DataView(b.buffer);
  r.d.forEach((d, i) => {
    v.setUint16(size * i, f32ToF16(d), true);
    if (type === 'Q8_1') v.setUint16(size * i + 2, f32ToF16(r.s[i]), true);
    for (let j = 0; j < 32; j++) v.setInt8(size * i + size - 32 + j, r.q[32 * i + j]);
  });
  return b;
}

describe('Q8_0 / Q8_1 activations (blocks of 32, f16 scale)', () => {
  it('round half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, 3.7].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 4]);
  });

  it('an all-zero block: q = 0, d = 0, s = 0', () => {
    const r = quantizeQ8_1(new Float32Array(64));
    expect([...r.q].every((q) => q === 0)).toBe(true);
    expect([...r.d, ...r.s]).toEqual([0, 0, 0, 0]);
  });

  it('a single outlier: it becomes 127, the scale its f16 /127, s = f16(d·127)', () => {
    const x = new Float32Array(32);
    x[5] = 3.25;
    const r = quantizeQ8_1(x);
    expect(r.q[5]).toBe(127);
    expect([...r.q].filter((q) => q !== 0)).toEqual([127]);
    expect(r.d[0]).toBe(roundF16(f(3.25 / 127)));
    expect(r.d[0]).not.toBe(f(3.25 / 127)); // the f16 rounding is kept (block_q8_0 stores an f16)
    expect(r.s[0]).toBe(roundF16(f(f(3.25 / 127) * 127))); // from the unrounded d
  });

  it('a negative max: −127, and the others against 127/|max|', () => {
    const x = new Float32Array(32);
    [x[0], x[1], x[2], x[3]] = [-2, 1, -1, 0.5]; // id = 63.5: 63.5 → 64 (even), −63.5 → −64, 31.75 → 32
    const r = quantizeQ8_0(x);
    expect([...r.q.subarray(0, 4)]).toEqual([-127, 64, -64, 32]);
    expect(r.d[0]).toBe(roundF16(f(2 / 127)));
  });

  it('ties go to even (x86 _MM_ROUND_NEAREST; ggml\'s portable roundf would go away from zero)', () => {
    const x = new Float32Array(32);
    [x[0], x[1], x[2], x[3], x[4], x[5]] = [127, 0.5, 1.5, 2.5, -0.5, -2.5]; // id = 1
    const r = quantizeQ8_1(x);
    expect([...r.q.subarray(0, 6)]).toEqual([127, 0, 2, 2, 0, -2]);
    expect(r.s[0]).toBe(roundF16(f(1 * 129))); // d = 1, Σq = 127 + 0 + 2 + 2 + 0 − 2
  });

  it('x = amax/2 takes id = 127/amax (x86), not 1/(amax/127): 64, not 63', () => {
    const x = new Float32Array(32);
    [x[0], x[1], x[2]] = [0.171875, 0.0859375, -0.0859375];
    expect(f(x[1] * f(127 / x[0]))).toBeGreaterThan(63.5);
    expect(f(x[1] * f(1 / f(x[0] / 127)))).toBeLessThan(63.5);
    expect([...quantizeQ8_0(x).q.subarray(0, 3)]).toEqual([127, 64, -64]);
    // and through the name existing callers use (the WebGPU and WebAssembly kernel suites)
    expect([...quantizeActivations(x).q.subarray(0, 3)]).toEqual([127, 64, -64]);
  });

  it('refuses a row that is not whole blocks', () => {
    expect(() => quantizeQ8_0(new Float32Array(48))).toThrow(/multiple of 32/);
  });
});

describe('Q8_K activations (blocks of 256, f32 scale, bsums)', () => {
  it('an all-zero block: q = 0, d = 0, bsums = 0', () => {
    const r = quantizeQ8_K(new Float32Array(256));
    expect([...r.q].every((q) => q === 0) && [...r.bsums].every((s) => s === 0)).toBe(true);
    expect(r.d[0]).toBe(0);
  });

  it('a single positive outlier: iscale = −127/max, so it becomes −127 and d is negative', () => {
    const x = new Float32Array(256);
    x[37] = 3.25;
    const r = quantizeQ8_K(x);
    const iscale = f(-127 / 3.25);
    expect(r.q[37]).toBe(-127);
    expect(r.d[0]).toBe(f(1 / iscale)); // an f32, not rounded to f16
    expect(r.d[0]).toBeLessThan(0);
    expect(r.bsums[2]).toBe(-127); // values 32..47
    expect([...r.bsums].filter((s) => s !== 0)).toEqual([-127]);
  });

  it('a negative max: iscale > 0, it becomes −127', () => {
    const x = new Float32Array(256);
    [x[100], x[101], x[102]] = [-9.5, 4.75, 1];
    const r = quantizeQ8_K(x);
    const iscale = f(127 / 9.5); // 13.368421 (rounded down): 4.75·iscale is 63.4999 in f32, not the tie 63.5
    expect(f(iscale * 4.75)).toBeLessThan(63.5);
    expect([...r.q.subarray(100, 103)]).toEqual([-127, 63, 13]);
    expect(r.d[0]).toBe(f(1 / iscale));
    expect(r.bsums[6]).toBe(-127 + 63 + 13);
  });

  it('ties go to even (ggml\'s nearest_int adds 1.5·2²³ in f32)', () => {
    const x = new Float32Array(256);
    [x[0], x[1], x[2], x[3], x[4], x[5]] = [127, 0.5, 1.5, 2.5, -0.5, -1.5]; // iscale = −1
    expect([...quantizeQ8_K(x).q.subarray(0, 6)]).toEqual([-127, 0, -2, -2, 0, 2]);
  });

  it('+amax and −amax in one block: the first one is max (quantize_row_q8_K_ref)', () => {
    const a = new Float32Array(256);
    [a[3], a[200]] = [-6, 6];
    const b = new Float32Array(256);
    [b[3], b[200]] = [6, -6];
    const ra = quantizeQ8_K(a);
    const rb = quantizeQ8_K(b);
    expect([ra.q[3], ra.q[200], Math.sign(ra.d[0])]).toEqual([-127, 127, 1]); // max = −6: iscale = 127/6
    expect([rb.q[3], rb.q[200], Math.sign(rb.d[0])]).toEqual([-127, 127, -1]); // max = 6: iscale = −127/6
  });

  it('bsums are the sums of each 16 values', () => {
    const x = ints(new Rng(9), 512, 5000, 2 ** -11);
    const r = quantizeQ8_K(x);
    for (let s = 0; s < 32; s++) expect(r.bsums[s]).toBe(r.q.subarray(16 * s, 16 * s + 16).reduce((a, b) => a + b, 0));
  });

  it('refuses a row that is not whole blocks', () => {
    expect(() => quantizeQ8_K(new Float32Array(288))).toThrow(/multiple of 256/);
  });
});

describe("the edge rows give ggml's own bytes (llama.cpp's x86 from_float)", () => {
  for (const type of ['Q8_0', 'Q8_1', 'Q8_K'] as const) {
    it.each(EDGES.map(([name, x], i) => [name, x, i] as const))(`${type}: %s`, (_name, x, i) => {
      expect(fnv1a(ggmlBytes(type, x))).toBe(GGML[type][i]);
    });
  }
});

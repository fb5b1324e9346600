/**
 * The int8 products of the reference (src/reference/matmul_int8.ts) for every weight type that takes
 * int8 activations, three ways:
 * - against llama.cpp itself: x and W below through llama.cpp's CPU from_float and vec_dot (libggml-cpu
 *   built as for the fixtures: x86 with AVX2/AVX-512, the code path of the fixtures' goldens). The
 *   quantized activations must be ggml's bytes (FNV-1a hash of block_q8_0/_1/_K); the products may
 *   differ only by llama.cpp's f32 rounding: it adds the block terms in 8 FMA lanes and then across them,
 *   so |Δ| ≤ (nb + 8)·2⁻²⁴·S, S = Σ_b |term_b| taken part by part (scale part, min part), nb the blocks
 *   per row. A one-step change of a single weight integer moves the product out of that bound (checked).
 * - against a float64 computation from the ggml-exact dequantizer (src/formats/quant.ts), independent of
 *   the integer decoding: Σ_j w_j·(d_x·q_x,j), plus, for Q4_1/Q5_1, m·(s − d_x·Σq_x) per block (ggml
 *   multiplies the min by Q8_1's s = f16(d·Σq), not by d₁₆·Σq). The dequantized w_j and the f32 scale
 *   products each carry a rounding of 2⁻²⁴: bound 4·2⁻²⁴·S.
 * - several tokens and a bias: each token row alone, and the bias added in f32 after the product.
 * x and W are integers times powers of two, so they are the same on every platform.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { F16_TO_F32, f32ToF16 } from '../../src/formats/half.ts';
import { ggmlTypeByName } from '../../src/formats/ggml-types.ts';
import { dequantize, quantize } from '../../src/formats/quant.ts';
import { GPU_INT8_ACTIVATION_TYPES, INT8_ACTIVATION_TYPES, matmulInt8 } from '../../src/reference/matmul_int8.ts';
import { K_TYPES, SMALL_TYPES } from '../../src/reference/matmul_int8_blocks.ts';
import { quantizeQ8_1 } from '../../src/reference/quantize_q8_0.ts';
import { quantizeQ8_K } from '../../src/reference/quantize_q8_k.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { Rng } from '../../src/shared/rng.ts';

const TYPES = ['Q8_0', 'Q4_0', 'Q5_0', 'Q4_1', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const;
type Type = (typeof TYPES)[number];
const K = 512;
const ROWS = 6;
const f = Math.fround;
const U = 2 ** -24;

/** n integers in [-range, range] times `scale`: exact f32 values */
function ints(rng: Rng, n: number, range: number, scale: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = ((rng.nextU32() % (2 * range + 1)) - range) * scale;
  return v;
}

/** x [K] (values to ±4, an outlier ×16 every 61, an all-zero block of 32) and W [ROWS, K] of the type */
function product(type: Type) {
  const rng = new Rng([...type].reduce((h, c) => h * 31 + c.charCodeAt(0), 7));
  const x = ints(rng, K, 32768, 2 ** -13);
  for (let i = 5; i < K; i += 61) x[i] *= 16;
  x.fill(0, 64, 96);
  const wf = ints(rng, K * ROWS, 32768, 2 ** -21);
  return { x, wf, w: quantize(ggmlTypeByName(type)!, wf) };
}

/** llama.cpp's x86 from_float (FNV-1a of the bytes) and vec_dot (f32 bits) for product(type) */
const GGML: Record<Type, { act: string; dots: string[] }> = {
  Q8_0: { act: '258ce821', dots: ['3f7b89fb', 'bf0d2144', 'bfe4439f', '3f8ec6e2', '3e6e2a44', '3beb71c0'] },
  Q4_0: { act: 'cdb3e60e', dots: ['be9658b4', '3d6f92c0', '3f11aaf7', '3d6da750', 'bf11a1ee', '3f85ee9b'] },
  Q5_0: { act: '66767d58', dots: ['3f8c1ab2', '3f75e23e', 'bed122c6', '3f5cab2d', '400da2f7', 'bdafe648'] },
  Q4_1: { act: '34105f98', dots: ['bf88069e', '3f20f5ac', '3fd99a68', '3f97e8af', '3e336970', 'bf33514c'] },
  Q5_1: { act: '6a638cb2', dots: ['3fd3837a', '3d47f248', '3f5152fc', 'bf6b8148', '3e9ad51a', '3fc8436d'] },
  Q2_K: { act: 'ebcdf7fb', dots: ['3f8734b2', 'bf0084d0', 'be45ddb8', '3f85e580', '3f9f362f', '3f170f02'] },
  Q3_K: { act: '70566cc7', dots: ['bf2046d0', 'bf5ba6ca', 'bce7f770', '3fd41156', 'bf732b80', 'be8d69c6'] },
  Q4_K: { act: '347e828a', dots: ['be295e40', 'bfddf27a', 'bed40ff0', 'bec0da88', 'bf6851a8', '3f8610c6'] },
  Q5_K: { act: '10d19af1', dots: ['3f73e762', '3ed73ed0', 'be12ebfe', '3ff0222c', 'bef87370', 'bdbf1960'] },
  Q6_K: { act: 'cfc03a44', dots: ['c0219652', 'bfb356de', 'bf2ac150', '3e399af0', '3f32289a', '3f14baad'] },
};

const fromBits = (hex: string) => new Float32Array(new Uint32Array([parseInt(hex, 16)]).buffer)[0];

function fnv1a(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const v of b) h = Math.imul(h ^ v, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** the activations as ggml's block_q8_0 / block_q8_1 / block_q8_K bytes (see int8-reference-quantize) */
function actBytes(type: Type, x: Float32Array): Uint8Array {
  if (K_TYPES[type]) {
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
  const one = SMALL_TYPES[type].act === 'Q8_1';
  const size = one ? 36 : 34;
  const r = quantizeQ8_1(x);
  const b = new Uint8Array(size * r.d.length);
  const v = new DataView(b.buffer);
  r.d.forEach((d, i) => {
    v.setUint16(size * i, f32ToF16(d), true);
    if (one) v.setUint16(size * i + 2, f32ToF16(r.s[i]), true);
    for (let j = 0; j < 32; j++) v.setInt8(size * i + size - 32 + j, r.q[32 * i + j]);
  });
  return b;
}

/** S per weight row: Σ over blocks of |scale part| + |min part|, from the blocks' integers */
function magnitudes(type: Type, x: Float32Array, w: Uint8Array, rows: number): number[] {
  const S: number[] = [];
  if (SMALL_TYPES[type]) {
    const t = SMALL_TYPES[type];
    const a = quantizeQ8_1(x);
    const q = new Int8Array(32);
    for (let o = 0; o < rows; o++) {
      let s = 0;
      for (let b = 0; b < K / 32; b++) {
        const { d, m } = t.decode(w, (o * (K / 32) + b) * t.bytes, q);
        let dot = 0;
        for (let j = 0; j < 32; j++) dot += Math.abs(q[j] * a.q[32 * b + j]);
        s += Math.abs(d * a.d[b]) * dot + (t.act === 'Q8_1' ? Math.abs(m * a.s[b]) : 0);
      }
      S.push(s);
    }
    return S;
  }
  const t = K_TYPES[type];
  const a = quantizeQ8_K(x);
  const q = new Int8Array(256);
  const sc = new Int32Array(16);
  const mn = new Int32Array(16);
  for (let o = 0; o < rows; o++) {
    let s = 0;
    for (let b = 0; b < K / 256; b++) {
      const { d, dmin } = t.decode(w, (o * (K / 256) + b) * t.bytes, q, sc, mn);
      let part = 0;
      let mins = 0;
      for (let j = 0; j < 256; j++) part += Math.abs(sc[Math.floor(j / t.sub)] * q[j] * a.q[256 * b + j]);
      for (let j = 0; j < 256; j += 16) mins += Math.abs(mn[Math.floor(j / t.sub)] * a.bsums[16 * b + j / 16]);
      s += Math.abs(d * a.d[b]) * part + Math.abs(dmin * a.d[b]) * mins;
    }
    S.push(s);
  }
  return S;
}

/** byte offset (in row 0, block 0) of the quant that holds element 0's low bit */
const FIRST_QUANT: Record<Type, number> = { Q8_0: 2, Q4_0: 2, Q5_0: 6, Q4_1: 4, Q5_1: 8, Q2_K: 16, Q3_K: 32, Q4_K: 16, Q5_K: 48, Q6_K: 0 };

describe("int8 products against llama.cpp's own (x86 from_float + vec_dot)", () => {
  it.each(TYPES)('%s', (type) => {
    const { x, w } = product(type);
    const info = ggmlTypeByName(type)!;
    expect(fnv1a(actBytes(type, x)), 'the quantized activations are ggml\'s bytes').toBe(GGML[type].act);
    const want = GGML[type].dots.map(fromBits);
    const got = matmulInt8(x, 1, { type: info, dims: [K, ROWS], bytes: w });
    const nb = K / (K_TYPES[type] ? 256 : 32);
    const bound = magnitudes(type, x, w, ROWS).map((s) => (nb + 8) * U * s);
    got.forEach((g, o) => expect(Math.abs(g - want[o]), `row ${o}: ${g} vs ${want[o]}, bound ${bound[o]}`).toBeLessThanOrEqual(bound[o]));

    // the bound is tight enough to see one weight integer off by one step
    const bad = w.slice();
    bad[FIRST_QUANT[type]] ^= 1;
    const moved = matmulInt8(x, 1, { type: info, dims: [K, ROWS], bytes: bad })[0];
    expect(Math.abs(moved - want[0]), `one step of element 0 (${moved} vs ${want[0]})`).toBeGreaterThan(bound[0]);
  });
});

describe('int8 products against a float64 sum over the dequantized weights', () => {
  it.each(TYPES)('%s', (type) => {
    const info = ggmlTypeByName(type)!;
    const { w } = product(type);
    const rng = new Rng(17);
    for (let t = 0; t < 3; t++) {
      const x = ints(rng, K, 32768, 2 ** -13 * (t + 1));
      if (t === 1) x.fill(0, 256, 512); // a zero Q8_K block, eight zero Q8_0 blocks
      const got = matmulInt8(x, 1, { type: info, dims: [K, ROWS], bytes: w });
      const wd = dequantize(info, w, K * ROWS);
      const S = magnitudes(type, x, w, ROWS);
      // x as its quantized values q·d
      const xq = new Float64Array(K);
      let minFix: (o: number) => number = () => 0;
      if (K_TYPES[type]) {
        const a = quantizeQ8_K(x);
        for (let j = 0; j < K; j++) xq[j] = a.q[j] * a.d[j >> 8];
      } else {
        const a = quantizeQ8_1(x);
        for (let j = 0; j < K; j++) xq[j] = a.q[j] * a.d[j >> 5];
        if (SMALL_TYPES[type].act === 'Q8_1') {
          minFix = (o) => {
            let s = 0;
            for (let b = 0; b < K / 32; b++) {
              const at = (o * (K / 32) + b) * SMALL_TYPES[type].bytes + 2;
              const m = F16_TO_F32[w[at] | (w[at + 1] << 8)];
              const qsum = a.q.subarray(32 * b, 32 * b + 32).reduce((p, v) => p + v, 0);
              s += m * (a.s[b] - a.d[b] * qsum);
            }
            return s;
          };
        }
      }
      for (let o = 0; o < ROWS; o++) {
        let want = minFix(o);
        for (let j = 0; j < K; j++) want += wd[o * K + j] * xq[j];
        expect(Math.abs(got[o] - want), `${type} token ${t} row ${o}: ${got[o]} vs ${want}`).toBeLessThanOrEqual(4 * U * S[o] + 1e-30);
      }
    }
  });
});

describe('several tokens, and a bias', () => {
  it.each(TYPES)('%s: each token row is quantized alone; the bias is an f32 add after the product', (type) => {
    const info = ggmlTypeByName(type)!;
    const { w } = product(type);
    const rng = new Rng(5);
    const x = ints(rng, 3 * K, 32768, 2 ** -12);
    const bias = ints(rng, ROWS, 1000, 2 ** -7);
    const all = matmulInt8(x, 3, { type: info, dims: [K, ROWS], bytes: w }, bias);
    for (let t = 0; t < 3; t++) {
      const one = matmulInt8(x.subarray(t * K, (t + 1) * K), 1, { type: info, dims: [K, ROWS], bytes: w });
      expect([...all.subarray(t * ROWS, (t + 1) * ROWS)]).toEqual([...one].map((v, o) => f(v + bias[o])));
    }
  });
});

describe('which types take int8 activations', () => {
  it('the CPU reference: every type llama.cpp computes with integer dot products', () => {
    expect([...INT8_ACTIVATION_TYPES].sort()).toEqual([...TYPES].sort());
  });

  it('the WebGPU backend: the types with a kernels/lib/int8_<type>.wgsl', () => {
    const lib = fileURLToPath(new URL('../../kernels/lib/', import.meta.url));
    const gpu = readdirSync(lib).filter((n) => /^int8_\w+\.wgsl$/.test(n)).map((n) => n.slice(5, -5).toUpperCase());
    expect([...GPU_INT8_ACTIVATION_TYPES].sort()).toEqual(gpu.sort());
  });

  it('other types, and rows that are not whole blocks, are refused', () => {
    const f16 = ggmlTypeByName('F16')!;
    expect(() => matmulInt8(new Float32Array(32), 1, { type: f16, dims: [32, 1], bytes: new Uint8Array(64) })).toThrow(CriaError);
    const q4k = ggmlTypeByName('Q4_K')!;
    expect(() => matmulInt8(new Float32Array(288), 1, { type: q4k, dims: [288, 1], bytes: new Uint8Array(162) })).toThrow(/multiple of 256/);
  });
});

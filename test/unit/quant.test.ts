/**
 * Quant codecs (src/formats/quant.ts, src/formats/quant/*, src/formats/half.ts)
 * against ground truth made by ggml itself (/work/shared/fixtures/quant, see its README):
 *
 *  1. dequantize: every tensor of every supported type, bit-exact (Uint32 compare) with
 *     ggml's to_float; also from an unaligned byte offset and row by row (dequantizeRows)
 *  2. quantize: every tensor, byte-exact with the GGUF (ggml_quantize_chunk without imatrix),
 *     and sha256-equal to index.json's quant_sha256
 *  3. edge rows of edge_256x6: zeros, constant, outlier, f16-subnormal scales
 *  4. argument errors and unsupported types (IQ4_NL, IQ4_XS are in the fixtures, not in Cria)
 *  5. half.ts: f16/bf16 rounding against an independent nearest-value search
 */
import { createHash } from 'node:crypto';
import { Rng } from '../../src/shared/rng.ts';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ggmlTypeByName, ggmlTypeInfo, type GgmlTypeInfo } from '../../src/formats/ggml-types.ts';
import { readGguf, readTensorBytes, type GgufFile } from '../../src/formats/gguf.ts';
import { bf16ToF32, f16ToF32, f32Bits, f32ToBf16, f32ToF16 } from '../../src/formats/half.ts';
import { QUANTIZABLE_TYPES, SUPPORTED_TYPES, dequantize, dequantizeRows, findNonFinite, isDequantizable, quantize } from '../../src/formats/quant.ts';
import { fileSource } from '../../src/formats/source-node.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';

interface IndexTensor { expected_file: string; ne: number[]; nbytes: number; quant_sha256: string; rmse_vs_input: number; max_abs_err_vs_input: number }
interface IndexType { file: string; ggml_type_id: number; block_size: number; type_size: number; tensors: Record<string, IndexTensor> }
const index = JSON.parse(readFileSync(fixturePath('quant/index.json'), 'utf8')) as { types: Record<string, IndexType> };

function readF32(name: string): Float32Array {
  const b = readFileSync(fixturePath(`quant/${name}`));
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

const ggufCache = new Map<string, Promise<GgufFile>>();
function openGguf(file: string): Promise<GgufFile> {
  let p = ggufCache.get(file);
  if (!p) ggufCache.set(file, (p = fileSource(fixturePath(`quant/${file}`)).then((s) => readGguf(s))));
  return p;
}

async function tensorBytes(typeName: string, tensor: string): Promise<{ type: GgmlTypeInfo; bytes: Uint8Array; dims: readonly number[]; nElements: number }> {
  const g = await openGguf(index.types[typeName].file);
  const t = g.tensorsByName.get(tensor);
  if (!t) throw new Error(`${index.types[typeName].file} has no tensor ${tensor}`);
  return { type: t.type, bytes: await readTensorBytes(g, t), dims: t.dims, nElements: t.nElements };
}

/** Bit-level comparison; the message names the count and the first mismatches (index, row, got, expected). */
function bitDiff(got: Float32Array, exp: Float32Array, rowLength: number): string | undefined {
  if (got.length !== exp.length) return `length ${got.length}, expected ${exp.length}`;
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const e = new Uint32Array(exp.buffer, exp.byteOffset, exp.length);
  const bad: number[] = [];
  for (let i = 0; i < g.length; i++) if (g[i] !== e[i]) bad.push(i);
  if (bad.length === 0) return undefined;
  const first = bad.slice(0, 5).map((i) => `[${i}] (row ${Math.floor(i / rowLength)}) got ${got[i]} (0x${g[i].toString(16)}) expected ${exp[i]} (0x${e[i].toString(16)})`);
  return `${bad.length} of ${g.length} elements differ; first: ${first.join('; ')}`;
}

function byteDiff(got: Uint8Array, exp: Uint8Array, blockBytes: number): string | undefined {
  if (got.length !== exp.length) return `length ${got.length}, expected ${exp.length}`;
  const bad: number[] = [];
  for (let i = 0; i < got.length; i++) if (got[i] !== exp[i]) bad.push(i);
  if (bad.length === 0) return undefined;
  const first = bad.slice(0, 5).map((i) => `byte ${i} (block ${Math.floor(i / blockBytes)} +${i % blockBytes}) got ${got[i]} expected ${exp[i]}`);
  return `${bad.length} of ${got.length} bytes differ; first: ${first.join('; ')}`;
}

const allTypes = Object.keys(index.types);
const supported = allTypes.filter((t) => isDequantizable(ggmlTypeByName(t)!));
const cases = supported.flatMap((t) => Object.keys(index.types[t].tensors).map((tensor) => [t, tensor] as const));

describe('fixture coverage', () => {
  it('every type Cria claims to support is in the fixtures, and vice versa except the IQ types', () => {
    expect([...SUPPORTED_TYPES].sort()).toEqual([...supported].sort());
    expect(allTypes.filter((t) => !supported.includes(t)).sort()).toEqual(['IQ4_NL', 'IQ4_XS']);
  });
  it('ggml-types agrees with index.json on ids and block sizes', () => {
    for (const t of allTypes) {
      const info = ggmlTypeInfo(index.types[t].ggml_type_id);
      expect(info?.name).toBe(t);
      expect([info?.blockSize, info?.typeSize]).toEqual([index.types[t].block_size, index.types[t].type_size]);
    }
  });
});

describe('dequantize is bit-exact with ggml', () => {
  it.each(cases)('%s %s', async (typeName, tensor) => {
    const info = index.types[typeName].tensors[tensor];
    const { type, bytes, dims, nElements } = await tensorBytes(typeName, tensor);
    expect(type.name).toBe(typeName);
    expect(dims).toEqual(info.ne);
    const expected = readF32(info.expected_file);
    expect(bitDiff(dequantize(type, bytes, nElements), expected, dims[0])).toBeUndefined();

    // from an odd byte offset, into a caller-provided (larger) buffer
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 1);
    const out = new Float32Array(nElements + 7).fill(NaN);
    expect(dequantize(type, shifted.subarray(1, 1 + bytes.length), nElements, out)).toBe(out);
    expect(bitDiff(out.subarray(0, nElements), expected, dims[0])).toBeUndefined();
    expect(Number.isNaN(out[nElements])).toBe(true); // nothing written past nElements

    // row by row, as an embedding lookup would
    const rows = nElements / dims[0];
    const row = new Float32Array(dims[0]);
    for (let r = 0; r < rows; r++) {
      dequantizeRows(type, bytes, dims[0], r, 1, row);
      expect(bitDiff(row, expected.subarray(r * dims[0], (r + 1) * dims[0]), dims[0]), `row ${r}`).toBeUndefined();
    }
    if (rows >= 3) {
      const two = dequantizeRows(type, bytes, dims[0], 1, 2);
      expect(bitDiff(two, expected.subarray(dims[0], 3 * dims[0]), dims[0])).toBeUndefined();
    }
  });
});

describe('quantize reproduces ggml_quantize_chunk byte for byte', () => {
  it('every supported type has a quantizer', () => {
    expect([...QUANTIZABLE_TYPES].sort()).toEqual([...supported].sort());
  });
  it.each(cases)('%s %s', async (typeName, tensor) => {
    const info = index.types[typeName].tensors[tensor];
    const { type, bytes } = await tensorBytes(typeName, tensor);
    const q = quantize(type, readF32(`input.${tensor}.f32`));
    expect(byteDiff(q, bytes, type.typeSize)).toBeUndefined();
    expect(createHash('sha256').update(q).digest('hex')).toBe(info.quant_sha256);
  });
});

describe('edge rows (edge_256x6)', () => {
  const input = readF32('input.edge_256x6.f32');
  const row = (a: Float32Array, r: number) => a.subarray(r * 256, (r + 1) * 256);
  it.each(supported)('%s', async (typeName) => {
    const info = index.types[typeName].tensors.edge_256x6;
    const { type, bytes, nElements } = await tensorBytes(typeName, 'edge_256x6');
    const out = dequantize(type, bytes, nElements);
    // row 0, all zeros → exactly zero (ggml gives -0 for some types; the bit-exact test pins the sign)
    expect(row(input, 0).every((v) => v === 0)).toBe(true);
    expect(row(out, 0).filter((v) => v !== 0)).toEqual(new Float32Array(0));
    // row 1, constant 0.125 → one constant value, within the type's documented max error
    expect(new Set(row(out, 1)).size).toBe(1);
    expect(Math.abs(out[256] - input[256])).toBeLessThanOrEqual(info.max_abs_err_vs_input);
    // row 2: the outlier x[77] = 8 survives as the row's largest magnitude
    const r2 = row(out, 2);
    expect(Math.abs(r2[77] - input[2 * 256 + 77])).toBeLessThanOrEqual(info.max_abs_err_vs_input);
    expect(Math.max(...Array.from(r2, Math.abs))).toBe(Math.abs(r2[77]));
    // row 5: tiny values whose f16 scales underflow: finite, no blow-up
    const r5 = row(out, 5);
    const inMax = Math.max(...Array.from(row(input, 5), Math.abs));
    expect(r5.every(Number.isFinite)).toBe(true);
    expect(Math.max(...Array.from(r5, Math.abs))).toBeLessThanOrEqual(2 * inMax);
    // whole tensor within the documented error of the input
    let maxErr = 0;
    for (let i = 0; i < nElements; i++) maxErr = Math.max(maxErr, Math.abs(out[i] - input[i]));
    expect(Math.fround(maxErr)).toBe(Math.fround(info.max_abs_err_vs_input));
  });
});

describe('errors', () => {
  const q4k = ggmlTypeByName('Q4_K')!;
  function codeOf(f: () => unknown): string | undefined {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(CriaError);
      return (e as CriaError).code;
    }
    return undefined;
  }

  it.each(['IQ4_NL', 'IQ4_XS'])('%s (in the fixtures) is unsupported: unsupported-type naming it and the supported types', async (name) => {
    const tensor = Object.keys(index.types[name].tensors)[0];
    const { type, bytes, nElements } = await tensorBytes(name, tensor);
    expect(isDequantizable(type)).toBe(false);
    let err: unknown;
    try {
      dequantize(type, bytes, nElements);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CriaError);
    expect((err as CriaError).code).toBe('unsupported-type');
    expect((err as CriaError).message).toContain(name);
    for (const s of SUPPORTED_TYPES) expect((err as CriaError).message).toContain(s);
    expect(codeOf(() => quantize(type, new Float32Array(type.blockSize)))).toBe('unsupported-type');
    expect(codeOf(() => dequantizeRows(type, bytes, 256, 0, 1))).toBe('unsupported-type');
  });

  it('wrong byte lengths and element counts are bad-argument', () => {
    expect(codeOf(() => dequantize(q4k, new Uint8Array(143), 256))).toBe('bad-argument');
    expect(codeOf(() => dequantize(q4k, new Uint8Array(145), 256))).toBe('bad-argument');
    expect(codeOf(() => dequantize(q4k, new Uint8Array(144), 255))).toBe('bad-argument');
    expect(codeOf(() => dequantize(q4k, new Uint8Array(288), 512, new Float32Array(511)))).toBe('bad-argument');
    expect(codeOf(() => quantize(q4k, new Float32Array(100)))).toBe('bad-argument');
    expect(codeOf(() => dequantizeRows(q4k, new Uint8Array(288), 256, 1, 2))).toBe('bad-argument');
    expect(codeOf(() => dequantizeRows(q4k, new Uint8Array(288), 256, -1, 1))).toBe('bad-argument');
    expect(codeOf(() => dequantizeRows(q4k, new Uint8Array(288), 100, 0, 1))).toBe('bad-argument');
    expect(dequantize(q4k, new Uint8Array(0), 0)).toEqual(new Float32Array(0));
  });
});

/** Small seeded generator (xorshift32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}
const bitsToF32 = (u: number) => new Float32Array(new Uint32Array([u]).buffer)[0];

/**
 * Reference narrowing by search: among all finite values of the 16-bit format
 * (given by `decode`, sorted), the nearest to x, ties to the even pattern;
 * beyond the largest finite value by ≥ half an ulp → inf. All differences are
 * exact in f64 (both operands are f32 values of nearby magnitude or zero).
 */
function nearest16(x: number, finite: { bits: number; value: number }[], maxHalfUlp: number, infBits: number): number {
  const a = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const top = finite[finite.length - 1];
  if (a >= top.value + maxHalfUlp) return sign | infBits;
  let lo = 0;
  let hi = finite.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (finite[mid].value <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - finite[lo].value;
  const dh = finite[hi].value - a;
  const pick = dl < dh ? finite[lo] : dh < dl ? finite[hi] : (finite[lo].bits & 1) === 0 ? finite[lo] : finite[hi];
  return sign | pick.bits;
}

describe('half.ts', () => {
  const f16Finite = Array.from({ length: 0x7c00 }, (_, h) => ({ bits: h, value: f16ToF32(h) }));
  const bf16Finite = Array.from({ length: 0x7f80 }, (_, h) => ({ bits: h, value: bf16ToF32(h) }));

  it('f16 → f32 is exact: every non-NaN half round-trips, and values follow the IEEE formula', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = f16ToF32(h);
      const e = (h >> 10) & 31;
      const m = h & 1023;
      const s = h & 0x8000 ? -1 : 1;
      const ref = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1024 + m) * 2 ** (e - 25);
      const ok = Number.isNaN(ref)
        ? Number.isNaN(v) && (f32ToF16(v) & 0x7e00) === 0x7e00 // NaN stays a quiet NaN
        : Object.is(v, ref) && f32ToF16(v) === h;
      if (!ok) bad.push(`0x${h.toString(16)} → ${v} → 0x${f32ToF16(v).toString(16)}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('f32 → f16 rounds to nearest even, overflows to inf (midpoints, random bit patterns)', () => {
    const next = rng(0x5eed16);
    const samples: number[] = [];
    for (let h = 0; h < 0x7bff; h++) samples.push((f16ToF32(h) + f16ToF32(h + 1)) / 2); // exact ties
    samples.push(65504 + 16, 65504 + 15.99, 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -26);
    for (let i = 0; i < 200000; i++) {
      const u = next();
      if (((u >>> 23) & 0xff) === 0xff) continue;
      samples.push(bitsToF32(i & 1 ? u : (u & 0x87ffffff) | 0x38000000)); // half of them near the f16 range
    }
    for (const x of samples) {
      const got = f32ToF16(x);
      const want = nearest16(x, f16Finite, 16, 0x7c00);
      if (got !== want) expect(`0x${got.toString(16)} for ${x}`).toBe(`0x${want.toString(16)}`);
    }
  });

  it('f32 → bf16 rounds to nearest even and keeps NaN quiet', () => {
    const next = rng(0xbf16);
    const ulpMax = bf16ToF32(0x7f7f) - bf16ToF32(0x7f7e);
    for (let i = 0; i < 200000; i++) {
      const u = next();
      const x = bitsToF32(u);
      if (Number.isNaN(x)) {
        expect(f32ToBf16(x) & 0x7fc0).toBe(0x7fc0);
        continue;
      }
      if (!Number.isFinite(x)) continue;
      const got = f32ToBf16(x);
      const want = nearest16(x, bf16Finite, ulpMax / 2, 0x7f80);
      if (got !== want) expect(`0x${got.toString(16)} for 0x${u.toString(16)}`).toBe(`0x${want.toString(16)}`);
    }
    expect(f32ToBf16(bitsToF32(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16(bitsToF32(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(f32Bits(bf16ToF32(0x3f80))).toBe(0x3f800000);
  });
});

describe('findNonFinite: the load-time scan agrees with dequantizing', () => {
  // random blocks whose bytes are random, except that some f16 fields are set to ±inf or NaN:
  // the scan (scale fields only) must flag a block exactly when its dequantized values are not all finite
  const special = [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x3c00, 0x0001, 0xfbff];
  for (const name of SUPPORTED_TYPES) {
    it(name, () => {
      const type = ggmlTypeByName(name)!;
      const rng = new Rng(11);
      for (let trial = 0; trial < 200; trial++) {
        const nBlocks = 1 + (trial % 5);
        const bytes = new Uint8Array(nBlocks * type.typeSize);
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff;
        // finite, moderate f16 everywhere a float might be (float types: every element; blocks: random bytes already)
        const dv = new DataView(bytes.buffer);
        if (name === 'F32') for (let i = 0; i < bytes.length; i += 4) dv.setFloat32(i, rng.normal(), true);
        if (name === 'F16' || name === 'BF16') for (let i = 0; i < bytes.length; i += 2) dv.setUint16(i, name === 'F16' ? 0x3c00 : 0x3f80, true);
        if (type.blockSize > 1) {
          // every 2-byte-aligned position of the first block may hold a scale: set most to finite 1.0, some to a special value
          for (let b = 0; b < nBlocks; b++) for (let o = 0; o + 1 < type.typeSize; o += 2) if (rng.nextU32() % 4 === 0) dv.setUint16(b * type.typeSize + o, special[rng.nextU32() % special.length], true);
        } else if (trial % 3 === 0) {
          const at = (rng.nextU32() % (bytes.length / type.typeSize)) * type.typeSize;
          if (name === 'F32') dv.setFloat32(at, [Infinity, -Infinity, NaN][trial % 3 === 0 ? (trial / 3) % 3 : 0], true);
          else dv.setUint16(at, name === 'F16' ? 0x7c00 : 0x7f80 | (trial & 1), true);
        }
        const values = dequantize(type, bytes, nBlocks * type.blockSize);
        const firstBad = values.findIndex((v) => !Number.isFinite(v));
        const expected = firstBad < 0 ? -1 : Math.floor(firstBad / type.blockSize);
        expect(findNonFinite(type, bytes), `${name} trial ${trial}`).toBe(expected);
      }
    });
  }
});

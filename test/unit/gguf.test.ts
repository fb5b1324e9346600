/**
 * GGUF reader/writer and byte sources.
 *
 *  1. round trip through the writer: every value type, tensors of many ggml types and ranks, alignments, v2/v3
 *  2. real files in /work/shared/fixtures, checked against facts documented (and hashed) independently there
 *  3. hostile files: each ends in one CriaError('bad-file') whose message names the problem
 *  4. (gguf-fuzz.test.ts) random corruption
 *  5. urlSource against a local HTTP server (Range, no Range, 404, short and cut answers)
 *  6. blobSource
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggmlTypeByName, type GgmlTypeInfo, type GgmlTypeName } from '../../src/formats/ggml-types.ts';
import {
  GGUF_LIMITS,
  GGUF_MAGIC,
  GgufValueType as T,
  readGguf,
  readTensorBytes,
  type GgufFile,
  type GgufValue,
} from '../../src/formats/gguf.ts';
import {
  metaArray,
  metaBool,
  metaNumber,
  metaNumberArray,
  metaOptional,
  metaString,
  metaStringArray,
  metaToJson,
} from '../../src/formats/gguf-meta.ts';
import { encodeGguf, gv, writeGguf, type GgufWriteTensor } from '../../src/formats/gguf-writer.ts';
import { blobSource, bytesSource, urlSource, type ByteSource } from '../../src/formats/source.ts';
import { fileSource } from '../../src/formats/source-node.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { fixturePath, fixturesDir } from './helpers/fixtures.ts';

// ---------------------------------------------------------------- helpers

/** Deterministic bytes (xorshift32), so failures reproduce. */
function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

function tensor(name: string, typeName: GgmlTypeName, dims: number[], seed: number): GgufWriteTensor {
  const type = ggmlTypeByName(typeName)!;
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, type, dims, data: seededBytes((n / type.blockSize) * type.typeSize, seed) };
}

/** Everything readGguf reports, minus the source object, in a form toStrictEqual can compare. */
function summary(g: GgufFile) {
  return {
    version: g.version,
    alignment: g.alignment,
    dataOffset: g.dataOffset,
    fileSize: g.fileSize,
    metadata: [...g.metadata],
    tensors: g.tensors.map((t) => ({ ...t, type: t.type.name })),
  };
}

/** Byte equality without vitest's element-by-element deep equality (too slow for MBs); reports the first difference. */
function expectSameBytes(got: Uint8Array, want: Uint8Array, what = 'bytes'): void {
  const a = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
  const b = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
  if (a.byteLength === b.byteLength && a.equals(b)) return;
  let i = 0;
  while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
  expect.fail(`${what}: lengths ${a.length} vs ${b.length}, first difference at byte ${i}`);
}

/** Await a rejection and check it is one CriaError('bad-file') naming the problem (and the file). */
async function expectBadFile(p: Promise<unknown>, pattern: RegExp, name?: string): Promise<CriaError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a rejection').toBeInstanceOf(CriaError);
  const ce = err as CriaError;
  expect(ce.code, ce.message).toBe('bad-file');
  expect(ce.message).toMatch(pattern);
  if (name) expect(ce.message).toContain(name);
  return ce;
}

/** Little-endian byte builder for hand-made (hostile) headers. */
class Raw {
  private b: number[] = [];
  u8(v: number) {
    this.b.push(v & 0xff);
    return this;
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.b.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++, x >>= 8n) this.b.push(Number(x & 0xffn));
    return this;
  }
  f32(v: number) {
    const d = new DataView(new ArrayBuffer(4));
    d.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.b.push(d.getUint8(i));
    return this;
  }
  raw(bytes: ArrayLike<number>) {
    for (let i = 0; i < bytes.length; i++) this.b.push(bytes[i]);
    return this;
  }
  str(s: string) {
    const e = new TextEncoder().encode(s);
    return this.u64(e.length).raw(e);
  }
  /** GGUF header: magic, version, n_tensors, n_kv */
  header(nTensors: number | bigint, nKv: number | bigint, version = 3) {
    return this.u32(GGUF_MAGIC).u32(version).u64(nTensors).u64(nKv);
  }
  /** tensor info: name, n_dims, dims, ggml type, offset */
  tinfo(name: string, dims: (number | bigint)[], type: number, offset: number | bigint) {
    this.str(name).u32(dims.length);
    for (const d of dims) this.u64(d);
    return this.u32(type).u64(offset);
  }
  padTo(alignment: number) {
    while (this.b.length % alignment) this.b.push(0);
    return this;
  }
  zeros(n: number) {
    for (let i = 0; i < n; i++) this.b.push(0);
    return this;
  }
  get length() {
    return this.b.length;
  }
  bytes() {
    return Uint8Array.from(this.b);
  }
}

const parse = (bytes: Uint8Array, name = 'evil.gguf', chunkSize?: number) => readGguf(bytesSource(bytes, name), { chunkSize });

/** A ByteSource that only pretends to be huge: the header bytes, then zeros; counts what is asked of it. */
function virtualSource(header: Uint8Array, size: number) {
  const stats = { requested: 0, largest: 0 };
  const src: ByteSource = {
    name: 'virtual.gguf',
    size,
    async read(offset, length) {
      stats.requested += length;
      stats.largest = Math.max(stats.largest, length);
      if (length > 64 << 20) throw new Error(`test source: refusing to allocate ${length} bytes`);
      const out = new Uint8Array(length);
      if (offset < header.length) out.set(header.subarray(offset, Math.min(header.length, offset + length)));
      return out;
    },
  };
  return { src, stats };
}

// ---------------------------------------------------------------- 1. round trip

/** One key per value type, edge values included. f32 values are pre-rounded to float32. */
function everyValue(): [string, GgufValue][] {
  const f = Math.fround;
  return [
    ['u8.min', gv.u8(0)],
    ['u8.max', gv.u8(255)],
    ['i8.min', gv.i8(-128)],
    ['i8.max', gv.i8(127)],
    ['u16', gv.u16(65535)],
    ['i16', gv.i16(-32768)],
    ['u32', gv.u32(0xffffffff)],
    ['i32', gv.i32(-0x80000000)],
    ['f32', gv.f32(f(0.1))],
    ['f32.neg0', gv.f32(-0)],
    ['f32.inf', gv.f32(-Infinity)],
    ['f32.nan', gv.f32(NaN)],
    ['f32.tiny', gv.f32(f(1e-40))], // subnormal
    ['f64', gv.f64(0.1)],
    ['f64.max', gv.f64(Number.MAX_VALUE)],
    ['u64.max', gv.u64(2n ** 64n - 1n)],
    ['u64.small', gv.u64(7)],
    ['i64.min', gv.i64(-(2n ** 63n))],
    ['i64.max', gv.i64(2n ** 63n - 1n)],
    ['bool.t', gv.bool(true)],
    ['bool.f', gv.bool(false)],
    ['str', gv.str('hello')],
    ['str.empty', gv.str('')],
    ['str.utf8', gv.str('héllo wörld — 世界 🦙 ▁token')],
    ['str.bom', gv.str('\uFEFFleading BOM is data, not a marker')],
    ['str.nul', gv.str('a\u0000b')],
    ['', gv.str('the empty key')],
    ['arr.u8', gv.arr(T.UINT8, Uint8Array.of(0, 1, 255))],
    ['arr.i8', gv.arr(T.INT8, Int8Array.of(-128, 0, 127))],
    ['arr.u16', gv.arr(T.UINT16, Uint16Array.of(0, 65535))],
    ['arr.i16', gv.arr(T.INT16, Int16Array.of(-32768, 32767))],
    ['arr.u32', gv.arr(T.UINT32, Uint32Array.of(0, 0xffffffff))],
    ['arr.i32', gv.i32s([-1, 2, -0x80000000])],
    ['arr.f32', gv.f32s([f(1.5), f(-0.1), Infinity, NaN])],
    ['arr.f64', gv.arr(T.FLOAT64, Float64Array.of(Math.PI, -0, 1e300))],
    ['arr.u64', gv.arr(T.UINT64, BigUint64Array.of(0n, 2n ** 64n - 1n))],
    ['arr.i64', gv.arr(T.INT64, BigInt64Array.of(-(2n ** 63n), 5n))],
    ['arr.bool', gv.arr(T.BOOL, [true, false, true])],
    ['arr.str', gv.strs(['', 'a', 'ñ', '🦙🦙', '\uFEFF'])],
    ['arr.empty.u8', gv.arr(T.UINT8, new Uint8Array(0))],
    ['arr.empty.f64', gv.arr(T.FLOAT64, new Float64Array(0))],
    ['arr.empty.str', gv.strs([])],
    ['arr.empty.bool', gv.arr(T.BOOL, [])],
    ['arr.empty.arr', gv.arr(T.ARRAY, [])],
    [
      'arr.nested',
      gv.arr(T.ARRAY, [
        gv.arr(T.UINT32, Uint32Array.of(1, 2, 3)),
        gv.strs(['x', 'yz']),
        gv.arr(T.UINT8, new Uint8Array(0)),
        gv.arr(T.ARRAY, [gv.arr(T.BOOL, [false]), gv.arr(T.ARRAY, [gv.i32s([-7])])]),
      ]),
    ],
  ];
}

function someTensors(): GgufWriteTensor[] {
  return [
    tensor('vec.f32', 'F32', [5], 1), // 20 bytes: the next tensor needs padding
    tensor('mat.f16', 'F16', [4, 3], 2),
    tensor('cube.q4_0', 'Q4_0', [64, 2, 3], 3),
    tensor('four.q8_0', 'Q8_0', [32, 1, 3, 2], 4),
    tensor('ids.i8', 'I8', [7], 5),
    tensor('k.q4_k', 'Q4_K', [256, 2], 6),
    tensor('bf16.4d', 'BF16', [3, 1, 2, 1], 7),
    tensor('mxfp4', 'MXFP4', [32, 3], 8),
    tensor('q6_k', 'Q6_K', [512], 9),
    tensor('i64', 'I64', [2, 2], 10),
  ];
}

describe('GGUF round trip (writer → reader)', () => {
  const cases: { alignment?: number; version: 2 | 3 }[] = [
    { version: 3 },
    { version: 2 },
    { alignment: 1, version: 3 },
    { alignment: 8, version: 3 },
    { alignment: 64, version: 3 },
    { alignment: 4096, version: 2 },
  ];
  for (const { alignment, version } of cases) {
    it(`every value type and 10 tensors, alignment ${alignment ?? 'default'}, v${version}`, async () => {
      const metadata = everyValue();
      const tensors = someTensors();
      const file = writeGguf({ metadata, tensors, alignment, version });
      const al = alignment ?? 32;

      for (const chunkSize of [undefined, 1, 5, 64, 1000]) {
        const g = await readGguf(bytesSource(file), { chunkSize });
        expect(g.version).toBe(version);
        expect(g.alignment).toBe(al);
        const expectMeta = al === 32 ? metadata : [...metadata, ['general.alignment', gv.u32(al)]];
        expect([...g.metadata]).toStrictEqual(expectMeta);
        expect(g.dataOffset % al).toBe(0);
        expect(g.tensors.map((t) => [t.name, t.type.name, t.dims, t.nElements])).toStrictEqual(
          tensors.map((t) => [t.name, (t.type as GgmlTypeInfo).name, t.dims, t.dims.reduce((a, b) => a * b, 1)]),
        );
        for (const [i, t] of g.tensors.entries()) {
          expect(t.offset % al, t.name).toBe(0);
          expect(t.byteLength).toBe(tensors[i].data.byteLength);
          expectSameBytes(await readTensorBytes(g, t), tensors[i].data, t.name);
          expect(g.tensorsByName.get(t.name)).toBe(t);
        }
      }
    });
  }

  it('f32 -0 and NaN survive (sign and NaN are kept, not normalized)', async () => {
    const g = await parse(writeGguf({ metadata: everyValue(), tensors: [] }));
    expect(Object.is(g.metadata.get('f32.neg0')!.value, -0)).toBe(true);
    expect(Number.isNaN(g.metadata.get('f32.nan')!.value)).toBe(true);
    expect((g.metadata.get('str.bom')!.value as string).charCodeAt(0)).toBe(0xfeff);
  });

  it('encodeGguf parts concatenate to writeGguf, and a Blob of the parts reads the same (blobSource)', async () => {
    const input = { metadata: everyValue(), tensors: someTensors(), alignment: 64 };
    const parts = encodeGguf(input);
    const whole = writeGguf(input);
    expect(parts.reduce((a, p) => a + p.byteLength, 0)).toBe(whole.byteLength);
    const fromBlob = await readGguf(blobSource(new Blob(parts as BlobPart[])), { chunkSize: 100 });
    const fromBytes = await readGguf(bytesSource(whole));
    expect(summary(fromBlob)).toStrictEqual(summary(fromBytes));
    for (const t of fromBlob.tensors) expectSameBytes(await readTensorBytes(fromBlob, t), await readTensorBytes(fromBytes, t), t.name);
  });

  it('a file with no tensors and no metadata', async () => {
    const g = await parse(writeGguf({ metadata: [], tensors: [] }));
    expect(g.metadata.size).toBe(0);
    expect(g.tensors).toEqual([]);
    expect(g.dataOffset).toBe(32); // the 24-byte header padded to 32
  });

  it('arrays of arrays use the spec layout (item type + count per inner array, no per-item tag), as gguf-py writes them', async () => {
    const v = gv.arr(T.ARRAY, [gv.arr(T.UINT32, Uint32Array.of(7)), gv.strs(['x'])]);
    const file = writeGguf({ metadata: [['n', v]], tensors: [] });
    const expected = new Raw()
      .header(0, 1)
      .str('n')
      .u32(T.ARRAY)
      .u32(T.ARRAY) // item type
      .u64(2) // count
      .u32(T.UINT32).u64(1).u32(7) // [7]
      .u32(T.STRING).u64(1).str('x') // ['x']
      .padTo(32)
      .bytes();
    expect(file).toStrictEqual(expected);
    expect((await parse(expected)).metadata.get('n')).toStrictEqual(v);
  });

  it('general.alignment in the metadata decides the padding (copying a file\'s metadata keeps it readable)', async () => {
    const t = tensor('t', 'F32', [3], 1);
    const file = writeGguf({ metadata: [['general.alignment', gv.u32(64)]], tensors: [t, tensor('u', 'F32', [5], 2)] });
    const g = await parse(file);
    expect(g.alignment).toBe(64);
    expect(g.dataOffset % 64).toBe(0);
    expectSameBytes(await readTensorBytes(g, g.tensors[0]), t.data);
    expect(g.tensors[1].offset - g.tensors[0].offset).toBe(64);
  });

  it('the writer refuses inconsistent input with bad-argument', () => {
    const bad = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(CriaError);
      expect(f).toThrow(re);
      try {
        f();
      } catch (e) {
        expect((e as CriaError).code).toBe('bad-argument');
      }
    };
    const t = tensor('t', 'F32', [4], 1);
    bad(() => writeGguf({ metadata: [], tensors: [{ ...t, data: new Uint8Array(15) }] }), /15 bytes given.*needs 16/);
    bad(() => writeGguf({ metadata: [], tensors: [{ ...t, type: 4 }] }), /unknown ggml type 4/);
    bad(() => writeGguf({ metadata: [], tensors: [tensor('q', 'F32', [48], 1)].map((x) => ({ ...x, type: ggmlTypeByName('Q4_0')! })) }), /Q4_0/);
    bad(() => writeGguf({ metadata: [], tensors: [], alignment: 3 }), /power of two/);
    bad(() => writeGguf({ metadata: [], tensors: [], alignment: 0 }), /power of two/);
    bad(() => writeGguf({ metadata: [['general.alignment', gv.u32(64)]], tensors: [], alignment: 32 }), /conflicts/);
    bad(() => writeGguf({ metadata: [['general.alignment', gv.str('64')]], tensors: [] }), /must be a number/);
    bad(() => writeGguf({ metadata: [['x', { type: 13, value: 1 } as unknown as GgufValue]], tensors: [] }), /value type 13/);
  });
});

describe('gguf-meta typed getters', () => {
  const meta = new Map<string, GgufValue>([
    ...everyValue(),
    ['big', gv.u64(2n ** 60n)],
    ['ctx', gv.u64(4096)],
  ]);
  it('reads numbers of every width, strings, bools and arrays', () => {
    expect(metaNumber(meta, 'u8.max')).toBe(255);
    expect(metaNumber(meta, 'ctx')).toBe(4096);
    expect(metaNumber(meta, 'f64')).toBe(0.1);
    expect(metaNumber(meta, 'absent', 7)).toBe(7);
    expect(metaString(meta, 'str.utf8')).toContain('🦙');
    expect(metaString(meta, 'absent', '')).toBe('');
    expect(metaBool(meta, 'bool.f')).toBe(false);
    expect(metaBool(meta, 'absent', true)).toBe(true);
    expect(metaStringArray(meta, 'arr.str')).toEqual(['', 'a', 'ñ', '🦙🦙', '\uFEFF']);
    expect(Array.from(metaNumberArray(meta, 'arr.i32'))).toEqual([-1, 2, -0x80000000]);
    expect(Array.from(metaNumberArray(meta, 'arr.i64'))).toEqual([-(2 ** 63), 5]);
    expect(metaArray(meta, 'arr.bool')).toEqual([true, false, true]);
    expect(metaOptional(meta, 'absent', metaNumber)).toBeUndefined();
    expect(metaOptional(meta, 'u16', metaNumber)).toBe(65535);
  });
  it('missing keys are missing-key, wrong types and unsafe integers are bad-file, naming the key', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return `${(e as CriaError).code}: ${(e as Error).message}`;
      }
      return 'no error';
    };
    expect(code(() => metaNumber(meta, 'llama.block_count'))).toMatch(/^missing-key: .*"llama.block_count"/);
    expect(code(() => metaNumber(meta, 'str'))).toMatch(/^bad-file: metadata "str" is STRING, expected a number/);
    expect(code(() => metaNumber(meta, 'big'))).toMatch(/^bad-file: .*"big".*too large/);
    expect(code(() => metaString(meta, 'u8.max'))).toMatch(/^bad-file: .*UINT8, expected a string/);
    expect(code(() => metaBool(meta, 'u8.max'))).toMatch(/^bad-file/);
    expect(code(() => metaStringArray(meta, 'arr.i32'))).toMatch(/^bad-file: .*ARRAY<INT32>, expected ARRAY<STRING>/);
    expect(code(() => metaNumberArray(meta, 'arr.str'))).toMatch(/^bad-file/);
    expect(code(() => metaArray(meta, 'u8.max'))).toMatch(/^bad-file/);
  });
  it('metaToJson keeps 64-bit values exact (as strings when unsafe), in scalars and arrays alike', () => {
    expect(metaToJson(meta.get('u64.max')!)).toBe('18446744073709551615');
    expect(metaToJson(meta.get('ctx')!)).toBe(4096);
    expect(metaToJson(meta.get('arr.u64')!)).toEqual([0, '18446744073709551615']);
    expect(metaToJson(meta.get('arr.nested')!)).toEqual([[1, 2, 3], ['x', 'yz'], [], [[false], [[-7]]]]);
    expect(metaToJson(meta.get('arr.str')!, 2)).toEqual({ length: 5, first: ['', 'a'] });
  });
});

// ---------------------------------------------------------------- 2. real files

const allGguf = (readdirSync(fixturesDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.gguf')).sort();

/**
 * Files the reader must refuse. ggml-vocab-dbrx.gguf (from a May 2024 llama.cpp commit, later removed upstream)
 * stores general.file_type twice; current ggml (gguf_init_from_file) and gguf-py's GGUFReader both reject
 * duplicate keys, and so do we.
 */
const KNOWN_BAD: Record<string, RegExp> = {
  'gguf-vocab/ggml-vocab-dbrx.gguf': /duplicate metadata key "general.file_type"/,
};

async function withFile<R>(rel: string, f: (g: GgufFile) => Promise<R>, chunkSize?: number): Promise<R> {
  const src = await fileSource(fixturePath(rel));
  try {
    return await f(await readGguf(src, { chunkSize }));
  } finally {
    await src.close();
  }
}

describe('real GGUF files from the fixtures', () => {
  it('finds the fixtures', () => {
    expect(allGguf.length).toBeGreaterThanOrEqual(40);
  });

  for (const rel of allGguf) {
    it(`${rel}: parses; tensors aligned, in bounds, not overlapping`, async () => {
      if (KNOWN_BAD[rel]) {
        const src = await fileSource(fixturePath(rel));
        await expectBadFile(readGguf(src), KNOWN_BAD[rel], rel);
        await src.close();
        return;
      }
      await withFile(rel, async (g) => {
        expect([2, 3]).toContain(g.version);
        let end = g.dataOffset;
        for (const t of [...g.tensors].sort((a, b) => a.offset - b.offset)) {
          expect(t.offset).toBeGreaterThanOrEqual(end);
          expect((t.offset - g.dataOffset) % g.alignment).toBe(0);
          end = t.offset + t.byteLength;
        }
        expect(end <= g.fileSize || g.tensors.length === 0).toBe(true);
      });
    });
  }

  it('stories260K-f32: the facts in the fixture README, and token_embd equals the llama2.c checkpoint bytes', async () => {
    await withFile('models/stories260K/stories260K-f32.gguf', async (g) => {
      expect(g.version).toBe(3);
      expect(g.tensors).toHaveLength(48);
      expect(metaNumber(g, 'llama.context_length')).toBe(128); // the converter's quirk, not the model's 512
      expect(metaNumber(g, 'llama.rope.dimension_count')).toBe(8);
      expect(metaNumber(g, 'llama.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-5));
      expect(metaString(g, 'tokenizer.ggml.model')).toBe('llama');
      expect(metaNumber(g, 'tokenizer.ggml.bos_token_id')).toBe(1);
      expect(metaNumber(g, 'tokenizer.ggml.eos_token_id')).toBe(2);
      expect(metaStringArray(g, 'tokenizer.ggml.tokens')).toHaveLength(512);
      const embd = g.tensorsByName.get('token_embd.weight')!;
      expect(embd.dims).toEqual([64, 512]);
      expect(embd.type.name).toBe('F32');
      expect(g.tensorsByName.get('blk.0.ffn_down.weight')!.dims).toEqual([172, 64]);
      expect(g.tensors.filter((t) => t.name.startsWith('blk.')).length).toBe(45); // 5 layers × 9
      // README: llama2.c .bin = 7 int32 header, then token_embedding [512][64] f32 first
      const bin = readFileSync(fixturePath('models/stories260K/stories260K.bin'));
      const ref = new Uint8Array(bin.buffer, bin.byteOffset + 28, 4 * 512 * 64);
      expectSameBytes(await readTensorBytes(g, embd), ref, 'token_embd');
    });
  });

  it('stories260K-f16: same tensors, matrices in F16, norms in F32', async () => {
    await withFile('models/stories260K/stories260K-f16.gguf', async (g) => {
      expect(g.tensors).toHaveLength(48);
      for (const t of g.tensors) expect(t.type.name).toBe(t.name.endsWith('norm.weight') ? 'F32' : 'F16');
    });
  });

  const randomCases = readdirSync(fixturePath('models/random')).filter((d) => !d.includes('.'));
  for (const c of randomCases) {
    it(`random/${c}: tensors and every metadata key match expected.json (arrays by sha256 of their JSON)`, async () => {
      const exp = JSON.parse(readFileSync(fixturePath(`models/random/${c}/expected.json`), 'utf8'));
      await withFile(`models/random/${c}/${exp.model_file}`, async (g) => {
        const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
        expect(g.tensors.map((t) => ({ name: t.name, type: t.type.name, ne: t.dims })).sort(byName)).toStrictEqual(
          [...exp.tensors].sort(byName),
        );
        expect(g.fileSize).toBe(exp.model_bytes);
        expect([...g.metadata.keys()].sort()).toStrictEqual(Object.keys(exp.gguf_metadata).sort());
        for (const [key, want] of Object.entries<unknown>(exp.gguf_metadata)) {
          const v = g.metadata.get(key)!;
          if (want !== null && typeof want === 'object' && 'sha256_of_json' in want) {
            const w = want as { array_length: number; first: unknown[]; sha256_of_json: string };
            expect(v.type).toBe(T.ARRAY);
            const items = Array.from(metaArray(g, key) as ArrayLike<unknown>);
            expect(items.length, key).toBe(w.array_length);
            expect(items.slice(0, w.first.length), key).toEqual(w.first);
            const isFloat = v.type === T.ARRAY && (v.itemType === T.FLOAT32 || v.itemType === T.FLOAT64);
            expect(createHash('sha256').update(pythonJsonList(items, isFloat)).digest('hex'), key).toBe(w.sha256_of_json);
          } else {
            expect(metaToJson(v), key).toEqual(want);
          }
        }
      });
    });
  }

  it('quant/*.gguf: every tensor\'s type, ne, byte size and sha256 match quant/index.json', async () => {
    const index = JSON.parse(readFileSync(fixturePath('quant/index.json'), 'utf8'));
    let checked = 0;
    for (const [typeName, info] of Object.entries<any>(index.types)) {
      await withFile(`quant/${info.file}`, async (g) => {
        expect(Object.keys(info.tensors).sort()).toStrictEqual(g.tensors.map((t) => t.name).sort());
        for (const [name, ti] of Object.entries<any>(info.tensors)) {
          const t = g.tensorsByName.get(name)!;
          expect(t.type.name).toBe(typeName);
          expect(t.type.id).toBe(info.ggml_type_id);
          expect([t.type.blockSize, t.type.typeSize]).toEqual([info.block_size, info.type_size]);
          expect(t.dims).toEqual(ti.ne);
          expect(t.byteLength).toBe(ti.nbytes);
          const sha = createHash('sha256').update(await readTensorBytes(g, t)).digest('hex');
          expect(sha, `${typeName} ${name}`).toBe(ti.quant_sha256);
          checked++;
        }
        expect(metaString(g, 'general.architecture')).toBe('quanttest');
      });
    }
    expect(checked).toBe(87); // the README's count
  });

  it('gguf-vocab: 0 tensors; architecture, tokenizer model/pre and vocab size as in the fixture README', async () => {
    const table: [string, string, string, string | undefined, number][] = [
      ['llama-spm', 'llama', 'llama', 'default', 32000],
      ['phi-3', 'phi3', 'llama', 'default', 32064],
      ['baichuan', 'baichuan', 'llama', undefined, 64000],
      ['gpt-2', 'gpt2', 'gpt2', 'gpt-2', 50257],
      ['deepseek-llm', 'llama', 'gpt2', 'deepseek-llm', 102400],
      ['mpt', 'mpt', 'gpt2', 'mpt', 50432],
      ['gpt-neox', 'gptneox', 'gpt2', undefined, 50432],
      ['bert-bge', 'bert', 'bert', 'bert-bge', 30522],
    ];
    for (const [name, arch, model, pre, nVocab] of table) {
      await withFile(`gguf-vocab/ggml-vocab-${name}.gguf`, async (g) => {
        expect(g.tensors).toHaveLength(0);
        expect(metaString(g, 'general.architecture')).toBe(arch);
        expect(metaString(g, 'tokenizer.ggml.model')).toBe(model);
        expect(metaOptional(g, 'tokenizer.ggml.pre', metaString)).toBe(pre);
        expect(metaStringArray(g, 'tokenizer.ggml.tokens')).toHaveLength(nVocab);
      }, 64 << 10); // small chunks: the whole file is header, read in many pieces
    }
  });

  for (const rel of allGguf.filter((r) => !KNOWN_BAD[r])) {
    it(`${rel}: re-written by the writer reads back identically${rel.startsWith('gguf-vocab') ? '' : ' (and byte-identical)'}`, async () => {
      await withFile(rel, async (g) => {
        const tensors = await Promise.all(g.tensors.map(async (t) => ({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(g, t) })));
        const out = writeGguf({ metadata: g.metadata, tensors, version: g.version as 2 | 3 });
        const back = await parse(out);
        expect([...back.metadata]).toStrictEqual([...g.metadata]);
        expect(back.tensors.map((t) => [t.name, t.type.name, t.dims])).toStrictEqual(g.tensors.map((t) => [t.name, t.type.name, t.dims]));
        for (const [i, t] of back.tensors.entries()) expectSameBytes(await readTensorBytes(back, t), tensors[i].data, t.name);
        // llama.cpp and gguf-py write the same layout as ours (32-byte padding after the header and after every
        // tensor), so model files come out byte-identical. The vocab-only files end right after the metadata,
        // without the padding both writers would add, so only their content can match.
        if (!rel.startsWith('gguf-vocab')) {
          expectSameBytes(out, readFileSync(fixturePath(rel)), `${rel} rewritten`);
        }
      });
    });
  }
});

/** Python's json.dumps(list, ensure_ascii=False) for strings, ints and floats (as the fixture generator hashed them). */
function pythonJsonList(items: unknown[], isFloat: boolean): string {
  const one = (x: unknown): string => {
    if (typeof x === 'string') return JSON.stringify(x);
    const n = Number(x);
    if (!isFloat) return String(n);
    if (Number.isNaN(n)) return 'NaN';
    if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
    if (Number.isInteger(n) && Math.abs(n) < 1e16) return n.toFixed(1);
    return String(n).replace(/e([+-])(\d)$/, 'e$10$2'); // 1e-5 → 1e-05
  };
  return `[${items.map(one).join(', ')}]`;
}

// ---------------------------------------------------------------- 3. malformed input

describe('malformed GGUF: one CriaError("bad-file") naming the problem', () => {
  const kv = (r: Raw, key: string) => r.str(key);

  it('bad magic, and files too short for one', async () => {
    await expectBadFile(parse(new TextEncoder().encode('PK\x03\x04 this is a zip')), /bad magic "PK\\x03\\x04".*\.gguf/, 'evil.gguf');
    await expectBadFile(parse(new Raw().u32(0x47475546).u32(3).u64(0).u64(0).bytes()), /bad magic "FUGG"/); // byte-swapped magic
    await expectBadFile(parse(new Uint8Array(0)), /truncated while reading magic/);
    await expectBadFile(parse(new TextEncoder().encode('GGU')), /truncated while reading magic/);
  });

  it('versions 1, 4, 0 and big-endian', async () => {
    await expectBadFile(parse(new Raw().header(0, 0, 1).bytes()), /unsupported version 1.*obsolete/);
    await expectBadFile(parse(new Raw().header(0, 0, 4).bytes()), /unsupported version 4; Cria reads GGUF versions 2 and 3/);
    await expectBadFile(parse(new Raw().header(0, 0, 0).bytes()), /unsupported version 0/);
    // a big-endian v3 file: version bytes 00 00 00 03
    await expectBadFile(parse(new Raw().header(0, 0, 0x03000000).bytes()), /big-endian/);
  });

  it('truncation at every prefix of a small file (and every chunk size) throws bad-file, never hangs', async () => {
    const file = writeGguf({
      metadata: [
        ['general.architecture', gv.str('llama')],
        ['n', gv.u64(5)],
        ['b', gv.bool(true)],
        ['toks', gv.strs(['a', 'bc', ''])],
        ['f', gv.f32s([1, 2])],
        ['nest', gv.arr(T.ARRAY, [gv.i32s([1]), gv.strs(['z'])])],
      ],
      tensors: [tensor('a', 'F32', [3], 1), tensor('b', 'Q8_0', [32, 2], 2), tensor('c', 'F16', [16], 3)], // c: 32 bytes, no trailing padding
    });
    const g = await parse(file);
    expect(g.tensors[2].offset + g.tensors[2].byteLength).toBe(file.byteLength); // so every proper prefix is damaged
    for (const chunkSize of [undefined, 1, 7]) {
      for (let len = 0; len < file.byteLength; len++) {
        const p = parse(file.subarray(0, len), `prefix-${len}.gguf`, chunkSize);
        const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error(`prefix ${len} hung`)), 2000));
        // cut inside the header: 'truncated while reading …' or a count larger than the bytes left could hold;
        // cut inside the data: 'tensor … past the end of the file; the file is truncated or corrupt'
        await expectBadFile(Promise.race([p, timeout]), /truncated|more than the \d+ this file could hold/, `prefix-${len}.gguf`);
      }
    }
  });

  it('a tensor past the end of the file', async () => {
    const file = writeGguf({ metadata: [], tensors: [tensor('w', 'F32', [8], 1)] });
    const e = await expectBadFile(parse(file.subarray(0, file.length - 1)), /tensor w \(F32, 8\) ends at byte \d+, past the end of the file/);
    expect(e.detail).toMatchObject({ tensor: 'w', truncated: true });
  });

  it('absurd counts: tensors, kv, array length, string length (2^62 and just over what the file holds)', async () => {
    await expectBadFile(parse(new Raw().header(2n ** 62n, 0).bytes()), /tensor count is 4611686018427387904, more than/);
    await expectBadFile(parse(new Raw().header(2n ** 64n - 1n, 0).bytes()), /tensor count is 18446744073709551615/);
    await expectBadFile(parse(new Raw().header(0, 2n ** 62n).bytes()), /metadata count is 4611686018427387904/);
    await expectBadFile(parse(new Raw().header(2, 0).zeros(40).bytes()), /tensor count is 2, more than the 1/); // 40 bytes hold one tensor info at most
    await expectBadFile(parse(new Raw().header(0, 1).str('a').u32(T.ARRAY).u32(T.UINT8).u64(2n ** 62n).bytes()), /metadata "a" array length is 4611686018427387904/);
    await expectBadFile(parse(new Raw().header(0, 1).str('a').u32(T.ARRAY).u32(T.UINT32).u64(3).u32(1).u32(2).bytes()), /metadata "a" array length is 3, more than the 2/);
    await expectBadFile(parse(new Raw().header(0, 1).str('a').u32(T.ARRAY).u32(T.STRING).u64(2n ** 40n).bytes()), /array length is 1099511627776/);
    await expectBadFile(parse(new Raw().header(0, 1).str('a').u32(T.STRING).u64(2n ** 62n).bytes()), /length of metadata "a" is 4611686018427387904/);
    await expectBadFile(parse(new Raw().header(0, 1).u64(2n ** 62n).bytes()), /length of metadata key #0 is 4611686018427387904/);
    await expectBadFile(parse(new Raw().header(0, 1).str('k'.repeat(70000)).u32(T.UINT8).u8(0).bytes()), /length of metadata key #0 is 70000, more than the 65536/);
  });

  it('on a (virtual) huge file, limits still stop hostile counts early, without big reads or allocations', async () => {
    const huge = 2 ** 45; // 32 TiB that the source only pretends to have
    const cases: [Raw, RegExp][] = [
      [new Raw().header(0, 1).str('s').u32(T.STRING).u64(2n ** 40n), /length of metadata "s" is 1099511627776, more than the 268435456/],
      [new Raw().header(0, 1).str('a').u32(T.ARRAY).u32(T.STRING).u64(2n ** 33n), /array length is 8589934592, more than the 16777216/],
      [new Raw().header(0, 1).str('a').u32(T.ARRAY).u32(T.ARRAY).u64(2n ** 33n), /array length is 8589934592/],
      [new Raw().header(0, 1).str('a').u32(T.ARRAY).u32(T.FLOAT64).u64(2n ** 40n), /array length is 1099511627776/],
      [new Raw().header(2n ** 21n, 0), /tensor count is 2097152, more than the 1048576/],
      [new Raw().header(0, 2n ** 21n), /metadata count is 2097152, more than the 1048576/],
      [new Raw().header(1, 0).tinfo('w', [2n ** 40n, 2n ** 20n], 0, 0), /absurd number of elements/],
      [new Raw().header(1, 0).tinfo('w', [2n ** 48n], 0, 0), /tensor w \(F32, 281474976710656\) ends at byte \d+, past the end/],
    ];
    for (const [raw, re] of cases) {
      const { src, stats } = virtualSource(raw.bytes(), huge);
      const t0 = performance.now();
      await expectBadFile(readGguf(src, { chunkSize: 4096 }), re, 'virtual.gguf');
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(stats.requested).toBeLessThanOrEqual(64 << 10);
    }
    expect(GGUF_LIMITS.maxStringLength).toBeLessThan(2 ** 29); // V8 strings cannot be longer
  });

  it('dimensions: 0 and 5 dims, an empty dimension, absurd sizes', async () => {
    const one = (dims: (number | bigint)[], type = 0) => new Raw().header(1, 0).tinfo('w', dims, type, 0).padTo(32).zeros(64).bytes();
    await expectBadFile(parse(one([])), /tensor w has 0 dimensions \(1 to 4 allowed\)/);
    await expectBadFile(parse(one([1, 1, 1, 1, 1])), /tensor w has 5 dimensions/);
    await expectBadFile(parse(new Raw().header(1, 0).str('w').u32(0xffffffff).zeros(64).bytes()), /has 4294967295 dimensions/);
    await expectBadFile(parse(one([4, 0])), /tensor w has an empty dimension 1/);
    await expectBadFile(parse(one([2n ** 62n])), /dimension 0 of w is 4611686018427387904/);
    await expectBadFile(parse(one([2 ** 26, 2 ** 26])), /absurd number of elements \(67108864×67108864/);
    await expectBadFile(parse(one([2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20])), /absurd number of elements/);
  });

  it('unknown ggml type ids (including the removed Q4_2/Q4_3 = 4/5)', async () => {
    for (const id of [4, 5, 31, 32, 33, 36, 40, 1000, 0xffffffff]) {
      const e = await expectBadFile(parse(new Raw().header(1, 0).tinfo('w', [32], id, 0).padTo(32).zeros(256).bytes()), new RegExp(`tensor w has unknown ggml type ${id}\\b`));
      expect(e.detail).toMatchObject({ typeId: id });
    }
  });

  it('unknown value types, scalar and array items; nesting too deep', async () => {
    await expectBadFile(parse(new Raw().header(0, 1).str('x').u32(13).zeros(8).bytes()), /metadata "x": unknown value type 13/);
    await expectBadFile(parse(new Raw().header(0, 1).str('x').u32(0xffffffff).zeros(8).bytes()), /unknown value type 4294967295/);
    await expectBadFile(parse(new Raw().header(0, 1).str('x').u32(T.ARRAY).u32(13).u64(1).zeros(8).bytes()), /metadata "x": unknown array item type 13/);
    // array of arrays whose inner item type is unknown
    await expectBadFile(parse(new Raw().header(0, 1).str('x').u32(T.ARRAY).u32(T.ARRAY).u64(1).u32(99).u64(0).bytes()), /metadata "x"\[0\]: unknown array item type 99/);
    const deep = new Raw().header(0, 1).str('d').u32(T.ARRAY);
    for (let i = 0; i < 9; i++) deep.u32(T.ARRAY).u64(1);
    deep.u32(T.UINT8).u64(0);
    await expectBadFile(parse(deep.bytes()), /arrays nested deeper than 8/);
  });

  it('bool bytes other than 0/1, scalar and in arrays', async () => {
    await expectBadFile(parse(new Raw().header(0, 1).str('b').u32(T.BOOL).u8(2).bytes()), /metadata "b": bool value 2 is neither 0 nor 1/);
    await expectBadFile(parse(new Raw().header(0, 1).str('b').u32(T.ARRAY).u32(T.BOOL).u64(3).u8(1).u8(0).u8(255).bytes()), /bool value 255/);
  });

  it('row length not a multiple of the block size', async () => {
    const one = (ne0: number, type: GgmlTypeName) => new Raw().header(1, 0).tinfo('w', [ne0, 2], ggmlTypeByName(type)!.id, 0).padTo(32).zeros(4096).bytes();
    await expectBadFile(parse(one(48, 'Q4_0')), /tensor w row length 48 is not a multiple of the Q4_0 block size 32/);
    await expectBadFile(parse(one(128, 'Q4_K')), /row length 128 is not a multiple of the Q4_K block size 256/);
    await expectBadFile(parse(one(33, 'MXFP4')), /MXFP4 block size 32/);
  });

  it('misaligned and overlapping tensor data', async () => {
    const two = (offA: number, offB: number) =>
      new Raw().header(2, 0).tinfo('a', [16], 0, offA).tinfo('b', [16], 0, offB).padTo(32).zeros(256).bytes();
    await expectBadFile(parse(two(0, 4)), /tensor b data offset 4 is not aligned to 32/);
    await expectBadFile(parse(two(0, 32)), /tensors a and b overlap/);
    await expectBadFile(parse(two(64, 32)), /tensors b and a overlap/);
    await expectBadFile(parse(two(64, 64)), /overlap/);
    expect((await parse(two(64, 0))).tensors.map((t) => t.offset)).toEqual([64 + 96, 96]); // adjacent, out of order: fine
  });

  it('duplicate metadata keys and tensor names', async () => {
    await expectBadFile(parse(new Raw().header(0, 2).str('a').u32(T.UINT8).u8(1).str('a').u32(T.UINT8).u8(1).bytes()), /duplicate metadata key "a"/);
    await expectBadFile(parse(new Raw().header(2, 0).tinfo('w', [8], 0, 0).tinfo('w', [8], 0, 32).padTo(32).zeros(64).bytes()), /duplicate tensor name "w"/);
  });

  it('general.alignment: 0, 3, a string, negative, too large, a float', async () => {
    const withAlign = (write: (r: Raw) => Raw) => {
      const r = kv(new Raw().header(1, 1), 'general.alignment');
      return write(r).tinfo('w', [8], 0, 0).padTo(32).zeros(64).bytes();
    };
    await expectBadFile(parse(withAlign((r) => r.u32(T.UINT32).u32(0))), /general.alignment must be a power of two, got 0/);
    await expectBadFile(parse(withAlign((r) => r.u32(T.UINT32).u32(3))), /general.alignment must be a power of two, got 3/);
    await expectBadFile(parse(withAlign((r) => r.u32(T.STRING).str('32'))), /general.alignment must be a power of two, got 32/); // type STRING
    await expectBadFile(parse(withAlign((r) => r.u32(T.INT32).u32(-32))), /got -32/);
    await expectBadFile(parse(withAlign((r) => r.u32(T.UINT32).u32(2 ** 25))), /got 33554432/);
    await expectBadFile(parse(withAlign((r) => r.u32(T.UINT64).u64(2n ** 32n))), /got 4294967296/);
    await expectBadFile(parse(withAlign((r) => r.u32(T.FLOAT32).f32(32))), /general.alignment must be a power of two/);
    expect((await parse(withAlign((r) => r.u32(T.UINT32).u32(16)))).alignment).toBe(16);
  });

  it('strings that are not UTF-8 are decoded with U+FFFD (as lenient as llama.cpp, which keeps raw bytes)', async () => {
    const g = await parse(new Raw().header(0, 1).str('s').u32(T.STRING).u64(3).raw([0xff, 0x41, 0xc3]).bytes());
    expect(g.metadata.get('s')!.value).toBe('\uFFFDA\uFFFD');
  });

  it('fileSource: a missing file is bad-argument; reading past its end is bad-file', async () => {
    await expect(fileSource('/nonexistent/x.gguf')).rejects.toMatchObject({ code: 'bad-argument' });
    const src = await fileSource(fixturePath('quant/q4_0.gguf'));
    await expectBadFile(src.read(src.size - 2, 4), /truncated/);
    await src.close();
  });
});

// ---------------------------------------------------------------- 5. urlSource over real HTTP

describe('urlSource against a local HTTP server', () => {
  const FILE = 'models/stories260K/stories260K-f32.gguf';
  const body = readFileSync(fixturePath(FILE));
  let server: Server;
  let base = '';
  const requests: Record<string, number> = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      const mode = (req.url ?? '/').split('/')[1];
      requests[mode] = (requests[mode] ?? 0) + 1;
      if (mode === 'missing') {
        res.writeHead(404, 'Not Found').end('no such model');
        return;
      }
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (mode === 'norange' || !m) {
        res.writeHead(200, { 'Content-Length': body.length }).end(body);
        return;
      }
      let start = Number(m[1]);
      let end = Math.min(Number(m[2]), body.length - 1);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      const isProbe = start === 0 && end === 0;
      if (mode === 'short' && !isProbe) end = start + Math.floor((end - start) / 2); // honest but short 206
      if (mode === 'shifted' && !isProbe) start += 1; // a range other than the one asked for
      const chunk = body.subarray(start, end + 1);
      const size = mode === 'nosize' ? '*' : String(body.length);
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': chunk.length, 'Accept-Ranges': 'bytes' });
      if (mode === 'cut' && !isProbe) {
        res.write(chunk.subarray(0, chunk.length >> 1)); // promise the whole range, then drop the connection
        setTimeout(() => res.destroy(), 10);
        return;
      }
      res.end(chunk);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const networkError = async (p: Promise<unknown>, re: RegExp) => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CriaError);
    expect((err as CriaError).code, (err as Error).message).toBe('network');
    expect((err as Error).message).toMatch(re);
  };

  it('reads the same header and tensors as fileSource, with few requests', async () => {
    requests.range = 0;
    const src = await urlSource(`${base}/range/${FILE}`);
    expect(src.size).toBe(body.length);
    expect(requests.range).toBe(1); // the size probe
    const g = await readGguf(src);
    expect(requests.range).toBe(2); // the header (14 KiB) fits in one default chunk
    await withFile(FILE, async (local) => {
      expect(summary(g)).toStrictEqual(summary(local));
      for (const t of g.tensors) expectSameBytes(await readTensorBytes(g, t), await readTensorBytes(local, t), t.name);
    });
    expect(requests.range).toBe(2 + 48); // one request per tensor

    requests.range = 0;
    const g2 = await readGguf(await urlSource(`${base}/range/${FILE}`), { chunkSize: 4096 });
    expect(requests.range).toBe(1 + Math.ceil(g2.dataOffset / 4096)); // each header byte fetched once
    expect(summary(g2)).toStrictEqual(summary(g));
  });

  it('a server that ignores Range (200) is refused with a clear network error', async () => {
    await networkError(urlSource(`${base}/norange/x.gguf`), /does not support HTTP Range requests \(answered 200, not 206\)/);
  });

  it('404 is a network error naming the status', async () => {
    await networkError(urlSource(`${base}/missing/x.gguf`), /answered HTTP 404/);
  });

  it('a server that returns fewer bytes than asked', async () => {
    const src = await urlSource(`${base}/short/x.gguf`);
    await networkError(readGguf(src), /asked for \d+ bytes at 0, got \d+/);
  });

  it('a connection dropped mid-body is a network error, not a raw TypeError', async () => {
    const src = await urlSource(`${base}/cut/x.gguf`);
    await networkError(readGguf(src), /could not fetch/);
  });

  it('a 206 for a different range than asked is refused', async () => {
    const src = await urlSource(`${base}/shifted/x.gguf`);
    await networkError(readGguf(src), /asked for bytes from 0 but the server sent Content-Range "bytes 1-/);
  });

  it('a Content-Range without the total size is refused', async () => {
    await networkError(urlSource(`${base}/nosize/x.gguf`), /no file size in Content-Range/);
  });

  it('reads past the end are bad-file; an aborted signal is "aborted"; an unreachable host is "network"', async () => {
    const src = await urlSource(`${base}/range/${FILE}`);
    await expectBadFile(src.read(body.length - 1, 2), /truncated/);
    const ac = new AbortController();
    ac.abort();
    await expect(urlSource(`${base}/range/${FILE}`, { signal: ac.signal })).rejects.toMatchObject({ code: 'aborted' });
    await expect(urlSource('http://127.0.0.1:1/x.gguf')).rejects.toMatchObject({ code: 'network' });
  });
});

// ---------------------------------------------------------------- 6. blobSource

describe('blobSource', () => {
  it('a Blob / File of a real file reads the same as fileSource', async () => {
    const rel = 'models/random/qwen2-q4_k_m/qwen2-q4_k_m.gguf';
    const bytes = readFileSync(fixturePath(rel));
    for (const blob of [new Blob([bytes]), new File([bytes], 'qwen2.gguf')]) {
      const g = await readGguf(blobSource(blob), { chunkSize: 1000 });
      await withFile(rel, async (local) => {
        expect(summary(g)).toStrictEqual(summary(local));
        for (const t of g.tensors) expectSameBytes(await readTensorBytes(g, t), await readTensorBytes(local, t), t.name);
      });
    }
    await expectBadFile(readGguf(blobSource(new File([bytes.subarray(0, 5000)], 'cut.gguf'))), /truncated/, 'cut.gguf');
  });
});

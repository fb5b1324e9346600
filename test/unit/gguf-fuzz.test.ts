/**
 * Property tests for the GGUF reader (fast-check).
 *
 *  A. random valid files (every value type, nested arrays, 1–4-dim tensors of many ggml types, any alignment,
 *     v2/v3) survive writer → reader unchanged, at any read chunk size.
 *  B. corrupted files (generated ones, two real fixtures, and the real stories260K header in front of its
 *     1.1 MB of tensor data): byte flips, overwrites, u64 counts / lengths / dims / offsets set to huge values,
 *     u32 type fields set to odd values, truncation, insertion, deletion. readGguf must either succeed with every
 *     tensor inside the file, or throw exactly a CriaError('bad-file') naming the file; never another error,
 *     never hang, never ask the source for more bytes than the file has.
 *
 * Reproduce a failure with the seed printed at the start: FUZZ_SEED=<seed> FUZZ_RUNS=<n> npx vitest run test/unit/gguf-fuzz.test.ts
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ggmlTypeByName, type GgmlTypeName } from '../../src/formats/ggml-types.ts';
import { GgufValueType as T, readGguf, readTensorBytes, type GgufFile, type GgufValue } from '../../src/formats/gguf.ts';
import { gv, writeGguf, type GgufWriteInput, type GgufWriteTensor } from '../../src/formats/gguf-writer.ts';
import { bytesSource, type ByteSource } from '../../src/formats/source.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20251122);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const ROUND_TRIP_RUNS = Math.max(50, Math.round(RUNS / 5));
const CASE_TIMEOUT_MS = 5000;
console.log(`[gguf-fuzz] seed=${SEED} runs=${RUNS} (corruption) + ${ROUND_TRIP_RUNS} (round trip); reproduce with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);

// ---------------------------------------------------------------- arbitraries for valid files

const str = fc.string({ unit: 'binary', maxLength: 12 }); // any code point, incl. astral and U+FEFF
const small = { maxLength: 6 };

const scalar: fc.Arbitrary<GgufValue> = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(gv.u8),
  fc.integer({ min: -128, max: 127 }).map(gv.i8),
  fc.integer({ min: 0, max: 65535 }).map(gv.u16),
  fc.integer({ min: -32768, max: 32767 }).map(gv.i16),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(gv.u32),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(gv.i32),
  fc.float().map(gv.f32), // fc.float yields float32 values (NaN, ±0, ±Infinity, subnormals included)
  fc.double().map(gv.f64),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(gv.u64),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(gv.i64),
  fc.boolean().map(gv.bool),
  str.map(gv.str),
);

const { array: arrayValue } = fc.letrec<{ array: GgufValue }>((tie) => ({
  array: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'gguf-array' },
    fc.array(fc.integer({ min: 0, max: 255 }), small).map((x) => gv.arr(T.UINT8, Uint8Array.from(x))),
    fc.array(fc.integer({ min: -128, max: 127 }), small).map((x) => gv.arr(T.INT8, Int8Array.from(x))),
    fc.array(fc.integer({ min: 0, max: 65535 }), small).map((x) => gv.arr(T.UINT16, Uint16Array.from(x))),
    fc.array(fc.integer({ min: -32768, max: 32767 }), small).map((x) => gv.arr(T.INT16, Int16Array.from(x))),
    fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), small).map((x) => gv.arr(T.UINT32, Uint32Array.from(x))),
    fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), small).map(gv.i32s),
    fc.array(fc.float(), small).map(gv.f32s),
    fc.array(fc.double(), small).map((x) => gv.arr(T.FLOAT64, Float64Array.from(x))),
    fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), small).map((x) => gv.arr(T.UINT64, BigUint64Array.from(x))),
    fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), small).map((x) => gv.arr(T.INT64, BigInt64Array.from(x))),
    fc.array(fc.boolean(), small).map((x) => gv.arr(T.BOOL, x)),
    fc.array(str, small).map(gv.strs),
    fc.array(tie('array'), { maxLength: 3 }).map((x) => gv.arr(T.ARRAY, x)),
  ),
}));

const metadata = fc.uniqueArray(fc.tuple(str.filter((k) => k !== 'general.alignment'), fc.oneof(scalar, arrayValue)), {
  selector: ([k]) => k,
  maxLength: 8,
});

const TYPES: GgmlTypeName[] = ['F32', 'F16', 'BF16', 'Q4_0', 'Q8_0', 'Q4_K', 'Q6_K', 'IQ4_XS', 'I8', 'I32', 'F64', 'MXFP4', 'TQ1_0'];

const tensorSpec = fc.record({
  name: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
  type: fc.constantFrom(...TYPES),
  blocks: fc.integer({ min: 1, max: 3 }),
  rest: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

function makeTensor(s: { name: string; type: GgmlTypeName; blocks: number; rest: number[]; seed: number }): GgufWriteTensor {
  const type = ggmlTypeByName(s.type)!;
  const dims = [type.blockSize * s.blocks, ...s.rest];
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Uint8Array((n / type.blockSize) * type.typeSize);
  let x = s.seed;
  for (let i = 0; i < data.length; i++) data[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return { name: s.name, type, dims, data };
}

const writeInput: fc.Arbitrary<GgufWriteInput> = fc.record({
  metadata,
  tensors: fc.uniqueArray(tensorSpec, { selector: (t) => t.name, maxLength: 5 }).map((ts) => ts.map(makeTensor)),
  alignment: fc.constantFrom(1, 2, 4, 8, 16, 32, 64, 128, 256),
  version: fc.constantFrom(2 as const, 3 as const),
});

const chunkSize = fc.constantFrom(1, 2, 3, 16, 100, 4096, undefined);

// ---------------------------------------------------------------- sources that count what is asked of them

interface Stats {
  requested: number;
  largest: number;
}

/** `head` followed by `tailZeros` virtual zero bytes (stands in for tensor data without holding it). */
function countingSource(head: Uint8Array, tailZeros: number, name: string): { src: ByteSource; stats: Stats } {
  const stats: Stats = { requested: 0, largest: 0 };
  const inner = bytesSource(head, name);
  const size = head.length + tailZeros;
  const src: ByteSource = {
    name,
    size,
    async read(offset, length) {
      stats.requested += length;
      stats.largest = Math.max(stats.largest, length);
      if (tailZeros === 0) return inner.read(offset, length);
      if (offset + length > size) throw new CriaError('bad-file', `${name} is truncated at ${size} bytes`); // as bytesSource does
      const out = new Uint8Array(length);
      if (offset < head.length) out.set(head.subarray(offset, Math.min(head.length, offset + length)));
      return out;
    },
  };
  return { src, stats };
}

// ---------------------------------------------------------------- an independent walker: where the fields are

/** Offsets of every u64 (counts, string lengths, array lengths, dims, tensor offsets) and u32 (version, types, n_dims) in a VALID file. */
function fieldOffsets(b: Uint8Array): { u64: number[]; u32: number[] } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u64 = [8, 16];
  const u32 = [4];
  let p = 24;
  const size: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const count = () => {
    u64.push(p);
    const n = Number(dv.getBigUint64(p, true));
    p += 8;
    return n;
  };
  const type = () => {
    u32.push(p);
    const t = dv.getUint32(p, true);
    p += 4;
    return t;
  };
  const skipString = () => {
    const n = count(); // not `p += count()`: that would read p before count() moves it
    p += n;
  };
  const value = (t: number): void => {
    if (t === T.STRING) skipString();
    else if (t === T.ARRAY) {
      const it = type();
      for (let i = 0, n = count(); i < n; i++) value(it);
    } else p += size[t];
  };
  const nTensors = Number(dv.getBigUint64(8, true));
  const nKv = Number(dv.getBigUint64(16, true));
  for (let i = 0; i < nKv; i++) {
    skipString();
    value(type());
  }
  for (let i = 0; i < nTensors; i++) {
    skipString();
    const nd = type();
    for (let d = 0; d < nd; d++) count();
    type();
    count();
  }
  return { u64, u32 };
}

// ---------------------------------------------------------------- corruption

type Op =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'byte'; at: number; v: number }
  | { k: 'u64'; field: number; v: bigint }
  | { k: 'u32'; field: number; v: number }
  | { k: 'cut'; at: number }
  | { k: 'ins'; at: number; bytes: Uint8Array }
  | { k: 'del'; at: number; n: number };

const hugeU64 = fc.oneof(
  fc.constantFrom(2n ** 62n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 50n + 1n, 2n ** 32n, 2n ** 32n - 1n, 2n ** 28n + 1n, 2n ** 24n + 1n),
  fc.constantFrom(0n, 1n, 2n, 31n, 32n, 33n, 1000n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const oddU32 = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0xffffffff, 0x80000000, 0x03000000, 13, 99));

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('byte' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('u64' as const), field: fc.nat(), v: hugeU64 }),
  fc.record({ k: fc.constant('u64' as const), field: fc.nat(), v: hugeU64 }), // counts are the interesting part: twice the weight
  fc.record({ k: fc.constant('u32' as const), field: fc.nat(), v: oddU32 }),
  fc.record({ k: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('ins' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ k: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 16 }) }),
);

/** Apply ops to a copy; returns the new head and whether the file was cut (which drops the virtual tail). */
function corrupt(base: Uint8Array, fields: { u64: number[]; u32: number[] }, ops: Op[]): { head: Uint8Array; cut: boolean } {
  let b = base.slice();
  let cut = false;
  const put = (at: number, bytes: Uint8Array) => {
    if (at + bytes.length <= b.length) b.set(bytes, at);
  };
  for (const o of ops) {
    const at = b.length ? ('at' in o ? o.at % b.length : 0) : 0;
    switch (o.k) {
      case 'flip':
        if (b.length) b[at] ^= 1 << o.bit;
        break;
      case 'byte':
        if (b.length) b[at] = o.v;
        break;
      case 'u64': {
        const x = new Uint8Array(8);
        new DataView(x.buffer).setBigUint64(0, o.v, true);
        put(fields.u64[o.field % fields.u64.length], x);
        break;
      }
      case 'u32': {
        const x = new Uint8Array(4);
        new DataView(x.buffer).setUint32(0, o.v, true);
        put(fields.u32[o.field % fields.u32.length], x);
        break;
      }
      case 'cut':
        b = b.slice(0, o.at % (b.length + 1));
        cut = true;
        break;
      case 'ins': {
        const out = new Uint8Array(b.length + o.bytes.length);
        out.set(b.subarray(0, at));
        out.set(o.bytes, at);
        out.set(b.subarray(at), at + o.bytes.length);
        b = out;
        break;
      }
      case 'del': {
        const end = Math.min(b.length, at + o.n); // delete bytes [at, end)
        const out = new Uint8Array(b.length - (end - at));
        out.set(b.subarray(0, at));
        out.set(b.subarray(end), at);
        b = out;
        break;
      }
    }
  }
  return { head: b, cut };
}

// ---------------------------------------------------------------- checks

async function withTimeout<R>(p: Promise<R>, ms: number, what: string): Promise<R> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`HANG: ${what} did not settle in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** What must hold of any file readGguf accepts. */
async function checkAccepted(g: GgufFile): Promise<void> {
  const size = g.fileSize;
  expect(g.alignment > 0 && (g.alignment & (g.alignment - 1)) === 0).toBe(true);
  expect(g.dataOffset % g.alignment).toBe(0);
  let end = 0;
  for (const t of [...g.tensors].sort((a, b) => a.offset - b.offset)) {
    expect(Number.isSafeInteger(t.offset) && Number.isSafeInteger(t.byteLength)).toBe(true);
    expect(t.dims.length >= 1 && t.dims.length <= 4 && t.dims.every((d) => Number.isSafeInteger(d) && d >= 1)).toBe(true);
    expect(t.nElements).toBe(t.dims.reduce((a, b) => a * b, 1));
    expect(t.byteLength).toBe((t.nElements / t.type.blockSize) * t.type.typeSize);
    expect(t.offset).toBeGreaterThanOrEqual(Math.max(g.dataOffset, end)); // inside the data section, no overlap
    expect((t.offset - g.dataOffset) % g.alignment).toBe(0);
    expect(t.offset + t.byteLength).toBeLessThanOrEqual(size);
    end = t.offset + t.byteLength;
  }
  for (const t of g.tensors.slice(0, 4)) expect((await readTensorBytes(g, t)).byteLength).toBe(t.byteLength);
}

// ---------------------------------------------------------------- bases for corruption

const stories = readFileSync(fixturePath('models/stories260K/stories260K-f32.gguf'));
const storiesHeaderLen = 14176; // dataOffset, asserted below
interface Base {
  name: string;
  bytes: Uint8Array;
  tail: number;
}
const fixedBases: Base[] = [
  { name: 'q2_k.gguf', bytes: new Uint8Array(readFileSync(fixturePath('quant/q2_k.gguf'))), tail: 0 },
  { name: 'iq4_nl.gguf', bytes: new Uint8Array(readFileSync(fixturePath('quant/iq4_nl.gguf'))), tail: 0 },
  // the real stories260K header (vocab of 512 with scores and types), its tensor data stood in by zeros
  { name: 'stories260K-header.gguf', bytes: new Uint8Array(stories.subarray(0, storiesHeaderLen)), tail: stories.length - storiesHeaderLen },
  {
    name: 'nested.gguf',
    bytes: writeGguf({
      metadata: [
        ['general.architecture', gv.str('llama')],
        ['n', gv.u64(5)],
        ['b', gv.bool(true)],
        ['toks', gv.strs(['a', 'bc', '', '▁the'])],
        ['scores', gv.f32s([1, 2, 3])],
        ['nest', gv.arr(T.ARRAY, [gv.i32s([1]), gv.strs(['z']), gv.arr(T.ARRAY, [gv.arr(T.BOOL, [true])])])],
      ],
      tensors: [makeTensor({ name: 'a', type: 'Q4_0', blocks: 2, rest: [2], seed: 1 }), makeTensor({ name: 'b', type: 'F16', blocks: 16, rest: [], seed: 2 })],
      alignment: 64,
    }),
    tail: 0,
  },
];

const base: fc.Arbitrary<Base> = fc.oneof(
  { weight: 2, arbitrary: writeInput.map((w) => ({ name: 'generated.gguf', bytes: writeGguf(w), tail: 0 })) },
  { weight: 3, arbitrary: fc.constantFrom(...fixedBases) },
);

// ---------------------------------------------------------------- the properties

describe('GGUF property tests', () => {
  it(`A. random valid files round-trip (${ROUND_TRIP_RUNS} runs, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(writeInput, chunkSize, async (input, chunk) => {
        const file = writeGguf(input);
        const g = await withTimeout(readGguf(bytesSource(file), { chunkSize: chunk }), CASE_TIMEOUT_MS, 'readGguf');
        const meta = [...(input.metadata as [string, GgufValue][])];
        if (input.alignment !== 32) meta.push(['general.alignment', gv.u32(input.alignment!)]);
        expect([...g.metadata]).toStrictEqual(meta);
        expect(g.version).toBe(input.version);
        expect(g.alignment).toBe(input.alignment);
        expect(g.tensors.map((t) => [t.name, t.type.id, t.dims])).toStrictEqual(input.tensors.map((t) => [t.name, (t.type as { id: number }).id, t.dims]));
        for (const [i, t] of g.tensors.entries()) expect(await readTensorBytes(g, t)).toStrictEqual(input.tensors[i].data);
        await checkAccepted(g);
      }),
      { seed: SEED, numRuns: ROUND_TRIP_RUNS },
    );
  });

  it(`B. corrupted files: success with sane tensors, or exactly CriaError('bad-file') (${RUNS} runs, seed ${SEED})`, async () => {
    const g = await readGguf(bytesSource(stories));
    expect(g.dataOffset).toBe(storiesHeaderLen);

    const fieldCache = new WeakMap<Uint8Array, { u64: number[]; u32: number[] }>();
    const outcomes = { accepted: 0, rejected: 0 };
    const messages = new Map<string, number>();
    const mem0 = process.memoryUsage();
    let peakHeap = mem0.heapUsed;
    const t0 = performance.now();

    await fc.assert(
      fc.asyncProperty(base, fc.array(op, { minLength: 1, maxLength: 4 }), chunkSize, async (b, ops, chunk) => {
        let fields = fieldCache.get(b.bytes);
        if (!fields) fieldCache.set(b.bytes, (fields = fieldOffsets(b.bytes)));
        const { head, cut } = corrupt(b.bytes, fields, ops);
        const { src, stats } = countingSource(head, cut ? 0 : b.tail, b.name);
        let result: GgufFile | undefined;
        let error: unknown;
        try {
          result = await withTimeout(readGguf(src, { chunkSize: chunk }), CASE_TIMEOUT_MS, `readGguf(${b.name})`);
        } catch (e) {
          error = e;
        }
        // Never more than the file: the header is read front to back, each byte once.
        const requested = stats.requested;
        expect(requested, `bytes requested for a ${src.size}-byte file`).toBeLessThanOrEqual(src.size);
        expect(requested).toBeLessThanOrEqual(src.size + (chunk ?? 1 << 20)); // the looser contract
        if (error === undefined) {
          outcomes.accepted++;
          await checkAccepted(result!);
        } else {
          if (!(error instanceof CriaError) || error.code !== 'bad-file') {
            throw new Error(`expected CriaError('bad-file'), got ${(error as Error)?.name}: ${(error as Error)?.message}\n${(error as Error)?.stack}`);
          }
          expect(error.message).toContain(b.name);
          expect(error.message).toMatch(/not a valid GGUF file: .+|truncated/);
          outcomes.rejected++;
          const kind = error.message.replace(/^.*?not a valid GGUF file: /, '').replace(/"[^"]*"|\d+/g, '#').slice(0, 50);
          messages.set(kind, (messages.get(kind) ?? 0) + 1);
        }
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }),
      { seed: SEED, numRuns: RUNS },
    );

    const mem1 = process.memoryUsage();
    const ms = performance.now() - t0;
    console.log(
      `[gguf-fuzz] ${RUNS} corruptions in ${ms.toFixed(0)} ms: ${outcomes.accepted} accepted, ${outcomes.rejected} rejected; ` +
        `peak heap +${((peakHeap - mem0.heapUsed) / 2 ** 20).toFixed(0)} MiB, rss +${((mem1.rss - mem0.rss) / 2 ** 20).toFixed(0)} MiB; ` +
        `${messages.size} kinds of error, most common: ${[...messages].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${n}× ${k}`).join(' | ')}`,
    );
    expect(peakHeap - mem0.heapUsed).toBeLessThan(256 * 2 ** 20);
    expect(mem1.rss - mem0.rss).toBeLessThan(512 * 2 ** 20);
    expect(outcomes.rejected).toBeGreaterThan(RUNS / 4); // the corruption does reach the parser
    expect(messages.size).toBeGreaterThan(10); // and reaches many of its checks
  });

  it('the field walker finds the fields it claims to (sanity of the fuzzer itself)', () => {
    for (const b of fixedBases) {
      const f = fieldOffsets(b.bytes);
      const dv = new DataView(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength);
      expect(f.u64.length).toBeGreaterThan(4);
      expect(dv.getUint32(f.u32[0], true)).toBe(3); // the version
      for (const at of f.u64) expect(dv.getBigUint64(at, true)).toBeLessThan(BigInt(b.bytes.length + b.tail));
    }
  });
});

/**
 * GGUF reader (versions 2 and 3, little-endian).
 *
 * Layout (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 *   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv × (string key | u32 value_type | value)
 *   n_tensors × (string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset)
 *   padding to `general.alignment` (default 32) | tensor data
 * Strings are u64 length + UTF-8 bytes (no NUL). Arrays are u32 item type + u64 count + items.
 *
 * The header is read through a small buffered cursor over a ByteSource, so the
 * tensor data (gigabytes) is never touched here. Every malformed input ends in
 * one `CriaError('bad-file')` that names the problem and the byte offset;
 * counts and lengths are checked against the bytes left in the file before
 * anything is allocated, so a hostile header cannot make us allocate or loop
 * more than the file's size allows.
 */
import { CriaError } from '../shared/errors.ts';
import { ggmlTypeInfo, type GgmlTypeInfo } from './ggml-types.ts';
import type { ByteSource } from './source.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;

export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];
const valueTypeName = Object.fromEntries(Object.entries(GgufValueType).map(([k, v]) => [v, k])) as Record<number, string>;

export type GgufArrayItems =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array
  | boolean[]
  | string[]
  | GgufValue[];

/**
 * A typed metadata value. Scalars: numbers for 8..32-bit ints and floats,
 * bigint for 64-bit ints, boolean, string. Arrays: a typed array for numeric
 * items, `string[]`, `boolean[]`, or nested `GgufValue[]` for arrays of arrays.
 * The type is kept so a file can be written back unchanged.
 */
export type GgufValue =
  | { type: Exclude<GgufValueType, 9 | 7 | 8 | 10 | 11>; value: number }
  | { type: 10 | 11; value: bigint }
  | { type: 7; value: boolean }
  | { type: 8; value: string }
  | { type: 9; itemType: GgufValueType; value: GgufArrayItems };

export interface GgufTensorInfo {
  readonly name: string;
  readonly type: GgmlTypeInfo;
  /** ggml order: dims[0] is the contiguous row length (ne0). */
  readonly dims: readonly number[];
  readonly nElements: number;
  /** Absolute byte offset of the tensor's data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

export interface GgufFile {
  readonly source: ByteSource;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly tensorsByName: ReadonlyMap<string, GgufTensorInfo>;
  readonly alignment: number;
  /** Absolute offset where tensor data starts. */
  readonly dataOffset: number;
  readonly fileSize: number;
}

/** Sanity bounds; each is orders of magnitude above any real model. */
export const GGUF_LIMITS = {
  maxTensors: 1 << 20,
  maxKv: 1 << 20,
  maxDims: 4,
  maxArrayDepth: 8,
  maxKeyLength: 1 << 16,
  /** items in one metadata array (2^24); the largest real vocabularies are ~2^18 */
  maxArrayLength: 1 << 24,
  /** bytes in one metadata string (256 MiB); JS strings cannot be much longer */
  maxStringLength: 1 << 28,
  /** largest element count for one tensor (2^50); real ones are < 2^35 */
  maxElements: 2 ** 50,
};

// ignoreBOM: keep a leading U+FEFF in a string (the default would silently drop it)
const td = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Buffered little-endian cursor. `need(n)` guarantees n bytes at `pos` are
 * in `buf` (reading a chunk from the source if not), or throws truncation.
 */
class Cursor {
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(this.buf.buffer);
  private bufStart = 0;
  constructor(
    private readonly src: ByteSource,
    private readonly chunk: number,
  ) {}

  get remaining(): number {
    return this.src.size - this.pos;
  }

  fail(what: string, detail?: Record<string, unknown>): never {
    throw new CriaError('bad-file', `${this.src.name}: not a valid GGUF file: ${what} (at byte ${this.pos})`, { offset: this.pos, ...detail });
  }

  async need(n: number, what: string): Promise<void> {
    const bufEnd = this.bufStart + this.buf.byteLength;
    if (this.pos + n <= bufEnd && this.pos >= this.bufStart) return;
    if (n > this.remaining) {
      this.fail(`file is truncated while reading ${what}: need ${n} bytes, ${this.remaining} left of ${this.src.size}`, { truncated: true });
    }
    // Keep the unread tail of the buffer and fetch only what follows it, so
    // every header byte is requested from the source (maybe over HTTP) once.
    const keep = this.pos >= this.bufStart && this.pos < bufEnd ? bufEnd - this.pos : 0;
    const from = this.pos + keep;
    const len = Math.min(Math.max(n - keep, this.chunk), this.src.size - from);
    const fresh = await this.src.read(from, len);
    let bytes = fresh;
    if (keep > 0) {
      bytes = new Uint8Array(keep + len);
      bytes.set(this.buf.subarray(this.pos - this.bufStart));
      bytes.set(fresh, keep);
    }
    this.buf = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.bufStart = this.pos;
  }

  private at(n: number): number {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }
  u8 = () => this.view.getUint8(this.at(1));
  i8 = () => this.view.getInt8(this.at(1));
  u16 = () => this.view.getUint16(this.at(2), true);
  i16 = () => this.view.getInt16(this.at(2), true);
  u32 = () => this.view.getUint32(this.at(4), true);
  i32 = () => this.view.getInt32(this.at(4), true);
  f32 = () => this.view.getFloat32(this.at(4), true);
  f64 = () => this.view.getFloat64(this.at(8), true);
  u64 = () => this.view.getBigUint64(this.at(8), true);
  i64 = () => this.view.getBigInt64(this.at(8), true);
  bytes(n: number): Uint8Array {
    const o = this.at(n);
    return this.buf.subarray(o, o + n);
  }

  /** u64 that must be a safe integer no larger than `max`. */
  async count(what: string, max: number): Promise<number> {
    await this.need(8, what);
    const v = this.u64();
    if (v > BigInt(max)) {
      this.pos -= 8;
      this.fail(`${what} is ${v}, more than the ${max} this file could hold; it is truncated or corrupt`, { value: v.toString() });
    }
    return Number(v);
  }

  async string(what: string, maxLen = GGUF_LIMITS.maxStringLength): Promise<string> {
    const len = await this.count(`length of ${what}`, Math.min(maxLen, this.remaining - 8));
    await this.need(len, what);
    return td.decode(this.bytes(len));
  }
}

/** Minimum bytes one array item of this type occupies (bounds counts before allocating). */
function minItemBytes(t: number): number {
  switch (t) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
    case GgufValueType.FLOAT32:
      return 4;
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
    case GgufValueType.FLOAT64:
    case GgufValueType.STRING:
      return 8;
    case GgufValueType.ARRAY:
      return 12;
    default:
      return 0;
  }
}

const typedArrayCtor = {
  [GgufValueType.UINT8]: Uint8Array,
  [GgufValueType.INT8]: Int8Array,
  [GgufValueType.UINT16]: Uint16Array,
  [GgufValueType.INT16]: Int16Array,
  [GgufValueType.UINT32]: Uint32Array,
  [GgufValueType.INT32]: Int32Array,
  [GgufValueType.FLOAT32]: Float32Array,
  [GgufValueType.FLOAT64]: Float64Array,
  [GgufValueType.UINT64]: BigUint64Array,
  [GgufValueType.INT64]: BigInt64Array,
} as const;

async function readScalar(c: Cursor, type: number, what: string): Promise<GgufValue> {
  switch (type) {
    case GgufValueType.UINT8:
      await c.need(1, what);
      return { type, value: c.u8() };
    case GgufValueType.INT8:
      await c.need(1, what);
      return { type, value: c.i8() };
    case GgufValueType.UINT16:
      await c.need(2, what);
      return { type, value: c.u16() };
    case GgufValueType.INT16:
      await c.need(2, what);
      return { type, value: c.i16() };
    case GgufValueType.UINT32:
      await c.need(4, what);
      return { type, value: c.u32() };
    case GgufValueType.INT32:
      await c.need(4, what);
      return { type, value: c.i32() };
    case GgufValueType.FLOAT32:
      await c.need(4, what);
      return { type, value: c.f32() };
    case GgufValueType.FLOAT64:
      await c.need(8, what);
      return { type, value: c.f64() };
    case GgufValueType.UINT64:
      await c.need(8, what);
      return { type, value: c.u64() };
    case GgufValueType.INT64:
      await c.need(8, what);
      return { type, value: c.i64() };
    case GgufValueType.BOOL: {
      await c.need(1, what);
      const b = c.u8();
      if (b > 1) {
        c.pos -= 1;
        c.fail(`${what}: bool value ${b} is neither 0 nor 1`);
      }
      return { type, value: b === 1 };
    }
    case GgufValueType.STRING:
      return { type, value: await c.string(what) };
    default:
      return c.fail(`${what}: unknown value type ${type}`);
  }
}

async function readValue(c: Cursor, type: number, what: string, depth: number): Promise<GgufValue> {
  if (type !== GgufValueType.ARRAY) return readScalar(c, type, what);
  if (depth >= GGUF_LIMITS.maxArrayDepth) c.fail(`${what}: arrays nested deeper than ${GGUF_LIMITS.maxArrayDepth}`);
  await c.need(4, `${what} item type`);
  const itemType = c.u32();
  const min = minItemBytes(itemType);
  if (min === 0) {
    c.pos -= 4;
    c.fail(`${what}: unknown array item type ${itemType}`);
  }
  const n = await c.count(`${what} array length`, Math.min(GGUF_LIMITS.maxArrayLength, Math.floor((c.remaining - 8) / min)));
  const ctor = (typedArrayCtor as Record<number, (new (b: ArrayBuffer) => GgufArrayItems) | undefined>)[itemType];
  if (ctor) {
    const bytes = n * min;
    await c.need(bytes, what);
    // copy into a fresh, aligned buffer (the file offset is not aligned)
    const copy = c.bytes(bytes).slice();
    return { type: GgufValueType.ARRAY, itemType: itemType as GgufValueType, value: new ctor(copy.buffer) };
  }
  if (itemType === GgufValueType.BOOL) {
    const out: boolean[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = (await readScalar(c, itemType, what)).value as boolean;
    return { type: GgufValueType.ARRAY, itemType, value: out };
  }
  if (itemType === GgufValueType.STRING) {
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = await c.string(`${what}[${i}]`);
    return { type: GgufValueType.ARRAY, itemType, value: out };
  }
  // Array of arrays: as in the GGUF spec and gguf-py, each item is a bare
  // array value (item type, count, items) with no type tag of its own.
  const out: GgufValue[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = await readValue(c, GgufValueType.ARRAY, `${what}[${i}]`, depth + 1);
  return { type: GgufValueType.ARRAY, itemType: GgufValueType.ARRAY, value: out };
}

export interface ReadGgufOptions {
  /** Bytes fetched per read while parsing the header (default 1 MiB). */
  chunkSize?: number;
}

/** Parse the header and tensor index of a GGUF file; tensor data is not read. */
export async function readGguf(src: ByteSource, opts: ReadGgufOptions = {}): Promise<GgufFile> {
  const c: Cursor = new Cursor(src, opts.chunkSize ?? 1 << 20); // annotated so c.fail() narrows
  await c.need(4, 'magic');
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    c.pos = 0;
    const shown = [0, 8, 16, 24] // the bytes as they are in the file (no second read)
      .map((shift) => (magic >>> shift) & 0xff)
      .map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
      .join('');
    c.fail(`bad magic "${shown}" (expected "GGUF"); is this really a .gguf model?`, { magic });
  }
  await c.need(4, 'version');
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    c.pos -= 4;
    const hint = version === 1 ? ' (GGUF v1 is obsolete; convert the model again with a current llama.cpp)'
      : (version & 0xffff) === 0 && version >>> 16 !== 0 ? ' (this looks like a big-endian GGUF, which Cria does not read)'
      : '';
    c.fail(`unsupported version ${version}; Cria reads GGUF versions 2 and 3${hint}`, { version });
  }
  // Each tensor info takes at least 8+4+8+4+8 = 32 bytes and each kv at least 8+4+1 = 13.
  const nTensors = await c.count('tensor count', Math.min(GGUF_LIMITS.maxTensors, Math.floor(c.remaining / 32)));
  const nKv = await c.count('metadata count', Math.min(GGUF_LIMITS.maxKv, Math.floor(c.remaining / 13)));

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = await c.string(`metadata key #${i}`, GGUF_LIMITS.maxKeyLength);
    if (metadata.has(key)) c.fail(`duplicate metadata key "${key}"`);
    await c.need(4, `type of "${key}"`);
    const type = c.u32();
    metadata.set(key, await readValue(c, type, `metadata "${key}"`, 0));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    const v = typeof al.value === 'number' || typeof al.value === 'bigint' ? Number(al.value) : NaN;
    if (!(al.type === GgufValueType.UINT32 || al.type === GgufValueType.UINT64 || al.type === GgufValueType.INT32) || !(v > 0) || (v & (v - 1)) !== 0 || v > 1 << 24) {
      c.fail(`general.alignment must be a power of two, got ${String(al.value)}`);
    }
    alignment = v;
  }

  interface RawTensor { name: string; type: GgmlTypeInfo; dims: number[]; nElements: number; rel: number }
  const raw: RawTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = await c.string(`tensor name #${i}`, GGUF_LIMITS.maxKeyLength);
    if (names.has(name)) c.fail(`duplicate tensor name "${name}"`);
    names.add(name);
    await c.need(4, `dimension count of ${name}`);
    const nDims = c.u32();
    if (nDims < 1 || nDims > GGUF_LIMITS.maxDims) c.fail(`tensor ${name} has ${nDims} dimensions (1 to ${GGUF_LIMITS.maxDims} allowed)`);
    const dims: number[] = [];
    let nElements = 1;
    for (let d = 0; d < nDims; d++) {
      const n = await c.count(`dimension ${d} of ${name}`, GGUF_LIMITS.maxElements);
      if (n === 0) c.fail(`tensor ${name} has an empty dimension ${d}`);
      dims.push(n);
      nElements *= n;
      if (nElements > GGUF_LIMITS.maxElements) c.fail(`tensor ${name} has an absurd number of elements (${dims.join('×')}…)`);
    }
    await c.need(4, `type of ${name}`);
    const typeId = c.u32();
    const type = ggmlTypeInfo(typeId);
    if (!type) {
      c.pos -= 4;
      c.fail(`tensor ${name} has unknown ggml type ${typeId}`, { typeId });
    }
    if (dims[0] % type.blockSize !== 0) {
      c.fail(`tensor ${name} row length ${dims[0]} is not a multiple of the ${type.name} block size ${type.blockSize}`);
    }
    const rel = await c.count(`data offset of ${name}`, Number.MAX_SAFE_INTEGER);
    if (rel % alignment !== 0) c.fail(`tensor ${name} data offset ${rel} is not aligned to ${alignment}`);
    raw.push({ name, type, dims, nElements, rel });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const tensors: GgufTensorInfo[] = raw.map((t) => {
    const byteLength = (t.nElements / t.type.blockSize) * t.type.typeSize;
    const offset = dataOffset + t.rel;
    if (offset + byteLength > src.size) {
      c.fail(`tensor ${t.name} (${t.type.name}, ${t.dims.join('×')}) ends at byte ${offset + byteLength}, past the end of the file (${src.size} bytes); the file is truncated or corrupt`, {
        tensor: t.name,
        truncated: true,
      });
    }
    return { name: t.name, type: t.type, dims: t.dims, nElements: t.nElements, offset, byteLength };
  });
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1];
    if (p.offset + p.byteLength > sorted[i].offset) c.fail(`tensors ${p.name} and ${sorted[i].name} overlap`);
  }

  return {
    source: src,
    version,
    metadata,
    tensors,
    tensorsByName: new Map(tensors.map((t) => [t.name, t])),
    alignment,
    dataOffset,
    fileSize: src.size,
  };
}

/** Read a tensor's raw (still quantized) bytes. */
export function readTensorBytes(file: GgufFile, t: GgufTensorInfo): Promise<Uint8Array> {
  return file.source.read(t.offset, t.byteLength);
}

export function valueTypeLabel(v: GgufValue): string {
  return v.type === GgufValueType.ARRAY ? `ARRAY<${valueTypeName[v.itemType]}>` : valueTypeName[v.type];
}

/**
 * GGUF writer (version 3). Used to generate test and benchmark models and by
 * round-trip tests of the reader. Produces a list of byte parts (header,
 * padding, tensor data) so large models can go to a Blob or a file stream
 * without one giant copy.
 */
import { concatBytes } from '../shared/bytes.ts';
import { CriaError } from '../shared/errors.ts';
import { ggmlTypeInfo, type GgmlTypeInfo } from './ggml-types.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, type GgufArrayItems, type GgufValue } from './gguf.ts';

export interface GgufWriteTensor {
  name: string;
  type: GgmlTypeInfo | number;
  /** ggml order, dims[0] = row length */
  dims: readonly number[];
  data: Uint8Array;
}

export interface GgufWriteInput {
  metadata: Iterable<[string, GgufValue]> | ReadonlyMap<string, GgufValue>;
  tensors: readonly GgufWriteTensor[];
  alignment?: number;
  version?: 2 | 3;
}

/** Shorthand constructors for typed metadata values. */
export const gv = {
  u8: (value: number): GgufValue => ({ type: GgufValueType.UINT8, value }),
  i8: (value: number): GgufValue => ({ type: GgufValueType.INT8, value }),
  u16: (value: number): GgufValue => ({ type: GgufValueType.UINT16, value }),
  i16: (value: number): GgufValue => ({ type: GgufValueType.INT16, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  f64: (value: number): GgufValue => ({ type: GgufValueType.FLOAT64, value }),
  u64: (value: bigint | number): GgufValue => ({ type: GgufValueType.UINT64, value: BigInt(value) }),
  i64: (value: bigint | number): GgufValue => ({ type: GgufValueType.INT64, value: BigInt(value) }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  arr: (itemType: GgufValueType, value: GgufArrayItems): GgufValue => ({ type: GgufValueType.ARRAY, itemType, value }),
  strs: (value: string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value: Float32Array.from(value) }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: Int32Array.from(value) }),
};

const te = new TextEncoder();

class Out {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(1 << 16);
  private view = new DataView(this.cur.buffer);
  private n = 0;
  length = 0;
  private room(k: number) {
    if (this.n + k <= this.cur.byteLength) return;
    this.chunks.push(this.cur.subarray(0, this.n));
    this.cur = new Uint8Array(Math.max(1 << 16, k));
    this.view = new DataView(this.cur.buffer);
    this.n = 0;
  }
  private adv(k: number) {
    const o = this.n;
    this.n += k;
    this.length += k;
    return o;
  }
  u8 = (v: number) => (this.room(1), this.view.setUint8(this.adv(1), v));
  i8 = (v: number) => (this.room(1), this.view.setInt8(this.adv(1), v));
  u16 = (v: number) => (this.room(2), this.view.setUint16(this.adv(2), v, true));
  i16 = (v: number) => (this.room(2), this.view.setInt16(this.adv(2), v, true));
  u32 = (v: number) => (this.room(4), this.view.setUint32(this.adv(4), v, true));
  i32 = (v: number) => (this.room(4), this.view.setInt32(this.adv(4), v, true));
  f32 = (v: number) => (this.room(4), this.view.setFloat32(this.adv(4), v, true));
  f64 = (v: number) => (this.room(8), this.view.setFloat64(this.adv(8), v, true));
  u64 = (v: bigint | number) => (this.room(8), this.view.setBigUint64(this.adv(8), BigInt(v), true));
  i64 = (v: bigint | number) => (this.room(8), this.view.setBigInt64(this.adv(8), BigInt(v), true));
  raw(b: Uint8Array) {
    this.room(b.byteLength);
    this.cur.set(b, this.adv(b.byteLength));
  }
  str(s: string) {
    const b = te.encode(s);
    this.u64(b.byteLength);
    this.raw(b);
  }
  finish(): Uint8Array[] {
    return [...this.chunks, this.cur.subarray(0, this.n)];
  }
}

function writeScalar(o: Out, type: number, v: unknown): void {
  switch (type) {
    case GgufValueType.UINT8: return o.u8(v as number);
    case GgufValueType.INT8: return o.i8(v as number);
    case GgufValueType.UINT16: return o.u16(v as number);
    case GgufValueType.INT16: return o.i16(v as number);
    case GgufValueType.UINT32: return o.u32(v as number);
    case GgufValueType.INT32: return o.i32(v as number);
    case GgufValueType.FLOAT32: return o.f32(v as number);
    case GgufValueType.FLOAT64: return o.f64(v as number);
    case GgufValueType.UINT64: return o.u64(v as bigint);
    case GgufValueType.INT64: return o.i64(v as bigint);
    case GgufValueType.BOOL: return o.u8(v ? 1 : 0);
    case GgufValueType.STRING: return o.str(v as string);
    default: throw new CriaError('bad-argument', `cannot write GGUF value type ${type}`);
  }
}

function writeValue(o: Out, v: GgufValue): void {
  if (v.type !== GgufValueType.ARRAY) return writeScalar(o, v.type, v.value);
  o.u32(v.itemType);
  const items = v.value as ArrayLike<unknown>;
  o.u64(items.length);
  for (let i = 0; i < items.length; i++) {
    // items of an array of arrays are bare array values (no type tag), as in the GGUF spec
    if (v.itemType === GgufValueType.ARRAY) writeValue(o, items[i] as GgufValue);
    else writeScalar(o, v.itemType, items[i]);
  }
}

/** Encode a GGUF file as byte parts, in order. */
export function encodeGguf(input: GgufWriteInput): Uint8Array[] {
  const meta = [...(input.metadata instanceof Map ? input.metadata.entries() : input.metadata)] as [string, GgufValue][];
  // The padding must follow what readers will take from general.alignment, so
  // a key already in the metadata (e.g. copied from another file) decides it.
  const alKey = meta.find(([k]) => k === 'general.alignment')?.[1];
  const alMeta = alKey && (typeof alKey.value === 'number' || typeof alKey.value === 'bigint') ? Number(alKey.value) : undefined;
  if (alKey && alMeta === undefined) throw new CriaError('bad-argument', 'general.alignment must be a number');
  if (alMeta !== undefined && input.alignment !== undefined && alMeta !== input.alignment) {
    throw new CriaError('bad-argument', `alignment ${input.alignment} conflicts with general.alignment = ${alMeta} in the metadata`);
  }
  const alignment = alMeta ?? input.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isSafeInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new CriaError('bad-argument', `alignment must be a power of two, got ${alignment}`);
  }
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !alKey) meta.push(['general.alignment', gv.u32(alignment)]);
  const o = new Out();
  o.u32(GGUF_MAGIC);
  o.u32(input.version ?? 3);
  o.u64(input.tensors.length);
  o.u64(meta.length);
  for (const [k, v] of meta) {
    o.str(k);
    o.u32(v.type);
    writeValue(o, v);
  }
  let rel = 0;
  const pad = (n: number) => (alignment - (n % alignment)) % alignment;
  for (const t of input.tensors) {
    const info = typeof t.type === 'number' ? ggmlTypeInfo(t.type) : t.type;
    if (!info) throw new CriaError('bad-argument', `unknown ggml type ${String(t.type)} for ${t.name}`);
    const n = t.dims.reduce((a, b) => a * b, 1);
    const expect = (n / info.blockSize) * info.typeSize;
    if (t.dims[0] % info.blockSize !== 0 || expect !== t.data.byteLength) {
      throw new CriaError('bad-argument', `tensor ${t.name}: ${t.data.byteLength} bytes given, ${info.name} ${t.dims.join('×')} needs ${expect}`);
    }
    o.str(t.name);
    o.u32(t.dims.length);
    for (const d of t.dims) o.u64(d);
    o.u32(info.id);
    o.u64(rel);
    rel += t.data.byteLength + pad(t.data.byteLength);
  }
  const parts = o.finish();
  parts.push(new Uint8Array(pad(o.length)));
  for (const t of input.tensors) {
    parts.push(t.data);
    const p = pad(t.data.byteLength);
    if (p) parts.push(new Uint8Array(p));
  }
  return parts;
}

/** Encode a GGUF file into one buffer (small models). */
export function writeGguf(input: GgufWriteInput): Uint8Array {
  return concatBytes(encodeGguf(input));
}

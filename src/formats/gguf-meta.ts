/**
 * Typed access to GGUF metadata. Downstream code (model config, tokenizer)
 * reads keys only through these, so a missing or mistyped key is reported
 * once, by its GGUF name, with code `missing-key` / `bad-file`.
 */
import { CriaError } from '../shared/errors.ts';
import { GgufValueType, valueTypeLabel, type GgufArrayItems, type GgufFile, type GgufValue } from './gguf.ts';

type Meta = ReadonlyMap<string, GgufValue>;

function metaOf(m: GgufFile | Meta): Meta {
  return 'metadata' in m ? (m as GgufFile).metadata : (m as Meta);
}

function missing(key: string): never {
  throw new CriaError('missing-key', `the model file has no metadata key "${key}"`, { key });
}

function wrongType(key: string, v: GgufValue, want: string): never {
  throw new CriaError('bad-file', `metadata "${key}" is ${valueTypeLabel(v)}, expected ${want}`, { key });
}

export function hasKey(m: GgufFile | Meta, key: string): boolean {
  return metaOf(m).has(key);
}

/** A numeric scalar (any int or float width) as a JS number. */
export function metaNumber(m: GgufFile | Meta, key: string, fallback?: number): number {
  const v = metaOf(m).get(key);
  if (v === undefined) return fallback !== undefined ? fallback : missing(key);
  if (typeof v.value === 'number') return v.value;
  if (typeof v.value === 'bigint') {
    const n = Number(v.value);
    if (!Number.isSafeInteger(n)) throw new CriaError('bad-file', `metadata "${key}" = ${v.value} is too large`, { key });
    return n;
  }
  return wrongType(key, v, 'a number');
}

export function metaString(m: GgufFile | Meta, key: string, fallback?: string): string {
  const v = metaOf(m).get(key);
  if (v === undefined) return fallback !== undefined ? fallback : missing(key);
  if (v.type === GgufValueType.STRING) return v.value;
  return wrongType(key, v, 'a string');
}

export function metaBool(m: GgufFile | Meta, key: string, fallback?: boolean): boolean {
  const v = metaOf(m).get(key);
  if (v === undefined) return fallback !== undefined ? fallback : missing(key);
  if (v.type === GgufValueType.BOOL) return v.value;
  return wrongType(key, v, 'a bool');
}

export function metaOptional<T>(m: GgufFile | Meta, key: string, get: (m: Meta, key: string) => T): T | undefined {
  return metaOf(m).has(key) ? get(metaOf(m), key) : undefined;
}

export function metaArray(m: GgufFile | Meta, key: string): GgufArrayItems {
  const v = metaOf(m).get(key);
  if (v === undefined) return missing(key);
  if (v.type === GgufValueType.ARRAY) return v.value;
  return wrongType(key, v, 'an array');
}

export function metaStringArray(m: GgufFile | Meta, key: string): string[] {
  const v = metaOf(m).get(key);
  if (v === undefined) return missing(key);
  if (v.type === GgufValueType.ARRAY && v.itemType === GgufValueType.STRING) return v.value as string[];
  return wrongType(key, v, 'ARRAY<STRING>');
}

/** A numeric array as Float64 values (works for any item width). */
export function metaNumberArray(m: GgufFile | Meta, key: string): ArrayLike<number> {
  const v = metaOf(m).get(key);
  if (v === undefined) return missing(key);
  if (v.type === GgufValueType.ARRAY && v.itemType !== GgufValueType.STRING && v.itemType !== GgufValueType.ARRAY && v.itemType !== GgufValueType.BOOL) {
    const items = v.value;
    if (items instanceof BigInt64Array || items instanceof BigUint64Array) return Array.from(items, Number);
    return items as ArrayLike<number>;
  }
  return wrongType(key, v, 'a numeric array');
}

const bigToJson = (x: bigint): number | string => (Number.isSafeInteger(Number(x)) ? Number(x) : x.toString());

/** Plain JSON view of a value (bigints as numbers, or strings when unsafe; long arrays summarized). */
export function metaToJson(v: GgufValue, maxItems = Infinity): unknown {
  if (v.type !== GgufValueType.ARRAY) return typeof v.value === 'bigint' ? bigToJson(v.value) : v.value;
  const items = v.value as ArrayLike<unknown>;
  const n = items.length;
  const take = Math.min(n, maxItems);
  const out: unknown[] = [];
  for (let i = 0; i < take; i++) {
    const x = items[i];
    out.push(typeof x === 'bigint' ? bigToJson(x) : typeof x === 'object' && x !== null ? metaToJson(x as GgufValue, maxItems) : x);
  }
  return n > take ? { length: n, first: out } : out;
}

/**
 * tvmjs's NDArray cache: how MLC weights are stored and how WebLLM loads them
 * (tvm python/tvm/contrib/tvmjs.py dump_ndarray_cache writes it; the bundled tvmjs
 * `fetchNDArrayCache` in @mlc-ai/web-llm reads it).
 *
 *   ndarray-cache.json  { metadata: { ParamSize, ParamBytes, BitsPerParam },
 *                         records: [ shard … ] }
 *   shard               { dataPath: "params_shard_N.bin", format: "raw-shard", nbytes, md5sum,
 *                         records: [ { name, shape, dtype, format: "raw", nbytes, byteOffset } … ] }
 *   params_shard_N.bin  the shard's records' bytes, each at its byteOffset (little-endian, row-major)
 *
 * WebLLM reads per record `name`, `shape`, `dtype`, `format`, `nbytes`, `byteOffset` and per shard
 * `dataPath` and `nbytes` (for progress); "raw" bytes are copied as they are (tvm's
 * `tvmjs.array.decode_storage`), "f32-to-bf16" (what MLC's converter writes for float32, rounding to
 * bfloat16) is widened back. Cria writes "raw" only: the exported weights stay exactly the GGUF's.
 *
 * Shards follow tvmjs's rule with its 32 MiB cap: records are appended to the pending shard until one
 * would bring it to the cap; then a record of at least half the cap goes to a shard of its own right
 * away (the pending one stays open), and a smaller one closes the pending shard and starts the next.
 */
import { CriaError } from '../../shared/errors.ts';
import { bf16ToF32 } from '../half.ts';
import { md5Hex } from './md5.ts';

export const SHARD_CAP_BYTES = 32 << 20;
export const NDARRAY_CACHE_JSON = 'ndarray-cache.json';

export interface NdArrayRecord {
  name: string;
  shape: number[];
  dtype: string;
  format: 'raw' | 'f32-to-bf16';
  nbytes: number;
  byteOffset: number;
}

export interface NdArrayShard {
  dataPath: string;
  format: 'raw-shard';
  nbytes: number;
  records: NdArrayRecord[];
  md5sum: string;
}

export interface NdArrayCache {
  metadata: Record<string, unknown>;
  records: NdArrayShard[];
}

/** A tensor read back: raw little-endian bytes of `dtype`, row-major `shape`. */
export interface MlcTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2, uint32: 4, int32: 4, uint8: 1, int8: 1, uint16: 2, int16: 2, float64: 8, int64: 8, uint64: 8 };

export function dtypeBytes(dtype: string): number {
  const n = DTYPE_BYTES[dtype];
  if (n === undefined) throw new CriaError('bad-file', `unknown dtype "${dtype}" in an NDArray cache`, { dtype });
  return n;
}

/** Builds the shards of an NDArray cache one tensor at a time; completed shards come back to be written out. */
export class NdArrayCacheWriter {
  private readonly shards: NdArrayShard[] = [];
  private pending: { rec: NdArrayRecord; data: Uint8Array }[] = [];
  private pendingBytes = 0;
  private readonly names = new Set<string>();

  constructor(
    private readonly capBytes = SHARD_CAP_BYTES,
    private readonly prefix = 'params_shard',
  ) {}

  /** Adds a tensor; returns the shards (path, bytes) it completed, in the order they were made. */
  add(name: string, shape: readonly number[], dtype: string, data: Uint8Array): { path: string; bytes: Uint8Array }[] {
    if (this.names.has(name)) throw new CriaError('internal', `duplicate tensor ${name} in an NDArray cache`);
    this.names.add(name);
    const nbytes = shape.reduce((n, d) => n * d, 1) * dtypeBytes(dtype);
    if (nbytes !== data.byteLength) throw new CriaError('internal', `${name}: ${data.byteLength} bytes for ${dtype} [${shape.join(', ')}] (${nbytes} expected)`);
    const rec: NdArrayRecord = { name, shape: [...shape], dtype, format: 'raw', nbytes, byteOffset: 0 };
    const done: { path: string; bytes: Uint8Array }[] = [];
    if (this.pendingBytes + nbytes >= this.capBytes) {
      if (nbytes * 2 >= this.capBytes) {
        done.push(this.commit([{ rec, data }]));
        return done;
      }
      const c = this.flush();
      if (c) done.push(c);
    }
    rec.byteOffset = this.pendingBytes;
    this.pending.push({ rec, data });
    this.pendingBytes += nbytes;
    return done;
  }

  /** Closes the last shard; returns it (if any) and the cache index. */
  finish(metadata: Record<string, unknown>): { shards: { path: string; bytes: Uint8Array }[]; cache: NdArrayCache } {
    const c = this.flush();
    return { shards: c ? [c] : [], cache: { metadata, records: this.shards } };
  }

  private flush(): { path: string; bytes: Uint8Array } | undefined {
    if (this.pendingBytes === 0) return undefined;
    const c = this.commit(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return c;
  }

  private commit(items: { rec: NdArrayRecord; data: Uint8Array }[]): { path: string; bytes: Uint8Array } {
    const total = items.reduce((n, it) => n + it.data.byteLength, 0);
    const bytes = items.length === 1 ? items[0].data : new Uint8Array(total);
    if (items.length > 1) for (const it of items) bytes.set(it.data, it.rec.byteOffset);
    const path = `${this.prefix}_${this.shards.length}.bin`;
    this.shards.push({ dataPath: path, format: 'raw-shard', nbytes: total, records: items.map((it) => it.rec), md5sum: md5Hex(bytes) });
    return { path, bytes };
  }
}

/**
 * Reads an NDArray cache back: every tensor by name. `read(path)` gives a file of the folder
 * (ndarray-cache.json and the shards). Shard sizes, record bounds, sizes per shape and dtype and
 * (unless `verify: false`) shard MD5 sums are checked; "f32-to-bf16" records (MLC's own exports) come
 * back widened to float32.
 */
export async function readMlcWeights(read: (path: string) => Promise<Uint8Array>, opts: { verify?: boolean } = {}): Promise<Map<string, MlcTensor>> {
  const bad = (msg: string, detail?: Record<string, unknown>): never => {
    throw new CriaError('bad-file', `${NDARRAY_CACHE_JSON}: ${msg}`, detail);
  };
  let cache: NdArrayCache;
  try {
    cache = JSON.parse(new TextDecoder().decode(await read(NDARRAY_CACHE_JSON)));
  } catch (e) {
    if (e instanceof CriaError) throw e;
    return bad(`not valid JSON (${(e as Error).message})`);
  }
  if (!cache || !Array.isArray(cache.records)) bad('no "records" list of shards');
  const out = new Map<string, MlcTensor>();
  for (const shard of cache.records) {
    if (typeof shard?.dataPath !== 'string' || !Array.isArray(shard.records)) bad('a shard without dataPath or records');
    if (shard.format !== 'raw-shard') bad(`shard ${shard.dataPath} has format ${JSON.stringify(shard.format)}, not "raw-shard"`);
    const data = await read(shard.dataPath);
    if (data.byteLength !== shard.nbytes) bad(`${shard.dataPath} has ${data.byteLength} bytes, the index says ${shard.nbytes}`, { shard: shard.dataPath });
    if (opts.verify !== false && shard.md5sum !== undefined && md5Hex(data) !== shard.md5sum) bad(`${shard.dataPath} does not match its md5sum: the file is corrupt or incomplete`, { shard: shard.dataPath });
    for (const rec of shard.records) {
      const { name, shape, dtype, format, nbytes, byteOffset } = rec;
      if (typeof name !== 'string' || !Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) bad(`a record of ${shard.dataPath} has no valid name or shape`);
      if (out.has(name)) bad(`${name} is stored twice`, { tensor: name });
      if (!Number.isSafeInteger(byteOffset) || !Number.isSafeInteger(nbytes) || byteOffset < 0 || byteOffset + nbytes > data.byteLength) bad(`${name}: bytes ${byteOffset}..${byteOffset + nbytes} are outside ${shard.dataPath}`, { tensor: name });
      const n = shape.reduce((a: number, d: number) => a * d, 1);
      const raw = data.subarray(byteOffset, byteOffset + nbytes);
      if (format === 'raw') {
        if (n * dtypeBytes(dtype) !== nbytes) bad(`${name}: ${nbytes} bytes for ${dtype} [${shape.join(', ')}]`, { tensor: name });
        out.set(name, { dtype, shape, bytes: raw });
      } else if (format === 'f32-to-bf16' && dtype === 'float32') {
        if (n * 2 !== nbytes) bad(`${name}: ${nbytes} bytes for bfloat16-stored [${shape.join(', ')}]`, { tensor: name });
        const f = new Float32Array(n);
        for (let i = 0; i < n; i++) f[i] = bf16ToF32(raw[2 * i] | (raw[2 * i + 1] << 8));
        out.set(name, { dtype, shape, bytes: new Uint8Array(f.buffer) });
      } else {
        bad(`${name} has format ${JSON.stringify(format)} for ${dtype} (Cria reads "raw" and "f32-to-bf16")`, { tensor: name });
      }
    }
  }
  return out;
}

/**
 * A ByteSource over a cached model: reads are served chunk by chunk from the
 * store, never assembling the file in memory (two chunks are kept, since
 * tensors are read in file order and one may straddle a boundary, and the next
 * one is read ahead, so reading, verifying and using chunks overlap); a read
 * within one chunk is a view of it, not a copy. Every
 * chunk is verified against the manifest's SHA-256 the first time it is
 * read; a corrupt or missing chunk is reported and fetched again from the
 * model's URL (and must then match the manifest), never used as it is.
 */
import { CriaError } from '../shared/errors.ts';
import type { ByteSource } from '../formats/source.ts';
import type { RangeSource } from './range-source.ts';
import { sha256Hex } from './sha256.ts';
import type { ModelManifest, ModelStore } from './store.ts';

export interface CachedSourceOptions {
  /** where to fetch a chunk again (the model's URL); without it a bad chunk is an error */
  refetch?: RangeSource;
  /** told about every chunk found corrupt or missing (before it is fetched again) */
  onBadChunk?: (index: number, why: 'corrupt' | 'missing') => void;
  signal?: AbortSignal;
}

/** chunks read ahead of the one asked for (each up to the chunk size, 32 MiB by default, in memory); 1 and 2 measured alike here */
const READ_AHEAD = 1;

export function cachedSource(store: ModelStore, m: ModelManifest, opts: CachedSourceOptions = {}): ByteSource {
  const recent: { index: number; bytes: Uint8Array }[] = [];

  async function repair(index: number, why: 'corrupt' | 'missing'): Promise<Uint8Array> {
    opts.onBadChunk?.(index, why);
    const c = m.chunks[index];
    if (!opts.refetch) {
      throw new CriaError('weights-corrupt', `chunk ${index} of the cached model ${m.name} is ${why}, and there is no URL to fetch it again from; delete the model from the cache and load it again`, { chunk: index });
    }
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await opts.refetch.fetchRange(m, c.offset, c.offset + c.size, opts.signal);
    } catch (e) {
      throw new CriaError('weights-corrupt', `chunk ${index} of the cached model ${m.name} is ${why}, and fetching it again failed (${(e as Error).message}); delete the model and download it again when online`, { chunk: index });
    }
    if ((await sha256Hex(bytes)) !== c.sha256) {
      throw new CriaError('weights-corrupt', `chunk ${index} of the cached model ${m.name} is ${why}, and the server now sends different bytes; delete the model from the cache and download it again`, { chunk: index });
    }
    await store.putChunk({ modelId: m.id, index, size: c.size, sha256: c.sha256, data: new Blob([bytes]) });
    return bytes;
  }

  /** one chunk from the store, verified (or fetched again) */
  async function load(index: number): Promise<Uint8Array> {
    const rec = await store.getChunk(m.id, index);
    if (!rec) return repair(index, 'missing');
    const data = new Uint8Array(await rec.data.arrayBuffer());
    return data.length === m.chunks[index].size && (await sha256Hex(data)) === m.chunks[index].sha256 ? data : repair(index, 'corrupt');
  }

  /** chunks being read ahead: index → its load (a failure surfaces when that chunk is asked for) */
  const ahead = new Map<number, Promise<Uint8Array>>();

  async function chunk(index: number): Promise<Uint8Array> {
    const hit = recent.find((r) => r.index === index);
    if (hit) return hit.bytes;
    const pending = ahead.get(index);
    ahead.delete(index);
    const bytes = await (pending ?? load(index));
    recent.push({ index, bytes });
    if (recent.length > 2) recent.shift();
    // models are read front to back: the next chunk is read and verified while this one is used
    // (the store's read, the hash and the caller's work then overlap)
    for (let next = index + 1; next <= index + READ_AHEAD && next < m.chunks.length; next++) {
      if (ahead.has(next) || recent.some((r) => r.index === next)) continue;
      const p = load(next);
      p.catch(() => undefined); // not unhandled: awaited (and thrown) if that chunk is asked for
      ahead.set(next, p);
    }
    return bytes;
  }

  return {
    name: m.url ?? m.name,
    size: m.size,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > m.size) {
        throw new CriaError('bad-file', `${m.name} is truncated: needed bytes ${offset}..${offset + length} but the file has ${m.size} bytes`, { offset, length, size: m.size });
      }
      // within one chunk: a view of it, no copy (as bytesSource's reads are views); across chunks: copied together
      const first = Math.floor(offset / m.chunkSize);
      if (length > 0 && Math.floor((offset + length - 1) / m.chunkSize) === first) {
        const within = offset - first * m.chunkSize;
        return (await chunk(first)).subarray(within, within + length);
      }
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const pos = offset + done;
        const index = Math.floor(pos / m.chunkSize);
        const bytes = await chunk(index);
        const within = pos - index * m.chunkSize;
        const take = Math.min(length - done, bytes.length - within);
        out.set(bytes.subarray(within, within + take), done);
        done += take;
      }
      return out;
    },
  };
}

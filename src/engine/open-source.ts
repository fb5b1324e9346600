/**
 * From a `ModelSource` to a ByteSource the loader reads: through the model
 * cache when there is one (download resumably into it, then read chunks back
 * verified), or directly (Range requests, a File, bytes in memory).
 */
import { CriaError } from '../shared/errors.ts';
import { blobSource, bytesSource, urlSource, type ByteSource } from '../formats/source.ts';
import type { LoadProgress, ModelInfo, ModelSource } from '../protocol/api.ts';
import { cachedSource } from '../storage/cached-source.ts';
import { ensureCached, type StorageEstimator } from '../storage/download.ts';
import { BlobRangeSource, HttpRangeSource, type RangeSource } from '../storage/range-source.ts';
import type { ModelManifest, ModelStore } from '../storage/store.ts';

export interface SourceContext {
  /** the model cache, if this engine has one */
  store?: ModelStore;
  storage?: StorageEstimator;
  locks?: LockManager;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
}

export interface OpenedSource {
  src: ByteSource;
  source: ModelInfo['source'];
  cacheId?: string;
  downloadedBytes: number;
}

/** The cache key of a local file: name, size and modification time. */
export function fileCacheId(file: Blob & { name?: string; lastModified?: number }): string {
  return `file:${file.name ?? 'model.gguf'}:${file.size}:${file.lastModified ?? 0}`;
}

export async function openModelSource(source: ModelSource, ctx: SourceContext): Promise<OpenedSource> {
  const { store } = ctx;
  const fromCache = (m: ModelManifest, refetch: RangeSource | undefined, downloadedBytes: number, kind: OpenedSource['source']): OpenedSource => ({
    src: cachedSource(store!, m, {
      refetch,
      signal: ctx.signal,
      onBadChunk: (chunk, reason) => ctx.onProgress?.({ phase: 'repair', loadedBytes: 0, totalBytes: m.chunks[chunk].size, chunk, reason }),
    }),
    source: kind,
    cacheId: m.id,
    downloadedBytes,
  });
  const cache = async (remote: RangeSource, id: string, chunkSize?: number) => {
    const r = await ensureCached(store!, remote, {
      id,
      chunkSize,
      signal: ctx.signal,
      storage: ctx.storage,
      locks: ctx.locks,
      onProgress: (p) =>
        ctx.onProgress?.({ phase: 'download', loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, bytesPerSecond: p.bytesPerSecond, etaSeconds: p.etaSeconds, resumedBytes: p.resumedBytes }),
    });
    await store!.touch(id, Date.now());
    return r;
  };

  if ('url' in source) {
    if (!/^https?:\/\//i.test(source.url)) throw new CriaError('bad-argument', `a model URL must start with http:// or https://, got "${source.url}"`);
    if (store && source.cache !== false) {
      const remote = new HttpRangeSource(source.url, ctx.fetch);
      const r = await cache(remote, source.url, source.chunkSize);
      return fromCache(r.manifest, remote, r.downloadedBytes, r.downloadedBytes > 0 ? 'network' : 'cache');
    }
    return { src: await urlSource(source.url, { fetch: ctx.fetch, signal: ctx.signal }), source: 'network', downloadedBytes: 0 };
  }
  if ('file' in source) {
    const name = source.file.name ?? 'model.gguf';
    if (store && source.cache) {
      const r = await cache(new BlobRangeSource(source.file, name), fileCacheId(source.file));
      return fromCache(r.manifest, undefined, 0, 'file');
    }
    return { src: blobSource(source.file, name), source: 'file', downloadedBytes: 0 };
  }
  if ('bytes' in source) return { src: bytesSource(new Uint8Array(source.bytes), source.name ?? 'model.gguf'), source: 'memory', downloadedBytes: 0 };
  if ('cached' in source) {
    if (!store) throw new CriaError('not-implemented', 'this engine has no model cache');
    const m = await store.getManifest(source.cached);
    if (!m) {
      const partial = await store.getPartial(source.cached);
      throw new CriaError('bad-argument', partial ? `${source.cached} is only partly downloaded; load it by its URL to finish the download` : `${source.cached} is not in the model cache`, { id: source.cached });
    }
    await store.touch(m.id, Date.now());
    return fromCache(m, m.url ? new HttpRangeSource(m.url, ctx.fetch) : undefined, 0, 'cache');
  }
  throw new CriaError('bad-argument', 'a model source is { url }, { file }, { bytes } or { cached }');
}

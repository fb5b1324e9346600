/**
 * From a `ModelSource` to a ByteSource the loader reads: through the model
 * cache when there is one (download resumably into it, then read chunks back
 * verified), or directly (Range requests, a File, bytes in memory).
 *
 * Before anything is downloaded or cached, the GGUF header is read (Range
 * requests for a URL) and handed to `inspectHeader` (default: `planModel`,
 * the architecture and tensors), so a model that cannot run is refused after
 * a few MB, not after gigabytes, and never lands in the cache. A model already
 * wholly cached is not inspected here (the engine parses it next anyway).
 */
import { CriaError } from '../shared/errors.ts';
import { readGguf, type GgufFile } from '../formats/gguf.ts';
import { blobSource, bytesSource, urlSource, type ByteSource } from '../formats/source.ts';
import { planModel } from '../model/model.ts';
import type { LoadProgress, ModelInfo, ModelSource } from '../protocol/api.ts';
import { cachedSource } from '../storage/cached-source.ts';
import { ensureCached, type DownloadProgress, type StorageEstimator } from '../storage/download.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../storage/http.ts';
import { BlobRangeSource, HttpRangeSource, type RangeSource } from '../storage/range-source.ts';
import type { ModelManifest, ModelStore } from '../storage/store.ts';


export interface SourceContext {
  /** the model cache, if this engine has one */
  store?: ModelStore;
  storage?: StorageEstimator;
  locks?: LockManager;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?(p: LoadProgress): void;
  /**
   * the model's header, parsed, before anything is downloaded or cached: throw to refuse the model
   * (nothing is downloaded past the header, nothing is stored). Default: `planModel` (architecture,
   * tensor names and shapes). Not called for a model that is already wholly cached.
   */
  inspectHeader?: (file: GgufFile) => void | Promise<void>;
  /** an HTTP request that receives no byte for this long fails with `network` (default 30 s) */
  idleTimeoutMs?: number;
}

export interface OpenedSource {
  src: ByteSource;
  source: ModelInfo['source'];
  cacheId?: string;
  downloadedBytes: number;
  /** the header parsed from `src` itself when it was inspected here (direct sources), so it need not be read again */
  header?: GgufFile;
  /** the cache's manifest, when the model is read from the cache (its chunks verified as they are read) */
  manifest?: ModelManifest;
}

const defaultInspect = (file: GgufFile) => void planModel(file);

/** The cache key of a local file: name, size and modification time. */
export function fileCacheId(file: Blob & { name?: string; lastModified?: number }): string {
  return `file:${file.name ?? 'model.gguf'}:${file.size}:${file.lastModified ?? 0}`;
}

export async function openModelSource(source: ModelSource, ctx: SourceContext): Promise<OpenedSource> {
  const { store } = ctx;
  const inspect = ctx.inspectHeader ?? defaultInspect;
  const idleTimeoutMs = ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const http = (url: string) => new HttpRangeSource(url, ctx.fetch, { idleTimeoutMs });
  /** parse and inspect a source read directly; the parsed header goes back with it */
  const direct = async (src: ByteSource, kind: OpenedSource['source']): Promise<OpenedSource> => {
    const header = await readGguf(src);
    await inspect(header);
    return { src, source: kind, downloadedBytes: 0, header };
  };
  const fromCache = (m: ModelManifest, refetch: RangeSource | undefined, downloadedBytes: number, kind: OpenedSource['source']): OpenedSource => ({
    src: cachedSource(store!, m, {
      refetch,
      signal: ctx.signal,
      onBadChunk: (chunk, reason) => ctx.onProgress?.({ phase: 'repair', loadedBytes: 0, totalBytes: m.chunks[chunk].size, chunk, reason }),
    }),
    source: kind,
    cacheId: m.id,
    downloadedBytes,
    manifest: m,
  });
  const cache = async (remote: RangeSource, id: string, chunkSize?: number, sha256?: string) => {
    const r = await ensureCached(store!, remote, {
      id,
      chunkSize,
      sha256,
      signal: ctx.signal,
      storage: ctx.storage,
      locks: ctx.locks,
      // small reads: the source behind `head` fetches ahead in growing windows
      inspect: async (head) => inspect(await readGguf(head, { chunkSize: 16 * 1024 })),
      onProgress: (p: DownloadProgress) =>
        ctx.onProgress?.({
          phase: p.phase,
          loadedBytes: p.loadedBytes,
          totalBytes: p.totalBytes,
          bytesPerSecond: p.bytesPerSecond,
          etaSeconds: p.etaSeconds,
          resumedBytes: p.resumedBytes,
          ...(p.restarted !== undefined ? { restarted: p.restarted } : {}),
        }),
    });
    await store!.touch(id, Date.now());
    return r;
  };

  if ('url' in source) {
    if (!/^https?:\/\//i.test(source.url)) throw new CriaError('bad-argument', `a model URL must start with http:// or https://, got "${source.url}"`);
    if (store && source.cache !== false) {
      const remote = http(source.url);
      const r = await cache(remote, source.url, source.chunkSize, source.sha256);
      return fromCache(r.manifest, remote, r.downloadedBytes, r.downloadedBytes > 0 ? 'network' : 'cache');
    }
    if (source.sha256 !== undefined) {
      throw new CriaError('bad-argument', 'sha256 is checked while the file downloads into the model cache; a direct read (cache: false, or an engine without a cache) cannot check it. Drop one of the two.', { url: source.url });
    }
    return direct(await urlSource(source.url, { fetch: ctx.fetch, signal: ctx.signal, idleTimeoutMs }), 'network');
  }
  if ('file' in source) {
    const name = source.file.name ?? 'model.gguf';
    if (store && source.cache) {
      const r = await cache(new BlobRangeSource(source.file, name), fileCacheId(source.file));
      return fromCache(r.manifest, undefined, 0, 'file');
    }
    return direct(blobSource(source.file, name), 'file');
  }
  if ('bytes' in source) return direct(bytesSource(new Uint8Array(source.bytes), source.name ?? 'model.gguf'), 'memory');
  if ('cached' in source) {
    if (!store) throw new CriaError('not-implemented', 'this engine has no model cache');
    const m = await store.getManifest(source.cached);
    if (!m) {
      const partial = await store.getPartial(source.cached);
      throw new CriaError('bad-argument', partial ? `${source.cached} is only partly downloaded; load it by its URL to finish the download` : `${source.cached} is not in the model cache`, { id: source.cached });
    }
    await store.touch(m.id, Date.now());
    return fromCache(m, m.url ? http(m.url) : undefined, 0, 'cache');
  }
  throw new CriaError('bad-argument', 'a model source is { url }, { file }, { bytes } or { cached }');
}

/**
 * Download a model into the cache, chunk by chunk:
 * - one download per model across tabs (a Web Lock per model id: a second tab
 *   waits, then finds the model cached);
 * - resumable: chunks already stored are kept, only missing ones are fetched
 *   (a file that changed since the interrupted download starts over);
 * - quota checked before anything is written (`storage-quota`, saying how
 *   much is needed and free; the partial download is removed, so nothing
 *   half-written remains);
 * - a few chunks in parallel, each hashed (SHA-256) as it arrives and read
 *   back after it is stored to verify it;
 * - progress: bytes, total, rate and ETA;
 * - the manifest is written last, so a model is wholly cached or not at all.
 */
import { CriaError } from '../shared/errors.ts';
import type { RangeSource, RemoteFile } from './range-source.ts';
import { sha256Hex } from './sha256.ts';
import { DEFAULT_CHUNK_SIZE, type ChunkInfo, type ModelManifest, type ModelStore } from './store.ts';

export interface DownloadProgress {
  /** bytes of the file present: already cached + received in this download */
  loadedBytes: number;
  totalBytes: number;
  /** received per second, averaged over the last few seconds (0 until known) */
  bytesPerSecond: number;
  /** seconds left at that rate (undefined until known) */
  etaSeconds?: number;
  chunksDone: number;
  chunks: number;
  /** bytes that were already in the cache when this download started (resumed) */
  resumedBytes: number;
}

export interface StorageEstimator {
  estimate(): Promise<{ usage?: number; quota?: number }>;
}

export interface EnsureCachedOptions {
  /** cache key (the URL for downloads) */
  id: string;
  chunkSize?: number;
  /** chunks fetched at once (default 3) */
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** navigator.storage (or a stand-in); without one the quota is not checked up front */
  storage?: StorageEstimator;
  /** navigator.locks (or a stand-in); without one, tabs are not coordinated */
  locks?: LockManager;
  now?: () => number;
}

export const MB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

export interface CachedResult {
  manifest: ModelManifest;
  /** bytes fetched by this call (0: the model was already cached) */
  downloadedBytes: number;
  /** bytes that an interrupted download had already stored */
  resumedBytes: number;
}

/** Make sure the model behind `src` is wholly cached under `opts.id`. */
export async function ensureCached(store: ModelStore, src: RangeSource, opts: EnsureCachedOptions): Promise<CachedResult> {
  const run = () => download(store, src, opts);
  if (!opts.locks) return run();
  return opts.locks.request(`cria-model:${opts.id}`, { mode: 'exclusive', signal: opts.signal }, run).catch((e: unknown) => {
    if ((e as Error)?.name === 'AbortError') throw new CriaError('aborted', 'the download was aborted');
    throw e;
  }) as Promise<CachedResult>;
}

async function download(store: ModelStore, src: RangeSource, opts: EnsureCachedOptions): Promise<CachedResult> {
  const { id, signal } = opts;
  const now = opts.now ?? Date.now;
  const cached = await store.getManifest(id);
  if (cached) return { manifest: cached, downloadedBytes: 0, resumedBytes: 0 }; // e.g. another tab finished it while we waited for the lock

  const file = await src.probe(signal);
  let partial = await store.getPartial(id);
  if (partial && !sameFile(partial, file)) {
    // the file changed since the interrupted download: its chunks are useless
    await store.delete(id);
    partial = undefined;
  }
  const chunkSize = partial?.chunkSize ?? opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!(Number.isInteger(chunkSize) && chunkSize > 0)) throw new CriaError('bad-argument', `chunk size ${chunkSize} must be a positive integer`);
  const n = Math.max(1, Math.ceil(file.size / chunkSize));
  const span = (i: number) => ({ start: i * chunkSize, end: Math.min(file.size, (i + 1) * chunkSize) });

  const stored = await store.storedChunks(id);
  const have = new Map<number, { size: number; sha256: string }>();
  for (const [i, c] of stored) {
    if (i < n && c.size === span(i).end - span(i).start) have.set(i, c);
    else await store.deleteChunk(id, i);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !have.has(i));
  const resumedBytes = [...have.values()].reduce((a, c) => a + c.size, 0);
  const need = file.size - resumedBytes;

  if (opts.storage && need > 0) {
    const { usage = 0, quota } = await opts.storage.estimate();
    // keep a little headroom: IndexedDB stores a bit more than the raw bytes
    if (quota !== undefined && usage + need * 1.01 > quota) {
      await store.delete(id);
      throw new CriaError(
        'storage-quota',
        `${file.name} needs ${MB(need)} of storage but only ${MB(Math.max(0, quota - usage))} is free for this site; delete cached models or free disk space, then try again`,
        { need, free: Math.max(0, quota - usage), quota, usage },
      );
    }
  }
  if (!partial) {
    partial = { ...file, url: src.url, id, chunkSize, startedAt: now(), updatedAt: now() };
    await store.putPartial(partial);
  }

  // progress: bytes present, a rate over a sliding window, ETA
  let received = 0;
  let done = n - missing.length;
  const samples: [number, number][] = [[now(), 0]];
  let lastReport = -Infinity;
  const report = (force = false) => {
    const t = now();
    if (!force && t - lastReport < 100) return; // at most ~10 events a second
    lastReport = t;
    samples.push([t, received]);
    while (samples.length > 2 && t - samples[1][0] > 3000) samples.shift();
    const [t0, b0] = samples[0];
    const rate = t > t0 ? ((received - b0) / (t - t0)) * 1000 : 0;
    const left = file.size - resumedBytes - received;
    opts.onProgress?.({ loadedBytes: resumedBytes + received, totalBytes: file.size, bytesPerSecond: rate, etaSeconds: rate > 0 ? left / rate : undefined, chunksDone: done, chunks: n, resumedBytes });
  };
  report(true);

  const shas = new Map<number, string>([...have].map(([i, c]) => [i, c.sha256]));
  const queue = [...missing];
  // one failure stops the other workers too
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      if (stop.signal.aborted) throw new CriaError('aborted', 'the download was aborted');
      const { start, end } = span(i);
      const bytes = await src.fetchRange(file, start, end, stop.signal, (k) => {
        received += k;
        report();
      });
      const sha256 = await sha256Hex(bytes);
      await store.putChunk({ modelId: id, index: i, size: bytes.length, sha256, data: new Blob([bytes]) });
      // verify what was stored, not what we meant to store
      const back = await store.getChunk(id, i);
      if (!back || (await sha256Hex(await back.data.arrayBuffer())) !== sha256) {
        await store.deleteChunk(id, i);
        throw new CriaError('weights-corrupt', `chunk ${i} of ${file.name} did not read back as it was written; the browser's storage may be failing. Try again`, { chunk: i });
      }
      shas.set(i, sha256);
      done++;
      report(true);
    }
  };
  let first: unknown;
  const guarded = async () => {
    try {
      await worker();
    } catch (e) {
      first ??= e;
      queue.length = 0;
      stop.abort();
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel ?? 3, missing.length) }, guarded));
  signal?.removeEventListener('abort', onAbort);
  if (first !== undefined) {
    const e = signal?.aborted ? new CriaError('aborted', 'the download was aborted') : first;
    // a file that changed mid-download: what we have is from the old version
    if (e instanceof CriaError && e.detail?.changed) await store.delete(id);
    else if (e instanceof CriaError && e.code === 'storage-quota') {
      // the browser refused a write (its estimate may not show every limit): leave nothing half-written
      await store.delete(id);
      const est = await opts.storage?.estimate().catch(() => undefined);
      const free = est?.quota !== undefined ? ` (the browser estimates ${MB(Math.max(0, est.quota - (est.usage ?? 0)))} free)` : '';
      throw new CriaError('storage-quota', `${file.name} needs ${MB(need)} of storage, but the browser refused to store more for this site${free}; delete cached models or free disk space, then try again`, { need });
    }
    throw e;
  }

  const chunks: ChunkInfo[] = Array.from({ length: n }, (_, i) => ({ index: i, offset: span(i).start, size: span(i).end - span(i).start, sha256: shas.get(i)! }));
  const manifest: ModelManifest = { ...partial, id, version: 1, url: src.url, chunkSize, chunks, createdAt: now(), lastUsedAt: now() };
  delete (manifest as { startedAt?: number }).startedAt;
  delete (manifest as { updatedAt?: number }).updatedAt;
  await store.commit(manifest);
  return { manifest, downloadedBytes: need, resumedBytes };
}

function sameFile(a: RemoteFile, b: RemoteFile): boolean {
  if (a.size !== b.size) return false;
  if (a.etag && b.etag) return a.etag === b.etag;
  if (a.lastModified && b.lastModified) return a.lastModified === b.lastModified;
  return true;
}

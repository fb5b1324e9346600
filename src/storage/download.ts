/**
 * Download a model into the cache, chunk by chunk:
 * - one download per model across tabs (a Web Lock per model id: a second tab
 *   waits, then finds the model cached);
 * - the GGUF header first: `inspect` reads it with Range requests and may
 *   refuse the model before anything is stored (an unsupported architecture
 *   is never downloaded whole);
 * - resumable: chunks already stored are kept, only missing ones are fetched,
 *   when the file is provably the same: its ETag or Last-Modified match, or
 *   its SHA-256 is known (then the whole file is verified at the end).
 *   Otherwise (changed, or no validators and no SHA-256) it starts over, and
 *   the progress says why (`restarted`);
 * - quota checked before anything is written (`storage-quota`, saying how
 *   much is needed and free; the partial download is removed, so nothing
 *   half-written remains);
 * - a few chunks in parallel, each hashed (SHA-256) as it arrives and read
 *   back after it is stored to verify it;
 * - with a known SHA-256 of the whole file (the load request's `sha256`, or
 *   stated by the server: Hugging Face's X-Linked-Etag), the whole file is
 *   hashed in order as the chunks arrive and checked before the manifest is
 *   written; a mismatch discards everything (`weights-corrupt`);
 * - progress: bytes, total, rate and ETA; then `verify` while the last of
 *   the file is hashed;
 * - the manifest is written last, so a model is wholly cached or not at all.
 */
import type { ByteSource } from '../formats/source.ts';
import { CriaError } from '../shared/errors.ts';
import { rangeByteSource, type RangeSource, type RemoteFile } from './range-source.ts';
import { Sha256, sha256Hex } from './sha256.ts';
import { DEFAULT_CHUNK_SIZE, type ChunkInfo, type ModelManifest, type ModelStore } from './store.ts';

export interface DownloadProgress {
  /** download: fetching chunks; verify: hashing the file against its known SHA-256 once the chunks are in */
  phase: 'download' | 'verify';
  /** download: bytes of the file present (already cached + received in this download); verify: bytes hashed */
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
  /**
   * set when what was stored before could not be used and the download starts over: why, in a
   * sentence for the user (the file changed on the server; it has no validators and no known
   * SHA-256, so a resume cannot be proven to be the same file; the cached copy has another SHA-256)
   */
  restarted?: string;
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
  /**
   * the whole file's SHA-256 (64 hex digits, any case), e.g. from the load request: the file is
   * verified against it before it counts as cached, and it is stored in the manifest
   */
  sha256?: string;
  /**
   * called before anything is stored (after the probe), with the file readable through Range
   * requests: what it throws ends the download with nothing written. Not called when the model is
   * already cached.
   */
  inspect?: (head: ByteSource, file: RemoteFile) => void | Promise<void>;
  /** the repository this file is part of (`ModelOrigin.partOf`): an ONNX model's files */
  partOf?: string;
}

export const MB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

/** more chunks than this is a chunk size far too small for the file (IndexedDB keys, progress events) */
const MAX_CHUNKS = 1_000_000;
/** the whole-file hash runs in slices this large, yielding between them so downloads keep flowing */
const HASH_SLICE = 4 * 2 ** 20;

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

interface Expected {
  sha256: string;
  /** who said so, for messages: "the load request", "the server's X-Linked-Etag" */
  from: string;
}

function requestedSha256(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v.trim())) {
    throw new CriaError('bad-argument', `sha256 must be the file's SHA-256 as 64 hexadecimal digits, got "${String(v).slice(0, 80)}"`);
  }
  return v.trim().toLowerCase();
}

async function download(store: ModelStore, src: RangeSource, opts: EnsureCachedOptions): Promise<CachedResult> {
  const { id, signal } = opts;
  const now = opts.now ?? Date.now;
  const asked = requestedSha256(opts.sha256);
  let restarted: string | undefined;

  // already cached (e.g. another tab finished it while we waited for the lock): no network at all,
  // unless a SHA-256 is asked for that the cached copy may not have
  const cached = await store.getManifest(id);
  let stale: ModelManifest | undefined;
  if (cached) {
    if (!asked || cached.sha256 === asked) return { manifest: cached, downloadedBytes: 0, resumedBytes: 0 };
    if (cached.sha256 === undefined) {
      const actual = await hashCached(store, cached, signal, opts.onProgress);
      if (actual === asked) {
        const manifest = { ...cached, sha256: actual };
        await store.commit(manifest);
        return { manifest, downloadedBytes: 0, resumedBytes: 0 };
      }
      restarted = `the cached copy of ${cached.name} has SHA-256 ${actual ?? '(unreadable)'}, not the ${asked} asked for: downloading it again`;
    } else {
      restarted = `the cached copy of ${cached.name} has SHA-256 ${cached.sha256}, not the ${asked} asked for (the file changed on the server since it was cached): downloading it again`;
    }
    stale = cached; // removed once the new download can start
  }

  const file = await src.probe(signal);
  if (asked && file.sha256 && file.sha256 !== asked) {
    throw new CriaError(
      'weights-corrupt',
      `${file.name}: the load request asks for the file with SHA-256 ${asked}, but ${file.sha256From ?? 'the server'} says this URL serves ${file.sha256}; the file was changed on the server (link a fixed revision rather than a branch), or the sha256 is wrong. Nothing was downloaded`,
      { expected: asked, stated: file.sha256 },
    );
  }
  const expected: Expected | undefined = asked ? { sha256: asked, from: 'the load request' } : file.sha256 ? { sha256: file.sha256, from: file.sha256From ?? 'the server' } : undefined;

  // the header first: a model that cannot run here is refused before anything is stored
  await opts.inspect?.(rangeByteSource(src, file, signal), file);
  if (stale) await store.delete(id);

  let partial = await store.getPartial(id);
  if (partial) {
    const why = resumeProblem(partial, file, expected?.sha256);
    if (why) {
      // what was stored is not provably this file: mixing its chunks with new ones would make a model that never existed
      restarted ??= why;
      await store.delete(id);
      partial = undefined;
    }
  }
  const chunkSize = partial?.chunkSize ?? opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!(Number.isInteger(chunkSize) && chunkSize > 0)) throw new CriaError('bad-argument', `chunk size ${chunkSize} must be a positive integer`);
  const n = Math.max(1, Math.ceil(file.size / chunkSize));
  if (n > MAX_CHUNKS) throw new CriaError('bad-argument', `chunk size ${chunkSize} is too small for ${file.name} (${file.size} bytes): that makes ${n} chunks, more than ${MAX_CHUNKS}`);
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
    partial = { name: file.name, size: file.size, etag: file.etag, lastModified: file.lastModified, sha256: expected?.sha256, url: src.url, id, chunkSize, startedAt: now(), updatedAt: now(), ...(opts.partOf !== undefined ? { partOf: opts.partOf } : {}) };
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
    opts.onProgress?.({ phase: 'download', loadedBytes: resumedBytes + received, totalBytes: file.size, bytesPerSecond: rate, etaSeconds: rate > 0 ? left / rate : undefined, chunksDone: done, chunks: n, resumedBytes, restarted });
  };
  report(true);

  const shas = new Map<number, string>([...have].map(([i, c]) => [i, c.sha256]));
  const queue = [...missing];
  // one failure stops the other workers (and the hashing) too
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let first: unknown;
  const fail = (e: unknown) => {
    first ??= e;
    queue.length = 0;
    stop.abort();
  };

  // The whole-file hash, fed in file order while chunks arrive in any order: a chunk that is next
  // is hashed from memory; one that arrived early waits in memory (a few at most) or is read back
  // from the store when its turn comes, as are the chunks of an interrupted download.
  const parallel = Math.min(opts.parallel ?? 3, missing.length);
  const hasher = expected ? new Sha256() : undefined;
  let hashed = 0; // chunks fed
  let verifying = false; // every chunk is in: what is left of the hash is reported as `verify`
  const early = new Map<number, Uint8Array>();
  let hashing: Promise<void> = Promise.resolve();
  const feed = () => {
    if (!hasher) return;
    hashing = hashing
      .then(async () => {
        while (hashed < n && shas.has(hashed) && !stop.signal.aborted) {
          const bytes = early.get(hashed) ?? (await readChunk(store, id, hashed, file.name));
          early.delete(hashed);
          await hashSliced(hasher, bytes, stop.signal, () => {
            if (verifying) opts.onProgress?.({ phase: 'verify', loadedBytes: hasher.length, totalBytes: file.size, bytesPerSecond: 0, chunksDone: done, chunks: n, resumedBytes, restarted });
          });
          hashed++;
        }
      })
      .catch(fail);
  };
  feed(); // the chunks of an interrupted download, while the rest downloads

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
      if (hasher && early.size < parallel) early.set(i, bytes);
      done++;
      report(true);
      feed();
    }
  };
  const guarded = async () => {
    try {
      await worker();
    } catch (e) {
      fail(e);
    }
  };
  await Promise.all(Array.from({ length: parallel }, guarded));
  verifying = true;
  feed();
  await hashing;
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

  if (hasher && expected) {
    if (hashed !== n) throw new CriaError('internal', `internal error: hashed ${hashed} of ${n} chunks of ${file.name} (please report this)`);
    const actual = hasher.hex();
    if (actual !== expected.sha256) {
      // weights-corrupt: the bytes are not the weights asked for. Which chunk is wrong cannot be
      // known (only the whole file's hash is), so nothing is kept.
      await store.delete(id);
      throw new CriaError(
        'weights-corrupt',
        `${file.name} did not arrive intact: the downloaded file has SHA-256 ${actual}, but ${expected.from} says ${expected.sha256}. A chunk was corrupted on the way, or the server sent another file than the one expected; nothing was kept. Load it again to download it again; if this repeats, check the sha256 or the link's revision`,
        { expected: expected.sha256, actual, from: expected.from },
      );
    }
  }

  const chunks: ChunkInfo[] = Array.from({ length: n }, (_, i) => ({ index: i, offset: span(i).start, size: span(i).end - span(i).start, sha256: shas.get(i)! }));
  const manifest: ModelManifest = {
    id,
    version: 1,
    url: src.url,
    name: partial.name,
    size: partial.size,
    etag: partial.etag,
    lastModified: partial.lastModified,
    sha256: expected?.sha256,
    chunkSize,
    chunks,
    createdAt: now(),
    lastUsedAt: now(),
    ...(opts.partOf !== undefined ? { partOf: opts.partOf } : { format: 'gguf' as const }),
  };
  await store.commit(manifest);
  return { manifest, downloadedBytes: need, resumedBytes };
}

/**
 * Why the chunks of an interrupted download cannot be used for `file`, or undefined when they can:
 * the same size and a matching strong ETag or Last-Modified prove it is the same file; so does a
 * known SHA-256, since the whole file is then verified before it counts as cached. Anything else
 * (no validators, no SHA-256) cannot be told from a same-size file that changed on the server.
 */
function resumeProblem(partial: RemoteFile, file: RemoteFile, sha256: string | undefined): string | undefined {
  const redo = (why: string) => `${file.name} ${why}: starting over`;
  if (partial.size !== file.size) return redo(`changed on the server since the interrupted download (it had ${partial.size} bytes, now ${file.size})`);
  if (partial.sha256 && sha256 && partial.sha256 !== sha256) return redo(`is now expected to have SHA-256 ${sha256}, not the ${partial.sha256} of the interrupted download`);
  // a weak ETag (W/"…") promises an equivalent page, not the same bytes
  const strong = (tag?: string) => (tag && !tag.startsWith('W/') ? tag : undefined);
  if (strong(partial.etag) && strong(file.etag)) return partial.etag === file.etag ? undefined : redo(`changed on the server since the interrupted download (ETag ${partial.etag}, now ${file.etag})`);
  if (partial.lastModified && file.lastModified) return partial.lastModified === file.lastModified ? undefined : redo(`changed on the server since the interrupted download (Last-Modified ${partial.lastModified}, now ${file.lastModified})`);
  if (sha256) return undefined;
  return redo(`comes from a server that sends no ETag or Last-Modified, so the chunks downloaded earlier cannot be proven to be from the same file (with its sha256 in the load request they could)`);
}

async function readChunk(store: ModelStore, id: string, index: number, name: string): Promise<Uint8Array> {
  const rec = await store.getChunk(id, index);
  if (!rec) throw new CriaError('weights-corrupt', `chunk ${index} of ${name} vanished from the cache during the download; try again`, { chunk: index });
  return new Uint8Array(await rec.data.arrayBuffer());
}

/** Feed `bytes` to the hash in slices, yielding between them (other work keeps going) and stopping on abort. */
async function hashSliced(hasher: Sha256, bytes: Uint8Array, signal: AbortSignal | undefined, onSlice: () => void): Promise<void> {
  for (let o = 0; o < bytes.length; o += HASH_SLICE) {
    if (signal?.aborted) throw new CriaError('aborted', 'the download was aborted');
    hasher.update(bytes.subarray(o, o + HASH_SLICE));
    onSlice();
    if (o + HASH_SLICE < bytes.length) await new Promise((r) => setTimeout(r, 0));
  }
}

/** The SHA-256 of a cached model, read chunk by chunk (undefined if a chunk is missing or the wrong size). */
async function hashCached(store: ModelStore, m: ModelManifest, signal: AbortSignal | undefined, onProgress: EnsureCachedOptions['onProgress']): Promise<string | undefined> {
  const hasher = new Sha256();
  const progress = () => onProgress?.({ phase: 'verify', loadedBytes: hasher.length, totalBytes: m.size, bytesPerSecond: 0, chunksDone: m.chunks.length, chunks: m.chunks.length, resumedBytes: 0 });
  progress();
  for (const c of m.chunks) {
    const rec = await store.getChunk(m.id, c.index);
    if (!rec || rec.size !== c.size) return undefined;
    await hashSliced(hasher, new Uint8Array(await rec.data.arrayBuffer()), signal, progress);
  }
  return hasher.hex();
}

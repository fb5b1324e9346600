/**
 * An MLC model's files into WebLLM's own storage, downloaded by Cria before WebLLM is asked to load
 * them. WebLLM (0.2.79) fetches what its Cache API scopes lack with `Cache.add`: no progress within a
 * 32 MB shard, no timeout on a server that stops sending, no check of what arrived. Cria fetches each
 * missing file itself, in order, streaming: progress in bytes (rate, ETA, bytes already stored), a
 * read that receives nothing for `idleTimeoutMs` fails as `network`, a body of another length than the
 * weights index says fails as `network` (a lying server; nothing of it is stored), the quota is
 * checked before the first byte, and each file is stored whole under the URL WebLLM will look up,
 * so WebLLM then finds every file and only reads it. An interrupted download keeps the files
 * completed, and the next load fetches only the rest.
 */
import type { LoadProgress } from '../../protocol/api.ts';
import { CriaError } from '../../shared/errors.ts';
import type { StorageEstimator } from '../../storage/download.ts';
import { mlcError } from './errors.ts';

export interface MlcFile {
  url: string;
  /** Cache API scope WebLLM reads it from */
  scope: string;
  /** bytes it must have (the weights index says), when known */
  bytes?: number;
}

export interface FetchIntoOptions {
  signal: AbortSignal;
  fetch?: typeof fetch;
  /** fail a read that receives no byte for this long (default 30 s) */
  idleTimeoutMs?: number;
  storage?: StorageEstimator;
  onProgress?: (p: LoadProgress) => void;
}

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Which of the files WebLLM's storage already holds. */
export async function missingFiles(files: readonly MlcFile[]): Promise<{ missing: MlcFile[]; storedBytes: number }> {
  const missing: MlcFile[] = [];
  let storedBytes = 0;
  for (const f of files) {
    const hit = await (await caches.open(f.scope)).match(f.url);
    if (hit) storedBytes += f.bytes ?? 0;
    else missing.push(f);
  }
  return { missing, storedBytes };
}

/** Whether the bytes still to download fit what the browser allows this site (a little headroom kept). */
export function quotaShortfall(needBytes: number, estimate: { usage?: number; quota?: number }): { free: number } | undefined {
  const { usage = 0, quota } = estimate;
  if (quota === undefined || needBytes <= 0) return undefined;
  return usage + needBytes * 1.01 > quota ? { free: Math.max(0, quota - usage) } : undefined;
}

/**
 * Download the files WebLLM's storage lacks. `totalBytes` is what all of them take (progress is
 * reported against it; those already stored count as resumed). Returns the bytes downloaded.
 */
export async function fetchInto(files: readonly MlcFile[], totalBytes: number, name: string, opts: FetchIntoOptions): Promise<number> {
  const { missing, storedBytes } = await missingFiles(files);
  const need = missing.reduce((a, f) => a + (f.bytes ?? 0), 0);
  if (missing.length === 0) return 0;
  if (opts.storage) {
    const short = quotaShortfall(need, await opts.storage.estimate());
    if (short) {
      throw new CriaError('storage-quota', `${name} needs ${MiB(need)} more of storage but only ${MiB(short.free)} is free for this site; delete cached models or free disk space, then try again`, { need, free: short.free });
    }
  }
  const idle = opts.idleTimeoutMs ?? 30_000;
  const started = performance.now();
  let fresh = 0;
  const report = () => {
    const s = (performance.now() - started) / 1000;
    const rate = s > 0.2 && fresh > 0 ? fresh / s : undefined;
    const loaded = storedBytes + fresh;
    opts.onProgress?.({
      phase: 'download',
      loadedBytes: loaded,
      totalBytes,
      ...(storedBytes > 0 ? { resumedBytes: storedBytes } : {}),
      ...(rate !== undefined ? { bytesPerSecond: rate, etaSeconds: Math.max(0, totalBytes - loaded) / rate } : {}),
    });
  };
  report();
  for (const f of missing) {
    if (opts.signal.aborted) throw new CriaError('aborted', `downloading ${name} was aborted (the files completed are kept)`);
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort();
    opts.signal.addEventListener('abort', onAbort);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stalled = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        ctrl.abort();
      }, idle);
    };
    try {
      arm();
      let res: Response;
      try {
        res = await (opts.fetch ?? fetch)(f.url, { signal: ctrl.signal });
      } catch (e) {
        throw stalled ? stallError(f.url, idle) : opts.signal.aborted ? new CriaError('aborted', `downloading ${name} was aborted`) : new CriaError('network', `could not download ${f.url}: ${(e as Error).message}; check the connection and load the model again (the files completed are kept)`, { url: f.url });
      }
      if (!res.ok || !res.body) throw new CriaError('network', `${f.url} answered HTTP ${res.status}`, { url: f.url, status: res.status });
      const reader = res.body.getReader();
      const parts: Uint8Array[] = [];
      let got = 0;
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          throw stalled ? stallError(f.url, idle) : opts.signal.aborted ? new CriaError('aborted', `downloading ${name} was aborted`) : new CriaError('network', `the download of ${f.url} broke off after ${got} bytes (${(e as Error).message}); load the model again to resume`, { url: f.url });
        }
        if (r.done) break;
        arm();
        parts.push(r.value);
        got += r.value.byteLength;
        fresh += r.value.byteLength;
        if (f.bytes !== undefined && got > f.bytes) break;
        report();
      }
      if (f.bytes !== undefined && got !== f.bytes) {
        fresh -= got;
        throw new CriaError('network', `${f.url} sent ${got} bytes, but the model's index says ${f.bytes}; the server is not serving the file the index describes (nothing of it was kept)`, { url: f.url, got, expected: f.bytes });
      }
      try {
        await (await caches.open(f.scope)).put(f.url, new Response(new Blob(parts as BlobPart[]), { headers: { 'content-length': String(got) } }));
      } catch (e) {
        throw mlcError(e, name);
      }
    } finally {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
    }
  }
  report();
  return fresh;
}

function stallError(url: string, idle: number): CriaError {
  return new CriaError('network', `the server stopped sending ${url} (nothing for ${Math.round(idle / 1000)} s); check the connection and load the model again (the files completed are kept)`, { url, idleMs: idle });
}

/**
 * Where a download reads from: an HTTP(S) URL with Range requests, or a local
 * File/Blob (so a model picked from disk can be cached the same way).
 *
 * HTTP: only plain `Range: bytes=a-b` headers are sent, which are
 * CORS-safelisted (no preflight, so Hugging Face and other CDNs work). A file
 * that changes on the server is detected by comparing each response's ETag,
 * Last-Modified and total size with the first response's.
 */
import { CriaError } from '../shared/errors.ts';

export interface RemoteFile {
  name: string;
  size: number;
  etag?: string;
  lastModified?: string;
}

export interface RangeSource {
  readonly url?: string;
  /** size and validators; checks that the content is a GGUF file (magic) */
  probe(signal?: AbortSignal): Promise<RemoteFile>;
  /** bytes [start, end) of the file as it was probed; `onBytes` reports progress within the range */
  fetchRange(file: RemoteFile, start: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer>>;
}

const GGUF = [0x47, 0x47, 0x55, 0x46];

function checkMagic(head: Uint8Array, where: string): void {
  if (head.length < 4 || GGUF.some((b, i) => head[i] !== b)) {
    const shown = Array.from(head.subarray(0, 4), (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    throw new CriaError('bad-file', `${where} is not a GGUF model file (it starts with "${shown}", not "GGUF")`);
  }
}

function fileName(url: string): string {
  try {
    const path = new URL(url).pathname;
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || url;
  } catch {
    return url;
  }
}

/** Why a request failed, as a user reads it. */
function httpError(url: string, res: Response): CriaError {
  const s = res.status;
  const hint =
    s === 404 ? ' (no file at that address: check the URL)'
    : s === 401 || s === 403 ? ' (the server wants authentication: a gated or private model cannot be downloaded from the browser without a token)'
    : s === 429 ? ' (too many requests: try again later)'
    : s >= 500 ? ' (a server error: try again later)'
    : '';
  return new CriaError('network', `${url} answered HTTP ${s} ${res.statusText}${hint}`, { status: s, url });
}

const retryable = (e: unknown) => e instanceof CriaError && e.code === 'network' && (e.detail?.retryable === true || (typeof e.detail?.status === 'number' && ((e.detail.status as number) >= 500 || e.detail.status === 429)));

export class HttpRangeSource implements RangeSource {
  private readonly doFetch: typeof fetch;
  constructor(
    readonly url: string,
    doFetch?: typeof fetch,
  ) {
    // a bare `fetch` must not be called as a method of this object ("Illegal invocation")
    this.doFetch = doFetch ?? ((input, init) => fetch(input, init));
  }

  private async get(range: string, signal?: AbortSignal): Promise<Response> {
    try {
      return await this.doFetch(this.url, { headers: { Range: range }, signal, cache: 'no-store' });
    } catch (e) {
      if (signal?.aborted) throw new CriaError('aborted', 'the download was aborted');
      throw new CriaError('network', `could not reach ${this.url}: ${(e as Error)?.message ?? e} (offline, or the server does not allow cross-origin requests)`, { retryable: true, url: this.url });
    }
  }

  async probe(signal?: AbortSignal): Promise<RemoteFile> {
    const res = await this.get('bytes=0-3', signal);
    if (!res.ok) {
      await res.body?.cancel();
      throw httpError(this.url, res);
    }
    const type = res.headers.get('Content-Type') ?? '';
    if (/text\/html/i.test(type)) {
      await res.body?.cancel();
      throw new CriaError('bad-file', `${this.url} is a web page (text/html), not a GGUF model; for Hugging Face, use a link of the form …/resolve/main/<file>.gguf`, { url: this.url });
    }
    // read at most the first bytes: a server that ignores Range would otherwise send the whole file
    const reader = res.body!.getReader();
    const head = new Uint8Array(4);
    let got = 0;
    while (got < 4) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(4 - got, value.length);
      head.set(value.subarray(0, take), got);
      got += take;
    }
    await reader.cancel();
    checkMagic(head.subarray(0, got), this.url);
    if (res.status !== 206) {
      throw new CriaError('network', `${this.url} does not support HTTP Range requests, which resumable downloads need; download the file and open it from disk instead`, { url: this.url });
    }
    const cr = /\/(\d+)\s*$/.exec(res.headers.get('Content-Range') ?? '');
    if (!cr) throw new CriaError('network', `${this.url} did not say how large the file is (no Content-Range total)`, { url: this.url });
    return {
      name: fileName(this.url),
      size: Number(cr[1]),
      etag: res.headers.get('ETag') ?? undefined,
      lastModified: res.headers.get('Last-Modified') ?? undefined,
    };
  }

  async fetchRange(file: RemoteFile, start: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchOnce(file, start, end, signal, onBytes);
      } catch (e) {
        if (attempt >= 3 || !retryable(e) || signal?.aborted) throw e;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }

  private async fetchOnce(file: RemoteFile, start: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer>> {
    const res = await this.get(`bytes=${start}-${end - 1}`, signal);
    if (res.status !== 206) {
      await res.body?.cancel();
      if (res.ok) throw changed(this.url, file, res, 'answered with the whole file instead of the range');
      throw httpError(this.url, res);
    }
    const etag = res.headers.get('ETag') ?? undefined;
    const lastModified = res.headers.get('Last-Modified') ?? undefined;
    const cr = /^bytes (\d+)-(\d+)\/(\d+)\s*$/.exec(res.headers.get('Content-Range') ?? '');
    if ((file.etag && etag && etag !== file.etag) || (file.lastModified && lastModified && lastModified !== file.lastModified) || (cr && Number(cr[3]) !== file.size)) {
      await res.body?.cancel();
      throw changed(this.url, file, res, `now has ETag ${etag ?? '?'}, size ${cr?.[3] ?? '?'}`);
    }
    if (!cr || Number(cr[1]) !== start || Number(cr[2]) !== end - 1) {
      await res.body?.cancel();
      throw new CriaError('network', `${this.url} sent bytes ${cr?.[1]}-${cr?.[2]} for a request of ${start}-${end - 1}`, { url: this.url });
    }
    const out = new Uint8Array(end - start);
    let got = 0;
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (got + value.length > out.length) throw new CriaError('network', `${this.url} sent more bytes than asked for`, { url: this.url });
        out.set(value, got);
        got += value.length;
        onBytes?.(value.length);
      }
    } catch (e) {
      onBytes?.(-got);
      if (signal?.aborted) throw new CriaError('aborted', 'the download was aborted');
      if (e instanceof CriaError) throw e;
      throw new CriaError('network', `the connection to ${this.url} broke after ${got} of ${end - start} bytes: ${(e as Error)?.message ?? e}`, { retryable: true, url: this.url });
    }
    if (got !== out.length) {
      onBytes?.(-got);
      throw new CriaError('network', `the connection to ${this.url} ended after ${got} of ${end - start} bytes`, { retryable: true, url: this.url });
    }
    return out;
  }
}

function changed(url: string, file: RemoteFile, _res: Response, how: string): CriaError {
  return new CriaError('network', `${url} changed on the server during the download (${how}; it had ETag ${file.etag ?? '?'}); start the download again to get the new version`, {
    url,
    changed: true,
  });
}

/** A local file (or any Blob) read in ranges, to cache it like a download. */
export class BlobRangeSource implements RangeSource {
  readonly url = undefined;
  constructor(
    private readonly blob: Blob,
    private readonly name: string,
  ) {}

  async probe(): Promise<RemoteFile> {
    checkMagic(new Uint8Array(await this.blob.slice(0, 4).arrayBuffer()), this.name);
    const lm = (this.blob as File).lastModified;
    return { name: this.name, size: this.blob.size, lastModified: lm ? String(lm) : undefined };
  }

  async fetchRange(_f: RemoteFile, start: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer>> {
    if (signal?.aborted) throw new CriaError('aborted', 'caching the file was aborted');
    const bytes = new Uint8Array(await this.blob.slice(start, end).arrayBuffer());
    if (bytes.length !== end - start) throw new CriaError('bad-file', `${this.name} changed or shrank while it was being read`);
    onBytes?.(bytes.length);
    return bytes;
  }
}

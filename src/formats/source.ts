/**
 * ByteSource: random access to a model file without holding it in memory.
 * Real models exceed 2 GB (the largest ArrayBuffer some engines allow), so
 * every reader works through `read(offset, length)` on one of these.
 */
import { CriaError } from '../shared/errors.ts';
import { checkContentLength, contentRange, DEFAULT_IDLE_TIMEOUT_MS, htmlPageError, HttpFile, type ContentRange, type HttpReply } from '../storage/http.ts';

export interface ByteSource {
  /** Human-readable origin (file name or URL), used in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset`; throws `bad-file` if past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

function checkRange(src: { name: string; size: number }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new CriaError('internal', `bad read range ${offset}+${length} on ${src.name}`);
  }
  if (offset + length > src.size) {
    throw new CriaError(
      'bad-file',
      `${src.name} is truncated: needed bytes ${offset}..${offset + length} but the file has ${src.size} bytes`,
      { offset, length, size: src.size },
    );
  }
}

/** A source over bytes already in memory (tests, generated models). */
export function bytesSource(bytes: Uint8Array, name = 'memory'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(this, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A source over a Blob or File (drag-and-drop, file picker, IndexedDB blobs). */
export function blobSource(blob: Blob, name = (blob as File).name ?? 'blob'): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(this, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

export interface UrlSourceOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** a request without a byte for this long fails with `network` (default 30 s) */
  idleTimeoutMs?: number;
}

/**
 * A source over an http(s) URL, read with Range requests. The first request
 * learns the size from Content-Range; a server that ignores Range (answers
 * 200 with the whole body) is refused rather than silently downloading
 * gigabytes to read a header, and so is an HTML page (a login wall). Every
 * request times out when idle, and sizes are checked (src/storage/http.ts).
 */
export async function urlSource(url: string, opts: UrlSourceOptions = {}): Promise<ByteSource> {
  const http = new HttpFile(url, opts.fetch, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  /** One Range request; the answer must be 206 for exactly bytes offset.. (Content-Range checked). */
  const get = async (offset: number, length: number): Promise<{ bytes: Uint8Array; range: ContentRange }> => {
    let reply: HttpReply;
    try {
      reply = await http.get({ ...opts.headers, Range: `bytes=${offset}-${offset + length - 1}` }, { signal: opts.signal, abortMessage: `reading ${url} was aborted` });
    } catch (e) {
      if (e instanceof CriaError && e.code === 'network') throw new CriaError('network', `could not fetch ${url}: ${e.message}`, e.detail);
      throw e;
    }
    const { res } = reply;
    let range: ContentRange | undefined;
    try {
      if (res.ok) {
        const html = htmlPageError(url, res);
        if (html) throw html;
      }
      if (res.status === 200) {
        throw new CriaError('network', `${url} does not support HTTP Range requests (answered 200, not 206); download the file and open it locally instead`, { status: 200 });
      }
      if (res.status === 416) throw new CriaError('bad-file', `${url} is truncated: the server has no bytes at ${offset}..${offset + length}`, { status: 416 });
      if (res.status !== 206) throw new CriaError('network', `${url} answered HTTP ${res.status} ${res.statusText}`, { status: res.status });
      range = contentRange(url, res);
      if (!range || range.start !== offset) {
        throw new CriaError('network', `${url}: asked for bytes from ${offset} but the server sent Content-Range "${res.headers.get('Content-Range') ?? ''}"`);
      }
      checkContentLength(url, res, length);
    } catch (e) {
      reply.cancel(); // free the connection
      throw e;
    }
    const bytes = new Uint8Array(length);
    let got: number;
    try {
      got = await reply.read(bytes);
    } catch (e) {
      // connection dropped mid-body, stalled, or aborted
      if (e instanceof CriaError && e.code === 'network') throw new CriaError('network', `could not fetch ${url}: ${e.message}`, e.detail);
      throw e;
    }
    return { bytes: got === length ? bytes : bytes.subarray(0, got), range };
  };

  const first = await get(0, 1);
  if (first.range.total === undefined) throw new CriaError('network', `${url} gave no file size in Content-Range ("bytes ${first.range.start}-${first.range.end}/*")`);
  const size = first.range.total;

  const src: ByteSource = {
    name: url,
    size,
    async read(offset, length) {
      checkRange(src, offset, length);
      if (length === 0) return new Uint8Array(0);
      const { bytes } = await get(offset, length);
      if (bytes.byteLength !== length) {
        throw new CriaError('network', `${url}: asked for ${length} bytes at ${offset}, got ${bytes.byteLength}`);
      }
      return bytes;
    },
  };
  return src;
}

/**
 * ByteSource: random access to a model file without holding it in memory.
 * Real models exceed 2 GB (the largest ArrayBuffer some engines allow), so
 * every reader works through `read(offset, length)` on one of these.
 */
import { CriaError } from '../shared/errors.ts';

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
}

/**
 * A source over an http(s) URL, read with Range requests. The first request
 * learns the size from Content-Range; a server that ignores Range (answers
 * 200 with the whole body) is refused rather than silently downloading
 * gigabytes to read a header.
 */
export async function urlSource(url: string, opts: UrlSourceOptions = {}): Promise<ByteSource> {
  const doFetch = opts.fetch ?? fetch;
  const fetchFailed = (e: unknown): CriaError =>
    (e as Error)?.name === 'AbortError'
      ? new CriaError('aborted', `reading ${url} was aborted`)
      : new CriaError('network', `could not fetch ${url}: ${(e as Error)?.message ?? e}. Check the address and your connection.`);
  /** One Range request; the answer must be 206 for exactly bytes offset.. (Content-Range checked). */
  const get = async (offset: number, length: number): Promise<{ bytes: Uint8Array; contentRange: string }> => {
    let res: Response;
    try {
      res = await doFetch(url, {
        headers: { ...opts.headers, Range: `bytes=${offset}-${offset + length - 1}` },
        signal: opts.signal,
      });
    } catch (e) {
      throw fetchFailed(e);
    }
    const refuse = async (err: CriaError): Promise<never> => {
      await res.body?.cancel().catch(() => {}); // free the connection
      throw err;
    };
    if (res.status === 200) {
      return refuse(new CriaError('network', `${url} does not support HTTP Range requests (answered 200, not 206); download the file and open it locally instead`, { status: 200 }));
    }
    if (res.status === 416) {
      return refuse(new CriaError('bad-file', `${url} is truncated: the server has no bytes at ${offset}..${offset + length}`, { status: 416 }));
    }
    if (res.status !== 206) {
      return refuse(new CriaError('network', `${url} answered HTTP ${res.status} ${res.statusText}`, { status: res.status }));
    }
    const contentRange = res.headers.get('Content-Range') ?? '';
    const start = /^\s*bytes\s+(\d+)-/i.exec(contentRange);
    if (!start || Number(start[1]) !== offset) {
      return refuse(new CriaError('network', `${url}: asked for bytes from ${offset} but the server sent Content-Range "${contentRange}"`));
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw fetchFailed(e); // connection dropped mid-body, or aborted
    }
    return { bytes, contentRange };
  };

  const first = await get(0, 1);
  const m = /\/(\d+)\s*$/.exec(first.contentRange);
  if (!m) throw new CriaError('network', `${url} gave no file size in Content-Range ("${first.contentRange}")`);
  const size = Number(m[1]);

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

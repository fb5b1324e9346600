/**
 * Where a download reads from: an HTTP(S) URL with Range requests, or a local
 * File/Blob (so a model picked from disk can be cached the same way).
 *
 * HTTP: only plain `Range: bytes=a-b` headers are sent, which are
 * CORS-safelisted (no preflight, so Hugging Face and other CDNs work). A file
 * that changes on the server is detected by comparing each response's ETag,
 * Last-Modified and total size with the first response's. Requests time out
 * when idle, sizes are checked, and failures are named (./http.ts).
 */
import { CriaError } from '../shared/errors.ts';
import type { ByteSource } from '../formats/source.ts';
import { checkContentLength, contentRange, DEFAULT_IDLE_TIMEOUT_MS, htmlPageError, HttpFile, type HttpReply } from './http.ts';

export interface RemoteFile {
  name: string;
  size: number;
  etag?: string;
  lastModified?: string;
  /** the whole file's SHA-256 as the server states it (see `statedSha256`), and where it said so */
  sha256?: string;
  sha256From?: string;
}

export interface RangeSource {
  readonly url?: string;
  /** size and validators; checks that the content is what is expected (a GGUF file by default: its magic) */
  probe(signal?: AbortSignal): Promise<RemoteFile>;
  /** bytes [start, end) of the file as it was probed; `onBytes` reports progress within the range */
  fetchRange(file: RemoteFile, start: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer>>;
}

const GGUF = [0x47, 0x47, 0x55, 0x46];

/**
 * What a downloaded file must start with: a GGUF model (its magic), an ONNX graph (a ModelProto: its
 * first field is ir_version, tag 0x08), a JSON document (an object: `{` after any whitespace), or
 * anything (an ONNX model's external data: raw tensor bytes). A server answering with something
 * else (an HTML error page with status 200, another file) is refused before anything is stored.
 */
export type FileKind = 'gguf' | 'onnx' | 'json' | 'any';

function checkMagic(head: Uint8Array, where: string, kind: FileKind = 'gguf'): void {
  const shown = () => Array.from(head.subarray(0, 4), (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  if (kind === 'gguf' && (head.length < 4 || GGUF.some((b, i) => head[i] !== b))) {
    throw new CriaError('bad-file', `${where} is not a GGUF model file (it starts with "${shown()}", not "GGUF")`);
  }
  if (kind === 'onnx' && head[0] !== 0x08) {
    throw new CriaError('bad-file', `${where} is not an ONNX model (it starts with "${shown()}"; an ONNX ModelProto starts with its ir_version field)`);
  }
  if (kind === 'json') {
    const first = Array.from(head).find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf);
    if (first !== undefined && first !== 0x7b) throw new CriaError('bad-file', `${where} is not a JSON object (it starts with "${shown()}")`);
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

/**
 * A dropped connection, an unreachable server (retried: it may be a moment's glitch) or a 5xx/429
 * is tried again. A stall is not: the idle timeout has already waited long, and a load that is
 * tried again resumes from the whole chunks stored.
 */
const retryable = (e: unknown) => e instanceof CriaError && e.code === 'network' && (e.detail?.retryable === true || (typeof e.detail?.status === 'number' && ((e.detail.status as number) >= 500 || e.detail.status === 429)));

/** Wait `ms`, or until `signal` aborts (then `aborted`). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CriaError('aborted', 'the download was aborted'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new CriaError('aborted', 'the download was aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The whole file's SHA-256 when the server states it, and where it said so. Only two statements are
 * trusted, both Hugging Face's for files stored with LFS/Xet (an ETag is otherwise an opaque tag):
 * - `X-Linked-Etag`: Hugging Face's header for the SHA-256 of an LFS file (sent on the
 *   huggingface.co response; a mirror of the Hub sends it too);
 * - the ETag of a response from huggingface.co or hf.co themselves. Not their CDNs (cdn-lfs.hf.co,
 *   cas-bridge.xethub.hf.co, …): those send a 64-hex ETag of their own that is another value, and
 *   a SHA-256 believed wrongly would refuse every download of a good file.
 * Either must be exactly 64 hex digits, strong (a weak tag promises no bytes): a 40-hex ETag is a
 * git blob id (a small, non-LFS file), not a SHA-256 of the content.
 * A browser following Hugging Face's redirect to its CDN sees the CDN's response only, so there the
 * SHA-256 comes from the load request (`sha256`, e.g. a catalogue entry).
 */
export function statedSha256(url: string, headers: Headers): { sha256: string; from: string } | undefined {
  const hex = (tag: string | null) => /^\s*"?([0-9a-fA-F]{64})"?\s*$/.exec(tag ?? '')?.[1]?.toLowerCase();
  const linked = hex(headers.get('X-Linked-Etag'));
  if (linked) return { sha256: linked, from: "the server's X-Linked-Etag" };
  let host = '';
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  const etag = host === 'huggingface.co' || host === 'hf.co' ? hex(headers.get('ETag')) : undefined;
  return etag ? { sha256: etag, from: `the ETag of ${host}` } : undefined;
}

export interface HttpRangeSourceOptions {
  /** a request without a byte for this long fails with `network` (default 30 s) */
  idleTimeoutMs?: number;
  /** what the file must be (default a GGUF model) */
  kind?: FileKind;
}

export class HttpRangeSource implements RangeSource {
  private readonly http: HttpFile;
  constructor(
    readonly url: string,
    doFetch?: typeof fetch,
    opts: HttpRangeSourceOptions = {},
  ) {
    this.http = new HttpFile(url, doFetch, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    this.kind = opts.kind ?? 'gguf';
  }
  private readonly kind: FileKind;

  private get(range: string, signal?: AbortSignal): Promise<HttpReply> {
    return this.http.get({ Range: range }, { signal, abortMessage: 'the download was aborted', cache: 'no-store' });
  }

  async probe(signal?: AbortSignal): Promise<RemoteFile> {
    const reply = await this.get('bytes=0-3', signal);
    const { res } = reply;
    try {
      if (!res.ok) throw httpError(this.url, res);
      const html = htmlPageError(this.url, res);
      if (html) throw html;
      if (res.status === 206) checkContentLength(this.url, res, 4);
    } catch (e) {
      reply.cancel();
      throw e;
    }
    // read at most the first bytes: a server that ignores Range would otherwise send the whole file
    const head = new Uint8Array(4);
    const got = await reply.read(head, { upTo: true });
    checkMagic(head.subarray(0, got), this.url, this.kind);
    if (res.status !== 206) {
      throw new CriaError('network', `${this.url} does not support HTTP Range requests (answered ${res.status}, not 206), which resumable downloads need; download the file and open it from disk instead`, { url: this.url });
    }
    const cr = contentRange(this.url, res);
    if (cr?.total === undefined) throw new CriaError('network', `${this.url} did not say how large the file is (no Content-Range total)`, { url: this.url });
    const stated = statedSha256(res.url || this.url, res.headers);
    return {
      name: fileName(this.url),
      size: cr.total,
      etag: res.headers.get('ETag') ?? undefined,
      lastModified: res.headers.get('Last-Modified') ?? undefined,
      sha256: stated?.sha256,
      sha256From: stated?.from,
    };
  }

  async fetchRange(file: RemoteFile, start: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchOnce(file, start, end, signal, onBytes);
      } catch (e) {
        if (attempt >= 3 || !retryable(e) || signal?.aborted) throw e;
        await pause(250 * 2 ** attempt, signal);
      }
    }
  }

  private async fetchOnce(file: RemoteFile, start: number, end: number, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<Uint8Array<ArrayBuffer>> {
    const reply = await this.get(`bytes=${start}-${end - 1}`, signal);
    const { res } = reply;
    try {
      if (res.status !== 206) {
        if (res.ok) throw changed(this.url, file, res, 'answered with the whole file instead of the range');
        throw httpError(this.url, res);
      }
      const etag = res.headers.get('ETag') ?? undefined;
      const lastModified = res.headers.get('Last-Modified') ?? undefined;
      const cr = contentRange(this.url, res);
      if ((file.etag && etag && etag !== file.etag) || (file.lastModified && lastModified && lastModified !== file.lastModified) || (cr?.total !== undefined && cr.total !== file.size)) {
        throw changed(this.url, file, res, `now has ETag ${etag ?? '?'}, size ${cr?.total ?? '?'}`);
      }
      if (!cr || cr.start !== start || cr.end !== end - 1) {
        throw new CriaError('network', `${this.url} sent bytes ${cr?.start}-${cr?.end} for a request of ${start}-${end - 1}`, { url: this.url });
      }
      checkContentLength(this.url, res, end - start);
    } catch (e) {
      reply.cancel();
      throw e;
    }
    const out = new Uint8Array(end - start);
    const got = await reply.read(out, { onBytes });
    if (got !== out.length) {
      onBytes?.(-got);
      throw new CriaError('network', `the connection to ${this.http.host} ended after ${got} of the ${end - start} bytes asked for (${this.http.received} bytes in all)`, { retryable: true, dropped: true, url: this.url });
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

/** the first Range request of a header read; each next one is twice as large, up to HEADER_READ_MAX */
const HEADER_READ_FIRST = 64 * 1024;
const HEADER_READ_MAX = 4 * 2 ** 20;

/**
 * The probed file read as a ByteSource through `fetchRange` (same validators, retries and idle
 * timeout), for parsing the GGUF header before a download starts. Sequential reads are served from
 * a window that doubles with each request (64 KiB, 128 KiB, … 4 MiB): a small header costs one
 * request of 64 KiB, a header of several MB (a large vocabulary) a handful, and a model refused on
 * its header has sent little more than the header.
 */
export function rangeByteSource(src: RangeSource, file: RemoteFile, signal?: AbortSignal): ByteSource {
  let window = new Uint8Array(0);
  let windowStart = 0;
  let next = HEADER_READ_FIRST;
  return {
    name: src.url ?? file.name,
    size: file.size,
    async read(offset, length) {
      if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0)) throw new CriaError('internal', `bad read range ${offset}+${length} on ${file.name}`);
      if (offset + length > file.size) {
        throw new CriaError('bad-file', `${file.name} is truncated: needed bytes ${offset}..${offset + length} but the file has ${file.size} bytes`, { offset, length, size: file.size });
      }
      if (length === 0) return new Uint8Array(0);
      if (offset < windowStart || offset + length > windowStart + window.length) {
        const end = Math.min(file.size, offset + Math.max(length, next));
        window = await src.fetchRange(file, offset, end, signal);
        windowStart = offset;
        next = Math.min(next * 2, HEADER_READ_MAX);
      }
      return window.subarray(offset - windowStart, offset - windowStart + length);
    },
  };
}

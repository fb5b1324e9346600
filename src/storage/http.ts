/**
 * What every HTTP read of a model file shares: cached downloads
 * (range-source.ts) and direct Range reads (formats/source.ts `urlSource`).
 *
 * - An idle timeout: a server that sends headers and then nothing (or never
 *   answers) ends in a `network` error after `idleTimeoutMs` without a byte,
 *   instead of a load that hangs forever. The clock restarts with every byte,
 *   so a slow but live connection is never cut. The caller's AbortSignal ends
 *   every wait at once, as `aborted`.
 * - One name for each way a request fails: a request that never got an answer
 *   ("could not reach HOST … offline, or cross-origin"), a connection that
 *   dropped after bytes had arrived, a stall, an invalid HTTP response.
 * - Sizes checked before they are used: a Content-Range total or
 *   Content-Length that is not a plausible byte count is refused at once.
 * - An HTML page (a login wall, a "file not found" page answered 200) is named
 *   as such.
 */
import { CriaError } from '../shared/errors.ts';

/** Without a byte for this long, a request has stalled (30 s: longer than any CDN's first-byte delay we have seen). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * The largest file size believed (1 TiB). The largest single-file GGUF models are a few hundred GB;
 * anything larger (2^53−1, 10^400) is a broken or hostile server, and believing it would make the
 * download plan billions of chunks.
 */
export const MAX_MODEL_BYTES = 2 ** 40;

export function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

export const seconds = (ms: number) => `${+(ms / 1000).toFixed(1)} s`;

/** `2xx text/html`: a web page where a model file was expected. */
export function htmlPageError(url: string, res: Response): CriaError | undefined {
  const type = res.headers.get('Content-Type') ?? '';
  if (!/^\s*(text\/html|application\/xhtml\+xml)/i.test(type)) return undefined;
  return new CriaError(
    'bad-file',
    `${hostOf(url)} answered with an HTML page (${type.split(';')[0].trim()}), not a model file: is a login required? Open ${url} in a browser to see the page; for Hugging Face, use a link of the form …/resolve/main/<file>.gguf`,
    { url, contentType: type },
  );
}

export interface ContentRange {
  start: number;
  end: number;
  /** undefined for `*` (size unknown) */
  total?: number;
}

const byteCount = (s: string) => (/^\d{1,16}$/.test(s) ? Number(s) : NaN);

/**
 * Content-Range of a 206 (`bytes a-b/total`), checked: a total that is not a whole number of bytes
 * up to MAX_MODEL_BYTES is refused with `network` (the server's answer is wrong; the file itself may
 * be fine). undefined when the header is absent or not a byte range.
 */
export function contentRange(url: string, res: Response): ContentRange | undefined {
  const header = res.headers.get('Content-Range') ?? '';
  const m = /^\s*bytes\s+(\d+)-(\d+)\s*\/\s*(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  const start = byteCount(m[1]);
  const end = byteCount(m[2]);
  if (m[3] === '*') return { start, end };
  const total = byteCount(m[3]);
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && total > 0 && total <= MAX_MODEL_BYTES && end < total)) {
    const shown = header.length > 80 ? `${header.slice(0, 77)}…` : header;
    throw new CriaError(
      'network',
      `${hostOf(url)} gave an impossible file size in Content-Range ("${shown}"): not a whole number of bytes up to ${MAX_MODEL_BYTES} (1 TiB); the server or a proxy in between is broken, so nothing was downloaded`,
      { url, contentRange: shown },
    );
  }
  return { start, end, total };
}

/**
 * A Content-Length larger than the range asked for (or not a number) is refused. A smaller one is
 * allowed: a server that compresses the range says the compressed length.
 */
export function checkContentLength(url: string, res: Response, expected: number): void {
  const v = res.headers.get('Content-Length');
  if (v === null) return;
  const n = byteCount(v.trim());
  if (!(n <= expected)) {
    const shown = v.length > 40 ? `${v.slice(0, 37)}…` : v;
    throw new CriaError('network', `${hostOf(url)} announced ${shown} bytes (Content-Length) for a request of ${expected} bytes; the server or a proxy in between is broken, so nothing was downloaded`, {
      url,
      contentLength: shown,
    });
  }
}

export interface HttpGetOptions {
  signal?: AbortSignal;
  /** the message of the `aborted` error */
  abortMessage: string;
  cache?: RequestCache;
}

/** One response whose body is read with the idle timeout. */
export interface HttpReply {
  res: Response;
  /**
   * Read the body into `out`. `upTo`: stop (and cancel the rest) once `out` is full; otherwise more
   * bytes than `out` holds is an error. Returns the bytes read; `onBytes` sees each piece (and a
   * negative count taking them back when the body fails).
   */
  read(out: Uint8Array, opts?: { upTo?: boolean; onBytes?: (n: number) => void }): Promise<number>;
  /** drop the body (free the connection) */
  cancel(): void;
}

/**
 * An http(s) file read with GET requests. It remembers whether the server has ever answered: once
 * it has, a failed request is a dropped connection, not "offline or cross-origin".
 */
export class HttpFile {
  /** a request has had a response (so the server is reachable and allows this origin) */
  private answered = false;
  /** body bytes received, over every request */
  received = 0;
  readonly host: string;
  private readonly doFetch: typeof fetch;

  constructor(
    readonly url: string,
    doFetch?: typeof fetch,
    readonly idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS,
  ) {
    this.host = hostOf(url);
    // a bare `fetch` must not be called as a method of this object ("Illegal invocation")
    this.doFetch = doFetch ?? ((input, init) => fetch(input, init));
    if (!(idleTimeoutMs > 0)) throw new CriaError('bad-argument', `idleTimeoutMs must be a positive number of milliseconds, got ${idleTimeoutMs}`);
  }

  /** GET with these headers; resolves once the headers are in. */
  async get(headers: Record<string, string>, opts: HttpGetOptions): Promise<HttpReply> {
    const { signal } = opts;
    if (signal?.aborted) throw new CriaError('aborted', opts.abortMessage);
    // our own controller: the caller's signal or the idle timer ends the request
    const ctrl = new AbortController();
    let idle = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => ctrl.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        ctrl.abort();
      }, this.idleTimeoutMs);
    };
    const disarm = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    // a fetch or a read that ignores the signal (a stand-in fetch) still ends when it fires
    const ended = new Promise<never>((_, reject) => ctrl.signal.addEventListener('abort', () => reject(new Error('ended')), { once: true }));
    ended.catch(() => undefined);

    arm();
    let res: Response;
    try {
      res = await Promise.race([this.doFetch(this.url, { headers, signal: ctrl.signal, cache: opts.cache }), ended]);
    } catch (e) {
      disarm();
      if (signal?.aborted) throw new CriaError('aborted', opts.abortMessage);
      if (idle) {
        throw new CriaError('network', `${this.host} did not answer for ${seconds(this.idleTimeoutMs)}; the server may be overloaded or unreachable: try again later`, { url: this.url, idle: true });
      }
      throw this.requestFailed(e);
    }
    this.answered = true;
    arm(); // the body's first byte gets its own full wait

    let done = false;
    const finish = () => {
      done = true;
      disarm();
    };
    return {
      res,
      cancel: () => {
        finish();
        res.body?.cancel().catch(() => undefined);
      },
      read: async (out, ro = {}) => {
        let got = 0;
        if (!res.body) {
          finish();
          return 0;
        }
        const reader = res.body.getReader();
        try {
          for (;;) {
            const { done: end, value } = await Promise.race([reader.read(), ended]);
            if (end) break;
            arm();
            this.received += value.length;
            const take = ro.upTo ? Math.min(value.length, out.length - got) : value.length;
            if (got + take > out.length) throw new CriaError('network', `${this.host} sent more bytes than asked for (${out.length})`, { url: this.url });
            out.set(take === value.length ? value : value.subarray(0, take), got);
            got += take;
            ro.onBytes?.(take);
            if (ro.upTo && got === out.length) {
              reader.cancel().catch(() => undefined);
              break;
            }
          }
        } catch (e) {
          ro.onBytes?.(-got);
          reader.cancel().catch(() => undefined);
          if (signal?.aborted) throw new CriaError('aborted', opts.abortMessage);
          if (e instanceof CriaError) throw e;
          if (idle) {
            throw new CriaError('network', `${this.host} stopped sending for ${seconds(this.idleTimeoutMs)} (after ${got} of ${out.length} bytes of this request); the server has stalled: try again later`, {
              url: this.url,
              idle: true,
            });
          }
          throw this.dropped(e);
        } finally {
          if (!done) finish();
        }
        return got;
      },
    };
  }

  /** fetch() itself failed: no response to this request */
  private requestFailed(e: unknown): CriaError {
    const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
    const why = `${(e as Error)?.message ?? e}${cause?.message ? ` (${cause.message})` : ''}`;
    // Node's fetch says why (llhttp's HPE_* codes); a browser only says "Failed to fetch"
    if (typeof cause?.code === 'string' && cause.code.startsWith('HPE_')) {
      return new CriaError('network', `${this.host} sent an invalid HTTP response: ${why}; the server or a proxy in between is broken`, { url: this.url });
    }
    if (this.answered) return this.dropped(e);
    return new CriaError('network', `could not reach ${this.host} (${this.url}): ${why} (offline, or the server does not allow cross-origin requests)`, { retryable: true, url: this.url });
  }

  /** the connection broke after the server had answered */
  private dropped(e: unknown): CriaError {
    const cause = (e as { cause?: { message?: string } })?.cause;
    const why = `${(e as Error)?.message ?? e}${cause?.message ? `: ${cause.message}` : ''}`;
    return new CriaError('network', `the connection to ${this.host} dropped after ${this.received} bytes (${why}); check your connection and try again`, { retryable: true, dropped: true, url: this.url });
  }
}

/**
 * A real HTTP model server for the browser tests of the model cache: it serves
 * ../shared/fixtures on its own origin (127.0.0.1:5198, test/server/ports.ts),
 * so pages on the Vite server (5199) fetch models cross-origin, as they would
 * from Hugging Face, and it can misbehave on request.
 *
 *   GET/HEAD /models/<path>  the fixture file <path>: Range (206, 416), If-Range,
 *                            If-Match (412), strong ETag, Last-Modified, CORS,
 *                            `Cache-Control: no-store` (so the browser's HTTP
 *                            cache never hides a request from the log).
 *                            Faults can drop the validators, add Hugging Face's
 *                            X-Linked-Etag, corrupt a byte in transit, or lie in
 *                            Content-Range / Content-Length.
 *   GET/HEAD /html/<any>     200 text/html whatever the Range: a login wall.
 *   POST /__control          JSON: set faults (see `Faults`); answers the faults now in force.
 *   GET  /__control          the faults now in force.
 *   POST /__reset            clear the faults, the log and the byte counters.
 *   GET  /__log              `LogReport`: every request since the last reset, totals per path.
 *   GET  /health             200 "ok".
 *   OPTIONS *                CORS preflight (204).
 * Faults apply to /models requests only; control-plane requests (/__*, /health)
 * are not logged.
 *
 * Standalone: `npx tsx test/server/model-server.ts --port 5198 [--host 127.0.0.1]`
 * prints one line when listening and exits 0 on SIGTERM/SIGINT.
 * In process: `const s = await startModelServer({ port: 0 }); ... await s.close()`.
 * From a test: `modelServerClient(MODEL_SERVER).control({ cutAfterBytes: 1000 })`.
 *
 * Node only; no framework. Range semantics follow RFC 9110 §14 and §13.
 */
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fixtures directory, outside the repo (never copied in). */
export const FIXTURES_DIR: string = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));

/**
 * The faults a test can inject. Every field is optional in a POST /__control
 * body; a field present replaces the current value, a field absent keeps it.
 * Unknown fields and wrong types are refused with 400 (a typo must not pass silently).
 */
export interface Faults {
  /** Per /models response: after this many body bytes of THAT response, end the connection (truncated body). null = off. */
  cutAfterBytes: number | null;
  /**
   * Across /models responses since the last reset: once this many file body bytes have been
   * sent in total, end the connection of the response in flight. It stays armed: every later
   * /models response is cut right after its headers (0 body bytes), until cleared or reset,
   * unless `cutTotalOnce` is set. null = off.
   */
  cutAfterTotalBytes: number | null;
  /** With `cutAfterTotalBytes`: cut once, then clear `cutAfterTotalBytes` itself (so a retry can resume). */
  cutTotalOnce: boolean;
  /**
   * Across /models responses since the last reset: once this many file body bytes have been
   * sent in total, every /models body in flight (and every later one) stops sending and holds
   * its connection open: a server that stalls. Nothing more is sent until this is cleared or
   * the server is reset; a client that goes away meanwhile ends its response. null = off.
   */
  stallAfterTotalBytes: number | null;
  /** Sleep this long before answering each /models request (before any other fault). 0 = off. */
  delayMs: number;
  /** Throttle /models bodies to about this many bytes per second. null = off. */
  bytesPerSecond: number | null;
  /** Serve this ETag instead of the real one (a file that changed on the server); quotes are added if missing. null = off. */
  etag: string | null;
  /**
   * After this many /models requests (counted from when this field was set), serve a
   * different ETag: the (N+1)-th request and every later one see the changed validators. null = off.
   */
  changeEtagAfterRequests: number | null;
  /** Answer every /models request with this status (e.g. 500, 503) and a short text body. null = off. */
  status: number | null;
  /** Answer the next N /models requests with 503; counts down to 0. */
  failRequests: number;
  /** Send neither ETag nor Last-Modified (a server without validators); If-Range then never matches. */
  noValidators: boolean;
  /** Send this as `X-Linked-Etag` (Hugging Face's header for an LFS file's SHA-256); quotes are added if missing. null = off. */
  linkedEtag: string | null;
  /** Flip every bit of the byte at this file offset in every body that carries it: corruption in transit. null = off. */
  corruptByteAt: number | null;
  /** Write this as the total in Content-Range (206 and 416) instead of the real size: a broken or lying server. null = off. */
  contentRangeTotal: string | null;
  /**
   * Send this Content-Length on 200/206 instead of the real one (any text: `9007199254740991`, `-5`, `1e400`).
   * The real body follows, then the connection is closed (a client waiting for more gets an error). null = off.
   */
  contentLength: string | null;
}

export interface LogEntry {
  method: string;
  /** The request path, without the query string, as sent (not decoded). */
  path: string;
  /** Request headers, or null when absent. */
  range: string | null;
  ifRange: string | null;
  ifMatch: string | null;
  status: number;
  /** Body bytes written to the socket for this response (HEAD and 416: 0). */
  bodyBytes: number;
  /** True when the body did not complete: cut by a fault, or the client went away. */
  aborted: boolean;
  /** Which fault shaped this response, if any. */
  fault: 'cut' | 'cutTotal' | 'failRequests' | 'status' | 'corrupt' | null;
  /** The ETag served (/models only), null otherwise. */
  etag: string | null;
  /** Milliseconds since the last reset when the request arrived. */
  t: number;
  /** Milliseconds from arrival until the response finished or was cut (null while in flight). */
  ms: number | null;
}

export interface LogReport {
  requests: LogEntry[];
  /** Per path: requests and body bytes served (every logged request, whatever its status). */
  totals: Record<string, { requests: number; bodyBytes: number }>;
  /** File body bytes sent by /models responses since the last reset (what `cutAfterTotalBytes` counts). */
  modelBodyBytes: number;
}

export interface ModelServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** The directory served under /models/; defaults to FIXTURES_DIR. */
  root?: string;
}

export interface ModelServer {
  /** `http://host:port`, no trailing slash. */
  url: string;
  port: number;
  root: string;
  /** Same as POST /__control; throws on a bad field. */
  control(faults: Partial<Faults>): Faults;
  /** Same as POST /__reset. */
  reset(): void;
  /** Same as GET /__log. */
  log(): LogReport;
  faults(): Faults;
  /** Stop listening and drop every connection, in flight or idle. */
  close(): Promise<void>;
}

const noFaults = (): Faults => ({
  cutAfterBytes: null,
  cutAfterTotalBytes: null,
  cutTotalOnce: false,
  stallAfterTotalBytes: null,
  delayMs: 0,
  bytesPerSecond: null,
  etag: null,
  changeEtagAfterRequests: null,
  status: null,
  failRequests: 0,
  noValidators: false,
  linkedEtag: null,
  corruptByteAt: null,
  contentRangeTotal: null,
  contentLength: null,
});

const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, ETag, Last-Modified, Accept-Ranges, X-Linked-Etag',
};
const PREFLIGHT_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Range, If-Range, If-Match, Content-Type',
  'Access-Control-Max-Age': '600',
};

const HTML_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in to continue</h1><p>This resource requires authentication.</p>
<form method="post" action="/login"><input name="user"><input name="password" type="password"><button>Sign in</button></form>
</body></html>
`;

/** Body bytes per read/write, unthrottled. */
const CHUNK = 64 * 1024;
/** A throttled body is sent in slices of about 1/TICKS_PER_SECOND of a second. */
const TICKS_PER_SECOND = 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- validators

/** Strong comparison (RFC 9110 §8.8.3.2): both strong and the same opaque tag. */
function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/** Split an If-Match list into entity tags (`*` stays `*`). */
function parseEtagList(header: string): string[] {
  return header.match(/\*|(?:W\/)?"[^"]*"/g) ?? [];
}

function quoteEtag(tag: string): string {
  return /^(W\/)?"[^"]*"$/.test(tag) ? tag : `"${tag.replace(/"/g, '')}"`;
}

// ---------------------------------------------------------------- ranges

type RangeResult = { kind: 'none' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range against a representation of `size` bytes (RFC 9110 §14.1.2).
 * Another unit, or several ranges, is ignored (200 with the whole file; a server
 * MAY ignore Range). A malformed byte range, or one that starts past the end, is 416.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const h = header.trim();
  const eq = h.indexOf('=');
  if (eq < 0) return { kind: 'unsatisfiable' };
  if (h.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'none' };
  const specs = h.slice(eq + 1).split(',');
  if (specs.length !== 1) return { kind: 'none' };
  const m = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(specs[0]);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'unsatisfiable' };
  if (m[1] === '') {
    const n = Number(m[2]); // suffix: the last n bytes
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return { kind: 'unsatisfiable' }; // invalid: last-pos < first-pos
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(last, size - 1) };
}

// ---------------------------------------------------------------- control

const FAULT_KEYS = Object.keys(noFaults()) as (keyof Faults)[];

function nonNegInt(v: unknown, key: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${key} must be a non-negative integer or null`);
  return v;
}

/** Validate a control body into a partial update; throws with a message for the 400 answer. */
function validateFaults(body: unknown): Partial<Faults> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('body must be a JSON object');
  const out: Partial<Faults> = {};
  for (const [key, v] of Object.entries(body)) {
    switch (key) {
      case 'cutAfterBytes':
      case 'cutAfterTotalBytes':
      case 'stallAfterTotalBytes':
      case 'changeEtagAfterRequests':
        out[key] = v === null ? null : nonNegInt(v, key);
        break;
      case 'bytesPerSecond':
        out[key] = v === null ? null : nonNegInt(v, key);
        if (out[key] === 0) throw new Error('bytesPerSecond must be positive or null');
        break;
      case 'delayMs':
      case 'failRequests':
        out[key] = v === null ? 0 : nonNegInt(v, key);
        break;
      case 'cutTotalOnce':
      case 'noValidators':
        if (typeof v !== 'boolean') throw new Error(`${key} must be a boolean`);
        out[key] = v;
        break;
      case 'corruptByteAt':
        out[key] = v === null ? null : nonNegInt(v, key);
        break;
      case 'linkedEtag':
        if (v !== null && (typeof v !== 'string' || v === '')) throw new Error('linkedEtag must be a non-empty string or null');
        out[key] = v === null ? null : quoteEtag(v);
        break;
      case 'contentRangeTotal':
      case 'contentLength':
        if (v !== null && (typeof v !== 'string' || v === '' || /[\r\n]/.test(v))) throw new Error(`${key} must be a non-empty one-line string or null`);
        out[key] = v as string | null;
        break;
      case 'etag':
        if (v !== null && (typeof v !== 'string' || v === '')) throw new Error('etag must be a non-empty string or null');
        out[key] = v === null ? null : quoteEtag(v);
        break;
      case 'status':
        if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 200 || v > 599)) throw new Error('status must be an integer 200..599 or null');
        out[key] = v as number | null;
        break;
      default:
        throw new Error(`unknown fault ${JSON.stringify(key)}; known: ${FAULT_KEYS.join(', ')}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- the server

export async function startModelServer(opts: ModelServerOptions = {}): Promise<ModelServer> {
  const root = resolve(opts.root ?? FIXTURES_DIR);
  const host = opts.host ?? '127.0.0.1';

  let faults = noFaults();
  let log: LogEntry[] = [];
  let epoch = 0; // bumped by reset: responses still in flight stop counting
  let t0 = performance.now();
  let modelBodyBytes = 0;
  let modelRequests = 0; // /models GET/HEAD since the last reset
  let etagChangeBase = 0; // modelRequests when changeEtagAfterRequests was set

  function control(update: Partial<Faults>): Faults {
    const u = validateFaults(update);
    if ('changeEtagAfterRequests' in u) etagChangeBase = modelRequests;
    faults = { ...faults, ...u };
    return { ...faults };
  }

  function reset(): void {
    faults = noFaults();
    log = [];
    epoch++;
    t0 = performance.now();
    modelBodyBytes = 0;
    modelRequests = 0;
    etagChangeBase = 0;
  }

  function report(): LogReport {
    const totals: LogReport['totals'] = {};
    for (const e of log) {
      const t = (totals[e.path] ??= { requests: 0, bodyBytes: 0 });
      t.requests++;
      t.bodyBytes += e.bodyBytes;
    }
    return { requests: log.map((e) => ({ ...e })), totals, modelBodyBytes };
  }

  function newEntry(req: IncomingMessage, path: string): LogEntry {
    const h = (name: string) => {
      const v = req.headers[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    };
    const e: LogEntry = {
      method: req.method ?? '',
      path,
      range: h('range'),
      ifRange: h('if-range'),
      ifMatch: h('if-match'),
      status: 0,
      bodyBytes: 0,
      aborted: false,
      fault: null,
      etag: null,
      t: Math.round(performance.now() - t0),
      ms: null,
    };
    log.push(e);
    return e;
  }

  /** Send a complete small body (text, JSON, HTML) and log it. */
  function sendSmall(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, entry: LogEntry | null): void {
    const buf = Buffer.from(body);
    res.statusCode = status;
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', String(buf.length));
    const withBody = req.method !== 'HEAD' && status !== 204 && status !== 304;
    if (entry) {
      entry.status = status;
      entry.bodyBytes = withBody ? buf.length : 0;
    }
    res.end(withBody ? buf : undefined);
  }

  const sendJson = (req: IncomingMessage, res: ServerResponse, status: number, value: unknown) =>
    sendSmall(req, res, status, 'application/json', JSON.stringify(value) + '\n', null);

  /** Write, waiting for drain under backpressure; resolves early if the response closes. */
  function write(res: ServerResponse, buf: Buffer): Promise<void> {
    return new Promise((done) => {
      if (res.write(buf)) return done();
      const finish = () => {
        res.off('drain', finish);
        res.off('close', finish);
        done();
      };
      res.once('drain', finish);
      res.once('close', finish);
    });
  }

  /** End the connection mid-body: what was written is flushed, then the socket closes. */
  function cutConnection(res: ServerResponse): void {
    const socket = res.socket;
    if (!socket) return;
    if (!res.headersSent) res.flushHeaders();
    socket.end(() => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  async function serveModel(req: IncomingMessage, res: ServerResponse, rawPath: string, entry: LogEntry): Promise<void> {
    const myEpoch = epoch;
    modelRequests++;
    const requestIndex = modelRequests - etagChangeBase; // 1-based since changeEtagAfterRequests was set
    const f = faults;
    const etagChanged = f.changeEtagAfterRequests !== null && requestIndex > f.changeEtagAfterRequests;

    if (f.delayMs > 0) await sleep(f.delayMs);
    if (res.destroyed) return;

    if (faults.failRequests > 0) {
      faults.failRequests--;
      entry.fault = 'failRequests';
      return sendSmall(req, res, 503, 'text/plain; charset=utf-8', 'injected failure (failRequests)\n', entry);
    }
    if (faults.status !== null) {
      entry.fault = 'status';
      return sendSmall(req, res, faults.status, 'text/plain; charset=utf-8', `injected status ${faults.status}\n`, entry);
    }

    // Resolve inside root; anything that escapes it is refused.
    let rel: string;
    try {
      rel = decodeURIComponent(rawPath.slice('/models/'.length));
    } catch {
      return sendSmall(req, res, 400, 'text/plain; charset=utf-8', 'bad path encoding\n', entry);
    }
    const file = resolve(root, rel);
    if (rel.includes('\0') || (file !== root && !file.startsWith(root + sep))) {
      return sendSmall(req, res, 403, 'text/plain; charset=utf-8', 'forbidden\n', entry);
    }
    let size: number;
    let mtime: Date;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
      mtime = st.mtime;
    } catch {
      return sendSmall(req, res, 404, 'text/plain; charset=utf-8', `not found: ${rawPath}\n`, entry);
    }

    // Validators: the real ones, or those of "a file that changed on the server".
    let etag = f.etag ?? `"${size.toString(16)}-${mtime.getTime().toString(16)}"`;
    let lastModifiedMs = Math.floor(mtime.getTime() / 1000) * 1000;
    if (f.etag !== null) lastModifiedMs += 86_400_000;
    if (etagChanged) {
      etag = `"${etag.replace(/^W\//, '').slice(1, -1)}-changed"`;
      lastModifiedMs += 86_400_000;
    }
    const lastModified = new Date(lastModifiedMs).toUTCString();
    res.setHeader('Accept-Ranges', 'bytes');
    if (f.noValidators) {
      etag = ''; // matches no If-Range or If-Match tag
    } else {
      entry.etag = etag;
      res.setHeader('ETag', etag);
      res.setHeader('Last-Modified', lastModified);
    }
    if (f.linkedEtag !== null) res.setHeader('X-Linked-Etag', f.linkedEtag);
    res.setHeader('Cache-Control', 'no-store');
    const total = f.contentRangeTotal ?? String(size);

    // If-Match (RFC 9110 §13.1.1): evaluated first; a mismatch is 412.
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined) {
      const tags = parseEtagList(ifMatch);
      if (!tags.some((t) => t === '*' || strongMatch(t, etag))) {
        return sendSmall(req, res, 412, 'text/plain; charset=utf-8', 'precondition failed: ETag does not match\n', entry);
      }
    }

    // Range applies to GET only; If-Range (§13.1.5) decides whether it is honoured.
    let range = req.method === 'GET' ? parseRange(req.headers.range, size) : ({ kind: 'none' } as RangeResult);
    const ifRange = req.headers['if-range'];
    if (range.kind !== 'none' && ifRange !== undefined) {
      const v = String(ifRange).trim();
      const matches = f.noValidators ? false
        : v.startsWith('"') || v.startsWith('W/') ? strongMatch(v, etag)
        : Date.parse(v) === lastModifiedMs;
      if (!matches) range = { kind: 'none' };
    }

    res.setHeader('Content-Type', 'application/octet-stream');
    if (range.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${total}`);
      return sendSmall(req, res, 416, 'application/octet-stream', '', entry);
    }
    let start = 0;
    let end = size - 1;
    if (range.kind === 'range') {
      ({ start, end } = range);
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${total}`);
    } else {
      res.statusCode = 200;
    }
    entry.status = res.statusCode;
    res.setHeader('Content-Length', f.contentLength ?? String(end - start + 1));
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      if (f.contentLength !== null) cutConnection(res);
      return;
    }

    // the status and headers go out now, not with the first body byte: a body that stalls (or is
    // throttled) has still answered, so a client sees "stopped sending", never "did not answer"
    res.flushHeaders();
    const fh = await open(file, 'r');
    try {
      let pos = start;
      let sent = 0;
      const began = performance.now();
      while (pos <= end) {
        if (res.destroyed) return;
        const live = faults; // faults are read live, so a test can cut or throttle a body in flight
        const stallLeft = live.stallAfterTotalBytes === null || myEpoch !== epoch ? Infinity : live.stallAfterTotalBytes - modelBodyBytes;
        if (stallLeft <= 0) {
          await sleep(20); // stalled: send nothing, keep the connection, look again
          continue;
        }
        let n = Math.min(CHUNK, end - pos + 1, stallLeft);
        if (live.bytesPerSecond !== null) n = Math.min(n, Math.max(1, Math.floor(live.bytesPerSecond / TICKS_PER_SECOND)));
        const leftThis = live.cutAfterBytes === null ? Infinity : live.cutAfterBytes - sent;
        const leftTotal = live.cutAfterTotalBytes === null || myEpoch !== epoch ? Infinity : live.cutAfterTotalBytes - modelBodyBytes;
        if (leftThis <= 0 || leftTotal <= 0) {
          entry.fault = leftThis <= 0 ? 'cut' : 'cutTotal';
          entry.aborted = true;
          if (entry.fault === 'cutTotal' && live.cutTotalOnce) faults = { ...faults, cutAfterTotalBytes: null };
          entry.ms = Math.round(performance.now() - t0) - entry.t;
          cutConnection(res);
          return;
        }
        n = Math.min(n, leftThis, leftTotal);
        const buf = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead !== n) throw new Error(`short read of ${file} at ${pos}`);
        if (live.corruptByteAt !== null && live.corruptByteAt >= pos && live.corruptByteAt < pos + n) {
          buf[live.corruptByteAt - pos] ^= 0xff;
          entry.fault = 'corrupt';
        }
        if (res.destroyed) return;
        await write(res, buf);
        pos += n;
        sent += n;
        entry.bodyBytes += n;
        if (myEpoch === epoch) modelBodyBytes += n;
        if (live.bytesPerSecond !== null) {
          const due = began + (sent / live.bytesPerSecond) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
        }
      }
      res.end();
      // a false Content-Length: the client may still wait for bytes that never come
      if (f.contentLength !== null) cutConnection(res);
    } finally {
      await fh.close();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? 'GET';
    for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);

    // Control plane: not logged, never faulted.
    if (path === '/health') return sendSmall(req, res, 200, 'text/plain; charset=utf-8', 'ok\n', null);
    if (path.startsWith('/__')) {
      if (method === 'OPTIONS') {
        for (const [k, v] of Object.entries(PREFLIGHT_HEADERS)) res.setHeader(k, v);
        res.statusCode = 204;
        res.end();
        return;
      }
      if (path === '/__log' && method === 'GET') return sendJson(req, res, 200, report());
      if (path === '/__control' && method === 'GET') return sendJson(req, res, 200, { ...faults });
      if (path === '/__reset' && method === 'POST') {
        reset();
        return sendJson(req, res, 200, { ok: true });
      }
      if (path === '/__control' && method === 'POST') {
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req)) || '{}');
        } catch (e) {
          return sendJson(req, res, 400, { error: `bad JSON: ${(e as Error).message}` });
        }
        try {
          return sendJson(req, res, 200, control(body as Partial<Faults>));
        } catch (e) {
          return sendJson(req, res, 400, { error: (e as Error).message });
        }
      }
      return sendJson(req, res, 404, { error: `no control endpoint ${method} ${path}` });
    }

    const entry = newEntry(req, path);
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
      entry.ms ??= Math.round(performance.now() - t0) - entry.t;
    });

    if (method === 'OPTIONS') {
      for (const [k, v] of Object.entries(PREFLIGHT_HEADERS)) res.setHeader(k, v);
      entry.status = 204;
      res.statusCode = 204;
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      return sendSmall(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', entry);
    }
    if (path.startsWith('/models/')) return serveModel(req, res, path, entry);
    if (path.startsWith('/html/')) return sendSmall(req, res, 200, 'text/html; charset=utf-8', HTML_PAGE, entry);
    return sendSmall(req, res, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`, entry);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end(`model server error: ${(err as Error).message}\n`);
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    port,
    root,
    control,
    reset,
    log: report,
    faults: () => ({ ...faults }),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((ok, fail) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) fail(new Error('body too large'));
      else parts.push(c);
    });
    req.on('end', () => ok(Buffer.concat(parts).toString('utf8')));
    req.on('error', fail);
  });
}

/** The control API over HTTP, for Playwright specs (Node side) talking to the running server. */
export function modelServerClient(base: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`model server ${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    control: (faults: Partial<Faults>): Promise<Faults> => call('POST', '/__control', faults),
    faults: (): Promise<Faults> => call('GET', '/__control'),
    reset: (): Promise<{ ok: true }> => call('POST', '/__reset', {}),
    log: (): Promise<LogReport> => call('GET', '/__log'),
  };
}

// ---------------------------------------------------------------- standalone

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const port = Number(arg('--port') ?? 5198);
  const host = arg('--host') ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`model-server: bad --port ${arg('--port')}`);
    process.exit(2);
  }
  startModelServer({ port, host }).then(
    (s) => {
      console.log(`model server listening on ${s.url} (serving ${s.root} under /models/)`);
      let closing = false;
      const stop = () => {
        if (closing) return;
        closing = true;
        s.close().then(() => process.exit(0));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    },
    (err: Error) => {
      console.error(`model-server: cannot listen on ${host}:${port}: ${err.message}`);
      process.exit(1);
    },
  );
}

/**
 * A static file handler with HTTP Range support (206, Content-Range, 416,
 * HEAD, ETag, Last-Modified, If-None-Match): how `cria --engine webgpu` hands a
 * local model file to the engine in Chromium, how the dev server serves the
 * test fixtures (vite.config.ts, through test/server/range.ts), and how
 * `cria serve` serves the built app. Node only.
 */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ServeFileOptions {
  /** default application/octet-stream */
  contentType?: string;
  /**
   * true (the default): `Access-Control-Allow-Origin: *`, for files any page may read (the test
   * fixtures, `cria serve`'s widget); an origin: allowed to that origin only (`Vary: Origin`), for
   * a server that serves one page its user's files (the CLI's engine page); false: no CORS headers.
   */
  cors?: boolean | string;
}

/**
 * For a local server that serves one page and files only that page may read (the CLI's engine page
 * and the user's model files): true when `req` comes from that page's `origin`, or from no page at all
 * (a program on this machine, a navigation); otherwise it answers 403 and returns false.
 * Three checks, because a web page open in the user's browser can reach 127.0.0.1:
 * - Origin, sent by cross-origin fetches (and same-origin ones that are not GET/HEAD);
 * - Sec-Fetch-Site, sent by Chromium on every request to 127.0.0.1, `<img>`/`<script>` loads too;
 * - Host: a site whose name is rebound to 127.0.0.1 (DNS rebinding) is same-origin with itself, so
 *   only the Host header shows the request is not for this origin.
 */
export function allowOnlyOrigin(req: IncomingMessage, res: ServerResponse, origin: string): boolean {
  const { origin: from, host } = req.headers;
  const site = req.headers['sec-fetch-site'];
  if (host === new URL(origin).host && (from === undefined || from === origin) && (site === undefined || site === 'same-origin' || site === 'none')) return true;
  res.statusCode = 403;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`forbidden: this server answers ${origin} only\n`);
  return false;
}

export function serveFileWithRanges(req: IncomingMessage, res: ServerResponse, path: string, opts: ServeFileOptions = {}): void {
  let size: number;
  let mtime: Date;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
    mtime = st.mtime;
  } catch {
    res.statusCode = 404;
    res.end('not found');
    return;
  }
  const etag = `"${size.toString(16)}-${mtime.getTime().toString(16)}"`;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', mtime.toUTCString());
  res.setHeader('Content-Type', opts.contentType ?? 'application/octet-stream');
  const cors = opts.cors ?? true;
  if (typeof cors === 'string') res.setHeader('Vary', 'Origin');
  if (cors === true || (typeof cors === 'string' && req.headers.origin === cors)) {
    res.setHeader('Access-Control-Allow-Origin', cors === true ? '*' : cors);
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, ETag, Last-Modified, Accept-Ranges');
  }
  // A revalidation of an unchanged file (Cache-Control: no-cache) costs no body.
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  let start = 0;
  let end = size - 1;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) {
      res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      res.end();
      return;
    }
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || start > end) {
      res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      res.end();
      return;
    }
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  } else {
    res.statusCode = 200;
  }
  res.setHeader('Content-Length', String(end - start + 1));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(path, { start, end }).pipe(res);
}

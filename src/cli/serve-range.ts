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
  /** send `Access-Control-Allow-Origin: *` (default true: model files are read cross-origin) */
  cors?: boolean;
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
  if (opts.cors ?? true) {
    res.setHeader('Access-Control-Allow-Origin', '*');
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

/**
 * The files of a folder over HTTP for `cria bench`'s page: the ONNX export of the model
 * (`cria export onnx` into a temporary folder, see ort.ts), each file with Range requests
 * (serve-range.ts) and `Cache-Control: no-store`, so every cold load really comes from the server, as
 * the GGUF's does. Only regular files inside the folder: a path that leaves it (`..`, encoded or
 * not), a folder, or a missing file is a 404.
 */
import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import { serveFileWithRanges, type ServeFileOptions } from '../serve-range.ts';

/** Answer a request for `rel` (the request path below the folder's route, still URL-encoded) from `root`. */
export function serveFolder(req: IncomingMessage, res: ServerResponse, root: string, rel: string, opts: ServeFileOptions = {}): void {
  let path: string;
  try {
    path = decodeURIComponent(rel);
  } catch {
    return notFound(res);
  }
  const base = resolve(root);
  const file = resolve(base, path);
  if (path === '' || path.includes('\0') || !file.startsWith(base + sep)) return notFound(res);
  try {
    if (!statSync(file).isFile()) return notFound(res);
  } catch {
    return notFound(res);
  }
  res.setHeader('Cache-Control', 'no-store');
  serveFileWithRanges(req, res, file, opts);
}

function notFound(res: ServerResponse): void {
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end('not found');
}

/**
 * `cria serve`: the built app (`dist/`, from `npm run build`) on a local HTTP
 * server, as a static host should serve it:
 * - the Content-Security-Policy header (src/cli/csp.ts), a few privacy headers, and cross-origin
 *   isolation (COOP/COEP), which the WebAssembly engine's threads need;
 * - MIME types for everything a build holds (.webmanifest, .wasm, .js, ...);
 * - hashed files under /assets/ and /widget-assets/ cached for a year, everything else (index.html,
 *   sw.js, the manifest, widget.js) revalidated on every use (ETag → 304);
 * - unknown page paths fall back to index.html (a single-page app); an unknown
 *   file (say /assets/gone.js) is a 404, never HTML served as a script;
 * - CORS on every file, so another origin can embed /widget.js and load what it needs;
 * - HEAD and Range requests (src/cli/serve-range.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';
import { CriaError } from '../../shared/errors.ts';
import { CSP_HEADER, ISOLATION_HEADERS, WIDGET_HOST_CSP_HEADER } from '../csp.ts';
import { serveFileWithRanges } from '../serve-range.ts';

const DEFAULT_DIST = fileURLToPath(new URL('../../../dist/', import.meta.url));
export const DEFAULT_PORT = 5173;
export const DEFAULT_HOST = '127.0.0.1';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.gguf': 'application/octet-stream',
};

export function mimeType(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Headers on every response. */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP_HEADER,
  'X-Content-Type-Options': 'nosniff',
  // a page's address (which may carry ?model=...) is never sent to another site
  'Referrer-Policy': 'no-referrer',
  // /widget.js and its assets are loaded by other origins' pages
  'Cross-Origin-Resource-Policy': 'cross-origin',
  // isolated, so the WebAssembly engine can use threads (SharedArrayBuffer)
  ...ISOLATION_HEADERS,
};

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A request for a page (the app's routes), as opposed to a file. */
function wantsPage(req: IncomingMessage, pathname: string): boolean {
  return extname(pathname) === '' || pathname.endsWith('.html') || (req.headers.accept ?? '').includes('text/html');
}

export interface AppServerOptions {
  dir: string;
  port: number;
  host: string;
}

/** The request handler over a dist directory (exported for tests and embedding). */
export function appHandler(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  const root = resolve(dir);
  const index = resolve(root, 'index.html');
  return (req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method === 'OPTIONS') {
      res.statusCode = 204;
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Range, If-None-Match, If-Range');
      res.setHeader('Access-Control-Max-Age', '86400');
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      res.end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.statusCode = 400;
      res.end('bad request');
      return;
    }
    let path = resolve(root, '.' + pathname);
    if (path !== root && !path.startsWith(root + sep)) {
      res.statusCode = 403;
      res.end('forbidden');
      return;
    }
    if (path === root || pathname.endsWith('/')) path = resolve(path, 'index.html');
    // the widget demo is a host page: its widget's engine worker is a blob: worker
    if (pathname === '/widget-demo.html') res.setHeader('Content-Security-Policy', WIDGET_HOST_CSP_HEADER);
    if (!isFile(path)) {
      if (!wantsPage(req, pathname)) {
        res.statusCode = 404;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.end('not found');
        return;
      }
      path = index; // single-page app: the app reads its own route
    }
    // Vite's hashed files (the app's, the widget's) never change under their name; everything else may.
    const hashed = pathname.startsWith('/assets/') || pathname.startsWith('/widget-assets/');
    res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    serveFileWithRanges(req, res, path, { contentType: mimeType(path), cors: true });
  };
}

/** Listen; resolves once the server accepts connections. */
export async function startAppServer(opts: AppServerOptions): Promise<{ server: Server; url: string }> {
  const dir = resolve(opts.dir);
  if (!existsSync(resolve(dir, 'index.html'))) {
    throw new CriaError(
      'bad-argument',
      `no built app in ${dir} (index.html is missing). Run \`npm run build\` first, or \`npm start\`, which builds and serves.`,
      { dir },
    );
  }
  const server = createServer(appHandler(dir));
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        fail(new CriaError('bad-argument', `port ${opts.port} on ${opts.host} is already in use: stop what runs there, or pass another --port`, { port: opts.port }));
      } else if (e.code === 'EACCES') {
        fail(new CriaError('bad-argument', `not allowed to listen on port ${opts.port}: use a port above 1023 (--port)`, { port: opts.port }));
      } else {
        fail(e);
      }
    });
    server.listen(opts.port, opts.host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { server, url: `http://${host}:${port}/` };
}

function parsePort(v: string | boolean | undefined): number {
  if (v === undefined) return DEFAULT_PORT;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n > 65535) throw new CriaError('bad-argument', `--port must be a number from 0 to 65535, got "${String(v)}"`);
  return n;
}

export const serveCommand: Command = {
  summary: 'serve the built app (dist/) on http://127.0.0.1:5173',
  usage: `cria serve [--port N] [--host H] [--dir DIR]
  --port N    port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H    address to listen on (default ${DEFAULT_HOST}: this machine only. WebGPU and the
              service worker need a secure context: 127.0.0.1/localhost, or https in front)
  --dir DIR   the built app to serve (default: this checkout's dist/, made by \`npm run build\`)`,
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    dir: { type: 'string' },
  },
  async run(values) {
    const { server, url } = await startAppServer({
      dir: typeof values.dir === 'string' ? values.dir : DEFAULT_DIST,
      port: parsePort(values.port),
      host: typeof values.host === 'string' ? values.host : DEFAULT_HOST,
    });
    process.stdout.write(`Cria is running at ${url}  (Ctrl-C to stop)\n`);
    if (/^(0\.0\.0\.0|::)$/.test(typeof values.host === 'string' ? values.host : '')) {
      process.stdout.write(
        `Listening on every interface: on this machine open ${url.replace(/\/\/[^/]+:/, '//127.0.0.1:')}. ` +
          'Other devices need https in front (WebGPU and the service worker only run in a secure context).\n',
      );
    }
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.stdout.write('cria serve: stopped\n');
        server.close(() => done());
        server.closeAllConnections(); // keep-alive sockets would hold close() open
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};

/**
 * `cria serve` as a real process (node bin/cria.js serve) over a small fake
 * dist/ in a temporary directory (so this test needs no build): the URL it
 * prints, the CSP and cache headers, MIME types, the single-page-app
 * fallback, CORS for the widget, HEAD/Range/If-None-Match, no way out of the
 * directory, a clean stop on Ctrl-C, and the errors a user sees.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSP_HEADER } from '../../src/cli/csp.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cria-serve-'));
const dist = join(tmp, 'dist');
const INDEX = '<!doctype html><title>Cria</title><p>the app</p>';
const JS = 'console.log("app");';

function makeDist(): void {
  mkdirSync(join(dist, 'assets'), { recursive: true });
  mkdirSync(join(dist, 'widget-assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets/index-abc123.js'), JS);
  writeFileSync(join(dist, 'assets/index-abc123.css'), 'body{}');
  writeFileSync(join(dist, 'widget.js'), 'export const widget = 1;');
  writeFileSync(join(dist, 'widget-assets/engine.worker-def456.js'), 'self.onmessage = () => {};');
  writeFileSync(join(dist, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  writeFileSync(join(dist, 'manifest.webmanifest'), '{"name":"Cria"}');
  writeFileSync(join(dist, 'models.json'), '[]');
  writeFileSync(join(dist, 'kernel.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(tmp, 'secret.txt'), 'outside dist');
}

interface Running {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `cria serve`; resolves with the URL it prints. */
function serve(args: string[]): Promise<Running> {
  const proc = spawn(process.execPath, [join(root, 'bin/cria.js'), 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => proc.on('exit', (code, signal) => ok({ code, signal })));
  return new Promise((ok, fail) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) ok({ proc, url: m[1], stdout: () => out, exited });
    });
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then(({ code }) => fail(new Error(`cria serve exited (${code}) before listening: ${err}`)));
  });
}

/** Run `cria serve` expecting it to fail: its exit code and stderr. */
function serveFails(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, [join(root, 'bin/cria.js'), 'serve', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  return new Promise((ok) =>
    proc.on('exit', (code) => {
      clearTimeout(timer);
      ok({ code, stderr });
    }),
  );
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request (node:http, so paths are sent exactly as written). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Res> {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('cria serve', () => {
  let app: Running;

  beforeAll(async () => {
    makeDist();
    app = await serve(['--port', '0', '--dir', dist]);
  });

  afterAll(async () => {
    if (app && app.proc.exitCode === null) {
      app.proc.kill('SIGKILL');
      await app.exited;
    }
  });

  it('prints the URL it listens on, on 127.0.0.1 by default', () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('serves index.html with the Content-Security-Policy and privacy headers, revalidated on every use', async () => {
    const r = await get(app.url, '/');
    expect(r.status).toBe(200);
    expect(r.body).toBe(INDEX);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(CSP_HEADER);
    const csp = String(r.headers['content-security-policy']);
    for (const d of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'", 'connect-src \'self\' https: http://127.0.0.1:* http://localhost:*']) {
      expect(csp).toContain(d);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/(?<!wasm-)unsafe-eval/); // 'wasm-unsafe-eval' (compiling WebAssembly) is allowed; eval of script is not
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cache-control']).toBe('no-cache');
  });

  it('falls back to index.html for an unknown page path, but an unknown file is a 404', async () => {
    const page = await get(app.url, '/chat/some/route', { accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.body).toBe(INDEX);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(CSP_HEADER);
    const noExt = await get(app.url, '/models');
    expect(noExt.status).toBe(200);
    expect(noExt.body).toBe(INDEX);
    const file = await get(app.url, '/assets/gone-999.js');
    expect(file.status).toBe(404);
    expect(file.body).not.toContain('<title>');
  });

  it('serves each file type with its MIME type; hashed assets are immutable, the rest revalidated', async () => {
    const cases: [string, string, string][] = [
      ['/assets/index-abc123.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
      ['/assets/index-abc123.css', 'text/css; charset=utf-8', 'public, max-age=31536000, immutable'],
      ['/widget-assets/engine.worker-def456.js', 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable'],
      ['/sw.js', 'text/javascript; charset=utf-8', 'no-cache'],
      ['/widget.js', 'text/javascript; charset=utf-8', 'no-cache'],
      ['/manifest.webmanifest', 'application/manifest+json; charset=utf-8', 'no-cache'],
      ['/models.json', 'application/json; charset=utf-8', 'no-cache'],
      ['/kernel.wasm', 'application/wasm', 'no-cache'],
    ];
    for (const [path, type, cache] of cases) {
      const r = await get(app.url, path);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(type);
      expect(r.headers['cache-control'], path).toBe(cache);
    }
    expect((await get(app.url, '/assets/index-abc123.js')).body).toBe(JS);
  });

  it('lets another origin load widget.js and the widget assets (CORS)', async () => {
    for (const path of ['/widget.js', '/widget-assets/engine.worker-def456.js']) {
      const r = await get(app.url, path, { origin: 'http://example.test' });
      expect(r.status).toBe(200);
      expect(r.headers['access-control-allow-origin']).toBe('*');
      expect(r.headers['cross-origin-resource-policy']).toBe('cross-origin');
    }
    const pre = await get(app.url, '/widget.js', { origin: 'http://example.test', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' }, 'OPTIONS');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(String(pre.headers['access-control-allow-headers'])).toMatch(/range/i);
  });

  it('answers HEAD, Range and If-None-Match', async () => {
    const head = await get(app.url, '/assets/index-abc123.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(JS.length));
    expect(head.headers['accept-ranges']).toBe('bytes');
    expect(head.body).toBe('');
    const part = await get(app.url, '/assets/index-abc123.js', { range: 'bytes=0-6' });
    expect(part.status).toBe(206);
    expect(part.body).toBe(JS.slice(0, 7));
    expect(part.headers['content-range']).toBe(`bytes 0-6/${JS.length}`);
    const etag = String((await get(app.url, '/')).headers.etag);
    const again = await get(app.url, '/', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  it('never serves a file outside the directory, and refuses other methods', async () => {
    for (const path of ['/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const r = await get(app.url, path);
      expect(r.body, path).not.toContain('outside dist');
      expect([403, 404, 200], path).toContain(r.status);
    }
    expect((await get(app.url, '/..%2fsecret.txt')).status).toBe(403);
    const post = await get(app.url, '/', {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  it('says what to do when the port is taken', async () => {
    const port = new URL(app.url).port;
    const r = await serveFails(['--port', port, '--dir', dist]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`port ${port}`);
    expect(r.stderr).toContain('--port');
  });

  it('stops cleanly on Ctrl-C (SIGINT)', async () => {
    const own = await serve(['--port', '0', '--dir', dist]);
    expect((await get(own.url, '/')).status).toBe(200);
    own.proc.kill('SIGINT');
    const { code } = await own.exited;
    expect(code).toBe(0);
    expect(own.stdout()).toContain('stopped');
    await expect(get(own.url, '/')).rejects.toThrow();
  });
});

describe('cria serve errors', () => {
  it('refuses a missing build and tells the user to run npm run build', async () => {
    const r = await serveFails(['--port', '0', '--dir', join(tmp, 'no-such-dist')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('npm run build');
    expect(r.stderr).toContain('no-such-dist');
  });

  it('refuses a bad --port', async () => {
    const r = await serveFails(['--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port');
  });
});

/**
 * The browser side of `cria bench`: Vite (middleware mode, this repo's config)
 * behind a Node HTTP server on 127.0.0.1 that
 * - serves a local MODEL file with Range requests under /__cria/bench/model/,
 *   with `Cache-Control: no-store`, so every cold load really comes from the
 *   server and not from Chromium's HTTP cache; and the same way the files of
 *   a folder (the model's exports: ONNX for onnxruntime-web, MLC and its
 *   model library for WebLLM) under /__cria/bench/export/;
 * - sends COOP `same-origin` and COEP `require-corp` (and CORP `same-origin`)
 *   with every response, so the page is cross-origin isolated and wllama can
 *   use threads (SharedArrayBuffer);
 * then headless Chromium (chromium.ts: CHROME_PATH or the usual places, the
 * WebGPU flags) on src/cli/bench/page/bench.html, whose `window.criaBench`
 * (page/api.ts) is called with page.evaluate.
 *
 * Separate from src/cli/browser-engine.ts (which `generate` and `score` use)
 * because of the headers and because the page holds two engines. Always torn
 * down at the end, on errors and on Ctrl-C.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createServer as createViteServer, type ViteDevServer } from 'vite';
import { CriaError } from '../../shared/errors.ts';
import { cachePort } from '../cache-port.ts';
import { findChromium, launchForCli } from '../chromium.ts';
import type { ModelLocation } from '../model-source.ts';
import { allowOnlyOrigin, serveFileWithRanges } from '../serve-range.ts';
import type { BenchPage, BenchResult } from './page/api.ts';
import { serveFolder } from './serve-folder.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const PAGE = 'src/cli/bench/page/bench.html';
const MODEL_ROUTE = '/__cria/bench/model/';
const EXPORT_ROUTE = '/__cria/bench/export/';

export interface BenchBrowser {
  /** the model's URL as the page fetches it */
  modelUrl: string;
  /** the URL of the `exportDir` folder (ends with /), when one is served */
  exportUrl?: string;
  executable: string;
  /** Chromium's version, e.g. "140.0.7339.16" */
  version: string;
  /** call a function of the page; a failure comes back as `{ error }` */
  call<K extends keyof BenchPage>(name: K, ...args: Parameters<BenchPage[K]>): Promise<Awaited<ReturnType<BenchPage[K]>>>;
}

export interface BenchBrowserOptions {
  /** keep the browser profile here (`--cache DIR`), served from a port derived from the folder */
  cacheDir?: string;
  log?: (line: string) => void;
  /** a folder whose files the page may load (the model's exports; filled while the page runs) */
  exportDir?: string;
}

/** Cross-origin isolation for every response (wllama's threads need SharedArrayBuffer). */
export function setIsolationHeaders(res: { setHeader(name: string, value: string): unknown }): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export async function withBenchBrowser<T>(location: ModelLocation, fn: (b: BenchBrowser) => Promise<T>, opts: BenchBrowserOptions = {}): Promise<T> {
  const executable = findChromium(); // a clear error before anything starts
  const debug = !!process.env.CRIA_DEBUG;
  let vite: ViteDevServer | undefined;
  let server: Server | undefined;
  let browserReady: Promise<Browser | BrowserContext> | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const browser = await browserReady?.catch(() => undefined);
      await browser?.close().catch(() => undefined);
      server?.closeAllConnections();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      await vite?.close().catch(() => undefined);
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\ncria bench: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}\n`);
    void close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // the port first: it is recorded in the cache folder before Chromium puts its profile there
    const port = opts.cacheDir ? cachePort(opts.cacheDir, 'bench') : 0;
    browserReady = launchForCli(opts.cacheDir, { executablePath: executable, debug });
    browserReady.catch(() => undefined);
    vite = await createViteServer({
      root: repoRoot,
      configFile: resolve(repoRoot, 'vite.config.ts'),
      // our own optimizer cache: never disturb another dev server's, or a concurrent `cria generate`'s
      cacheDir: resolve(repoRoot, 'node_modules/.vite-cria-bench'),
      appType: 'custom',
      logLevel: debug ? 'warn' : 'error',
      clearScreen: false,
      optimizeDeps: { entries: [PAGE, 'src/cli/bench/page/bench.worker.ts'] },
      server: { middlewareMode: true, hmr: false, ws: false, watch: null, warmup: { clientFiles: [PAGE, 'src/cli/bench/page/bench.ts', 'src/cli/bench/page/bench.worker.ts'] } },
    });
    const modelFile = 'path' in location ? location.path : undefined;
    const modelPath = modelFile ? MODEL_ROUTE + encodeURIComponent(basename(modelFile)) : undefined;
    const html = await readFile(resolve(repoRoot, PAGE));
    const middlewares = vite.middlewares;
    // the bench page's own origin, once listening: this server answers that page only (see allowOnlyOrigin)
    let origin = '';
    server = createHttpServer((req, res) => {
      if (!allowOnlyOrigin(req, res, origin)) return;
      setIsolationHeaders(res);
      const path = (req.url ?? '').split('?')[0];
      if (modelFile && path === modelPath) {
        res.setHeader('Cache-Control', 'no-store');
        return serveFileWithRanges(req, res, modelFile, { cors: origin });
      }
      if (opts.exportDir && path.startsWith(EXPORT_ROUTE)) return serveFolder(req, res, opts.exportDir, path.slice(EXPORT_ROUTE.length), { cors: origin });
      if (path === `/${PAGE}`) {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(html);
        return;
      }
      middlewares(req, res, () => {
        res.statusCode = 404;
        res.end('not found');
      });
    });
    origin = await new Promise<string>((ok, fail) => {
      server!.once('error', (e: NodeJS.ErrnoException) =>
        fail(e.code === 'EADDRINUSE' ? new CriaError('bad-argument', `port ${port} (fixed for --cache ${opts.cacheDir}) is in use: by another cria bench with the same cache folder, or by another program (use another --cache folder, or free the port)`) : e),
      );
      server!.listen(port, '127.0.0.1', () => ok(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`));
    });
    const modelUrl = modelPath ? origin + modelPath : (location as { url: string }).url;

    const browser = await browserReady;
    const version = 'version' in browser ? browser.version() : (browser.browser()?.version() ?? 'unknown');
    const page: Page = await browser.newPage();
    const crashed = new Promise<never>((_, reject) => {
      page.on('crash', () => reject(new CriaError('internal', 'the Chromium page running the benchmark crashed (out of memory?)')));
      page.on('close', () => reject(new CriaError('internal', 'the Chromium page running the benchmark was closed')));
    });
    crashed.catch(() => undefined);
    if (debug) page.on('console', (m) => process.stderr.write(`[chromium ${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => process.stderr.write(`cria bench: error in the page: ${e.message}\n`));
    await page.goto(`${origin}/${PAGE}`);
    await page.waitForFunction(() => window.criaBench !== undefined, undefined, { timeout: 120_000 });

    const call: BenchBrowser['call'] = async (name, ...args) => {
      const run = page.evaluate(([n, a]) => (window.criaBench![n] as (...x: unknown[]) => Promise<BenchResult<unknown>>)(...a), [name, args] as [keyof BenchPage, unknown[]]);
      return (await Promise.race([run, crashed])) as never;
    };
    return await fn({ modelUrl, ...(opts.exportDir ? { exportUrl: origin + EXPORT_ROUTE } : {}), executable, version, call });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  }
}

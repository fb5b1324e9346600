/**
 * `--engine webgpu` for the CLI: the same engine the app uses (its Web
 * Worker, through the client), in headless Chromium, driven from Node.
 *
 *   Vite dev server (middleware mode, this repo's vite.config.ts) behind a
 *   Node http server on 127.0.0.1:<free port>, which also serves the user's
 *   model file with HTTP Range under /__cria/model/ (a URL model is passed
 *   through as it is: the browser fetches it, so its server must allow CORS).
 *   That server answers the engine page only: a request from another origin
 *   (Origin, Sec-Fetch-Site) or for another host name (DNS rebinding) gets
 *   403, so no web page open in the user's browser can read their model files;
 *   engine errors name the user's path, never the internal /__cria/model/ URL
 *   → Chromium (launchChromium: CHROME_PATH or the usual places, WebGPU flags)
 *   → src/cli/browser/engine.html, whose `window.criaCli` (page-api.ts) the
 *   CLI calls with page.evaluate; progress and streamed text come back
 *   through exposed functions.
 *
 * `withBrowserEngine` closes the browser and the servers at the end, on
 * errors, and on Ctrl-C / SIGTERM. Set CRIA_DEBUG=1 to see the page's console.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { createServer as createViteServer, type ViteDevServer } from 'vite';
import type { EngineStats, LoadProgress } from '../protocol/api.ts';
import { signalHandler, type CliEngine, type OnInterrupt } from './engine.ts';
import { deserializeError, type SerializedError } from '../protocol/errors.ts';
import { CriaError, isCriaError } from '../shared/errors.ts';
import { cachePort } from './cache-port.ts';
import { findChromium, launchForCli } from './chromium.ts';
import type { PageEvalOutcome, PageEvalProgress, PageEvalRequest, PageModel, PageResult } from './browser/page-api.ts';
import type { ModelRole } from '../eval/index.ts';
import { onnxFolderFiles, type ModelLocation } from './model-source.ts';
import { allowOnlyOrigin, serveFileWithRanges } from './serve-range.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const PAGE = 'src/cli/browser/engine.html';
const MODEL_ROUTE = '/__cria/model/';

/** The engine in Chromium, as the CLI commands use it (the CliEngine every command drives, plus evaluation). */
export interface BrowserEngine extends CliEngine {
  stats(): Promise<EngineStats>;
  /**
   * Run an evaluation in the page (runTask + IdbEvalStore + fromClient, src/cli/browser/engine.ts).
   * `models` names, per role, the key of a model: "main" (the location given to
   * withBrowserEngine) or a key of `opts.models`.
   */
  runEval(req: Omit<PageEvalRequest, 'models'> & { models: Partial<Record<ModelRole, string>> }, onProgress?: (p: PageEvalProgress) => void, onLoadProgress?: (p: LoadProgress) => void): Promise<PageEvalOutcome>;
  /** stop a running evaluation (its runEval rejects with code "aborted"; the run is stored as stopped) */
  stopEval(): Promise<void>;
}

/**
 * Start everything for the model at `location` (see model-source.ts: locateModel), run `fn`,
 * and always tear it down.
 */
export interface BrowserEngineOptions {
  /**
   * Keep the browser profile in this folder, so a URL model downloaded into the engine's
   * IndexedDB cache is there the next time (`--cache DIR`). The page is then served from a
   * port derived from the folder: IndexedDB belongs to an origin, which must stay the same.
   */
  cacheDir?: string;
  /** more models the page can load (runEval), by key; local files are served like the main one */
  models?: Record<string, ModelLocation>;
  /** Ctrl-C / SIGTERM go to the caller first (see `signalHandler`); Playwright's own handlers are then off. */
  onInterrupt?: OnInterrupt;
}

export async function withBrowserEngine<T>(location: ModelLocation, fn: (engine: BrowserEngine) => Promise<T>, opts: BrowserEngineOptions = {}): Promise<T> {
  const executablePath = findChromium(); // a clear error before anything starts
  const debug = !!process.env.CRIA_DEBUG;
  const t0 = performance.now();
  const lap = (what: string) => debug && process.stderr.write(`[cria] ${((performance.now() - t0) / 1000).toFixed(2)} s: ${what} (process uptime ${process.uptime().toFixed(2)} s)\n`);

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
      lap('closed');
    })());
  const onSignal = signalHandler(opts.onInterrupt, (signal) => void close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // the port first: it is recorded in the cache folder before Chromium puts its profile there
    const port = opts.cacheDir ? cachePort(opts.cacheDir, 'engine') : 0;
    // Chromium starts while Vite loads its config and pre-transforms the page's modules.
    browserReady = launchForCli(opts.cacheDir, { executablePath, handleSignals: !opts.onInterrupt, debug });
    browserReady.catch(() => undefined);
    vite = await createViteServer({
      root: repoRoot,
      configFile: resolve(repoRoot, 'vite.config.ts'),
      // our own optimizer cache: never disturb another dev server's (e.g. the tests') deps
      cacheDir: resolve(repoRoot, 'node_modules/.vite-cria-cli'),
      // the page's HTML is served as it is (below): no Vite client, which would try to open an HMR socket
      appType: 'custom',
      logLevel: debug ? 'warn' : 'error', // Vite logs info to stdout, which carries our JSON
      clearScreen: false,
      optimizeDeps: { entries: [PAGE, 'src/worker/engine.worker.ts'] },
      server: { middlewareMode: true, hmr: false, ws: false, watch: null, warmup: { clientFiles: [PAGE, 'src/cli/browser/engine.ts', 'src/worker/engine.worker.ts'] } },
    });
    lap('vite ready');
    // local model files by route: the main one at /__cria/model/<name>, others at /__cria/model/<key>/<name>
    const locations: Record<string, ModelLocation> = { ...opts.models, main: location };
    const routes = new Map<string, string>();
    /** a local file's route, or an ONNX folder's base route (its files below it) */
    const routeOf = (key: string) => {
      const l = locations[key];
      if ('dir' in l) return `${MODEL_ROUTE}${encodeURIComponent(key)}/`;
      return 'path' in l ? MODEL_ROUTE + (key === 'main' ? '' : `${encodeURIComponent(key)}/`) + encodeURIComponent(basename(l.path)) : undefined;
    };
    for (const [key, l] of Object.entries(locations)) {
      if ('path' in l) routes.set(routeOf(key)!, l.path);
      if ('dir' in l) for (const [rel, file] of Object.entries(await onnxFolderFiles(l.dir))) routes.set(routeOf(key)! + rel.split('/').map(encodeURIComponent).join('/'), file);
    }
    const middlewares = vite.middlewares;
    const html = await readFile(resolve(repoRoot, PAGE));
    let origin = ''; // known once the server listens, before any request can arrive
    server = createHttpServer((req, res) => {
      if (!allowOnlyOrigin(req, res, origin)) return;
      const path = (req.url ?? '').split('?')[0];
      const file = routes.get(path);
      if (file) return serveFileWithRanges(req, res, file, { cors: origin });
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
        fail(e.code === 'EADDRINUSE' ? new CriaError('bad-argument', `port ${port} (fixed for --cache ${opts.cacheDir}) is in use: by another cria with the same cache folder, or by another program (use another --cache folder, or free the port)`) : e),
      );
      server!.listen(port, '127.0.0.1', () => ok(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`));
    });
    /** an engine message names the user's file, not the route it is served at here */
    const userPaths = [...routes].sort(([a], [b]) => b.length - a.length).map(([route, file]) => [origin + route, route, file] as const); // longest first: a route may start with another
    const toUserPaths = (text: string) => userPaths.reduce((t, [url, route, file]) => t.replaceAll(url, file).replaceAll(route, file), text);
    /** where the page loads the model of `key` from; only a URL model is worth caching (a local file is already on disk), and only in a kept profile */
    const pageModel = (key: string): PageModel => {
      const l = locations[key];
      if (!l) throw new CriaError('internal', `internal error: no model "${key}" was given to the browser engine (please report this)`);
      if ('dir' in l) return { url: origin + routeOf(key)!, cache: false, onnx: true };
      if ('onnx' in l) return { url: 'url' in l.onnx ? l.onnx.url : `https://huggingface.co/${l.onnx.repo}/resolve/main/`, cache: true, onnx: true };
      return 'path' in l ? { url: origin + routeOf(key)!, cache: false } : { url: l.url, cache: !!opts.cacheDir };
    };

    const browser = await browserReady;
    lap('chromium ready');
    const page = await browser.newPage(); // a Browser or, with --cache, the persistent context
    const crashed = new Promise<never>((_, reject) => {
      page.on('crash', () => reject(new CriaError('internal', 'the Chromium page running the engine crashed')));
      page.on('close', () => reject(new CriaError('internal', 'the Chromium page running the engine was closed')));
    });
    crashed.catch(() => undefined);
    if (debug) page.on('console', (m) => process.stderr.write(`[chromium ${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => process.stderr.write(`cria: error in the engine page: ${e.message}\n`));

    let onProgress: ((p: LoadProgress) => void) | undefined;
    let onText: ((t: string) => void) | undefined;
    await page.exposeFunction('criaCliProgress', (p: LoadProgress) => onProgress?.(p));
    await page.exposeFunction('criaCliText', (t: string) => onText?.(t));
    let onEvalProgress: ((p: PageEvalProgress) => void) | undefined;
    await page.exposeFunction('criaCliEvalProgress', (p: PageEvalProgress) => onEvalProgress?.(p));
    await page.goto(`${origin}/${PAGE}`);
    await page.waitForFunction(() => window.criaCli !== undefined, undefined, { timeout: 120_000 });
    lap('page ready');

    /** an engine error with what to do about it here */
    const explain = (e: unknown, urlModel: boolean): unknown => {
      // only where the browser could not reach the server at all: a dropped connection or a stall is not CORS
      if (isCriaError(e, 'network') && urlModel && /could not reach/.test(e.message)) {
        return new CriaError('network', `${e.message}\nThe browser fetches a URL model itself, so its server must allow CORS and Range requests; or download the file and pass its path.`, e.detail);
      }
      if (!isCriaError(e, 'webgpu-unavailable')) return e;
      return new CriaError(
        'webgpu-unavailable',
        `${e.message}\n(cria ran ${executablePath} headless with WebGPU on SwiftShader, see src/cli/chromium.ts.) ` +
          'Point CHROME_PATH at another Chrome or Chromium, or use --engine cpu.',
        e.detail,
      );
    };

    const engine: BrowserEngine = {
      name: 'webgpu',
      load: async (progress, loadOpts = {}) => {
        onProgress = progress;
        try {
          // (pageModel: only a URL model is worth caching, a local file is already on disk, and only in a kept profile)
          // --engine webgpu means WebGPU, whatever `auto` would pick on this adapter (an ONNX model: onnxruntime-web's WebGPU EP)
          const info = await unwrap(page.evaluate(([m, o]) => window.criaCli!.load(m, o), [pageModel('main'), { ...loadOpts, backend: 'webgpu' as const }] as const), crashed, toUserPaths);
          lap(`model loaded (${Math.round(info.loadMs)} ms in the engine)`);
          return info;
        } catch (e) {
          throw explain(e, 'url' in location);
        } finally {
          onProgress = undefined;
        }
      },
      loadAdapter: async (where, id) => {
        // a local adapter is served like a local model, at a route of its own
        let model: PageModel;
        if ('path' in where) {
          const route = `${MODEL_ROUTE}adapter-${encodeURIComponent(id)}/${encodeURIComponent(basename(where.path))}`;
          routes.set(route, where.path);
          userPaths.unshift([origin + route, route, where.path]);
          model = { url: origin + route, cache: false };
        } else model = { url: where.url, cache: !!opts.cacheDir };
        return unwrap(page.evaluate(([m, i]) => window.criaCli!.loadAdapter(m, i), [model, id] as const), crashed, toUserPaths);
      },
      tokenize: (text, opts) => unwrap(page.evaluate(([t, o]) => window.criaCli!.tokenize(t, o), [text, opts] as const), crashed, toUserPaths),
      complete: async (req, text) => {
        onText = text;
        try {
          const r = await unwrap(page.evaluate(([q, s]) => window.criaCli!.complete(q, s), [req, !!text] as const), crashed, toUserPaths);
          if (r.prompt_logits_base64 === undefined) return r;
          const b = Buffer.from(r.prompt_logits_base64, 'base64');
          return { ...r, promptLogits: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
        } finally {
          onText = undefined;
        }
      },
      chat: async (req, text) => {
        onText = text;
        try {
          return await unwrap(page.evaluate(([q, st]) => window.criaCli!.chat(q, st), [req, !!text] as const), crashed, toUserPaths);
        } finally {
          onText = undefined;
        }
      },
      abort: () => page.evaluate(() => window.criaCli!.abort()),
      score: (req) => unwrap(page.evaluate((q) => window.criaCli!.score(q), req), crashed, toUserPaths),
      deviceInfo: () => unwrap(page.evaluate(() => window.criaCli!.deviceInfo()), crashed, toUserPaths),
      stats: () => unwrap(page.evaluate(() => window.criaCli!.stats()), crashed, toUserPaths),
      runEval: async (req, progress, loadProgress) => {
        const models: PageEvalRequest['models'] = {};
        for (const [role, key] of Object.entries(req.models)) models[role as ModelRole] = pageModel(key);
        onEvalProgress = progress;
        onProgress = loadProgress;
        try {
          return await unwrap(page.evaluate((r) => window.criaCli!.runEval(r), { ...req, models }), crashed, toUserPaths);
        } catch (e) {
          throw explain(e, Object.values(req.models).some((k) => k !== undefined && 'url' in locations[k]));
        } finally {
          onEvalProgress = undefined;
          onProgress = undefined;
        }
      },
      stopEval: () => page.evaluate(() => window.criaCli!.stopEval()),
    };
    return await fn(engine);
  } finally {
    lap('closing');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  }
}

/**
 * A page result → its value, or the engine's error (with its code) thrown here, its message and
 * detail passed through `rewrite` (the served URLs of local files → their paths).
 */
async function unwrap<T>(p: Promise<PageResult<T>>, crashed: Promise<never>, rewrite: (text: string) => string): Promise<T> {
  const r = await Promise.race([p, crashed]);
  if ('error' in r) throw deserializeError(rewriteStrings(r.error, rewrite) as SerializedError);
  return r.ok;
}

/** Every string in a plain (JSON-like) value passed through `f`. */
function rewriteStrings(v: unknown, f: (text: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => rewriteStrings(x, f));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewriteStrings(x, f)]));
  }
  return v;
}

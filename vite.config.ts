import { defineConfig, type Plugin } from 'vitest/config';
import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VitePWA } from 'vite-plugin-pwa';
import { serveFileWithRanges } from './test/server/range.ts';
import { CSP_META, ISOLATION_HEADERS } from './src/cli/csp.ts';
import { buildWasm } from './src/wasm/build.ts';

const root = fileURLToPath(new URL('.', import.meta.url));
const fixtures = resolve(root, '../shared/fixtures');

/**
 * Dev server only (tests): `/fixtures/<path>` serves ../shared/fixtures with HTTP Range
 * support, so browser tests load real model files over HTTP. Never in a build.
 */
function fixturesPlugin(): Plugin {
  return {
    name: 'cria-test-fixtures',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/fixtures/', (req, res, next) => {
        if (!existsSync(fixtures)) return next();
        const path = resolve(fixtures, decodeURIComponent((req.url ?? '').split('?')[0]).replace(/^\/+/, ''));
        if (!path.startsWith(fixtures + sep)) {
          res.statusCode = 403;
          res.end();
          return;
        }
        serveFileWithRanges(req, res, path);
      });
    },
  };
}

/**
 * The WebAssembly kernels (kernels/wasm, AssemblyScript) are built into build/wasm before the dev
 * server starts and before a build (src/wasm/build.ts: only when their sources changed); the engine
 * imports the variants with `?url`.
 */
function wasmPlugin(): Plugin {
  return {
    name: 'cria-wasm-kernels',
    async buildStart() {
      await buildWasm();
    },
    async configureServer() {
      await buildWasm();
    },
  };
}

/** The app's colours in the manifest (the light theme's page colour, as index.html's theme-color); icons: public/icons/. */
const THEME_COLOR = '#f7f4ef';
const BACKGROUND_COLOR = '#f7f4ef';

/**
 * Build only, on index.html:
 * - before Vite bundles it: a module script for src/app/pwa.ts (the service
 *   worker's registration), so the built app always registers it whatever the
 *   app's entry imports, and the dev server never does;
 * - after: the Content-Security-Policy as a <meta> first thing in <head> (so
 *   static hosts get it; `cria serve` also sends it as a header, see
 *   src/cli/csp.ts), a theme colour unless the page has its own, and the
 *   Apple touch icon.
 */
function builtHtmlPlugins(): Plugin[] {
  return [
    {
      name: 'cria-built-html-pwa',
      apply: 'build',
      transformIndexHtml: {
        order: 'pre',
        handler: (html) => html.replace('</body>', '    <script type="module" src="/src/app/pwa.ts"></script>\n  </body>'),
      },
    },
    {
      name: 'cria-built-html-head',
      apply: 'build',
      transformIndexHtml: {
        order: 'post',
        handler(html) {
          const head = [
            `<meta http-equiv="Content-Security-Policy" content="${CSP_META}" />`,
            ...(/<meta name="theme-color"/.test(html) ? [] : [`<meta name="theme-color" content="${THEME_COLOR}" />`]),
            `<link rel="apple-touch-icon" href="/icons/apple-touch-icon-180.png" />`,
          ].join('\n    ');
          return html.replace(/<meta charset="[^"]*"\s*\/?>/i, (m) => `${m}\n    ${head}`);
        },
      },
    },
  ];
}

/**
 * The PWA: a web app manifest, and a Workbox service worker (generateSW) that
 * precaches the app shell so the app opens offline after one visit. What it
 * precaches: the built HTML, JS (the engine worker's bundle included), CSS,
 * icons, the manifest, public/models.json and the demo model that ships with
 * the app (public/models/*.gguf, ~1 MB: it loads offline from the first visit);
 * onnxruntime-web's binary is cached at its first use instead (one runtime
 * route, same origin only). What it never touches: other model files. The engine keeps them in IndexedDB itself;
 * cross-origin requests (Hugging Face, local servers) are not answered by it, and public/sw-routes.js tells the browser to send them
 * (and any .gguf) straight to the network without waking the worker. The
 * widget (dist/widget.js, dist/widget-assets/) is built afterwards by
 * vite.widget.config.ts, for other origins, and is not precached.
 * The worker is registered by src/app/pwa.ts, in built pages only (builtHtmlPlugins).
 */
function pwaPlugin() {
  return VitePWA({
    strategies: 'generateSW',
    // a new version waits until the app applies it (src/app/pwa-hook.ts) or every tab is closed:
    // reloading under a running chat could lose it
    registerType: 'prompt',
    injectRegister: false,
    manifestFilename: 'manifest.webmanifest',
    includeManifestIcons: false, // the glob below already has them
    manifest: {
      id: '/',
      name: 'Cria',
      short_name: 'Cria',
      description: 'Small language models, fully on your own device: chat with a model that runs in your browser, on the GPU (WebGPU) or the processor (WebAssembly). Nothing you type leaves it.',
      start_url: '/',
      scope: '/',
      display: 'standalone',
      theme_color: THEME_COLOR,
      background_color: BACKGROUND_COLOR,
      categories: ['productivity', 'utilities'],
      icons: [
        { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
        { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
        { src: '/icons/maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
        { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        { src: '/favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
      ],
    },
    workbox: {
      // (the plugin adds the manifest itself); models/*.gguf: the demo model that ships with the app (public/models/)
      globPatterns: ['**/*.{html,js,css,svg,png,ico,json,wasm,woff2}', 'models/*.gguf'],
      // the app asks for the demo model as models/….gguf?embedded (src/app/catalogue.ts): the query keeps
      // sw-routes.js's "any .gguf to the network" rule off it, and the precache ignores it
      ignoreURLParametersMatching: [/^utm_/, /^fbclid$/, /^embedded$/],
      // onnxruntime-web's WebAssembly binary (~30 MB) is not precached: every visitor would download it
      // though only ONNX models use it; the runtime route below keeps it once an ONNX model first loads
      globIgnores: ['**/*.map', 'widget.js', 'widget-assets/**', 'widget-demo.*', '**/ort-wasm-*.wasm'],
      // the engine worker's bundle must be precached whatever its size (Workbox skips bigger files with a warning)
      maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
      navigateFallback: 'index.html',
      // (Workbox tests these against path + query, and the query may hold a model URL)
      navigateFallbackDenylist: [/^\/widget/],
      // onnxruntime-web's binary, kept at its first use (its name carries a content hash, so the cached
      // copy is always the right one): an ONNX model then loads offline too
      runtimeCaching: [
        {
          urlPattern: ({ url, sameOrigin }) => sameOrigin && /\/ort-wasm-[^/]*\.wasm$/.test(url.pathname),
          handler: 'CacheFirst',
          options: { cacheName: 'cria-onnxruntime', expiration: { maxEntries: 2 } },
        },
      ],
      cleanupOutdatedCaches: true,
      clientsClaim: true,
      importScripts: ['sw-routes.js'],
      sourcemap: false,
    },
    devOptions: { enabled: false },
  });
}

export default defineConfig({
  plugins: [wasmPlugin(), fixturesPlugin(), ...builtHtmlPlugins(), pwaPlugin()],
  resolve: {
    alias: { '@kernels': `${root}kernels` },
  },
  // Tests set CRIA_NO_HMR: a page under test must never reload because a source file changed.
  server: { host: '127.0.0.1', fs: { allow: [root] }, hmr: process.env.CRIA_NO_HMR ? false : undefined, headers: { ...ISOLATION_HEADERS } },
  preview: { headers: { ...ISOLATION_HEADERS } },
  worker: { format: 'es' },
  // Pre-bundle the deps of every page up front, test pages included, so Vite never
  // discovers one mid-test and reloads the page under Playwright.
  optimizeDeps: {
    entries: ['index.html', 'test/**/pages/*.html'],
    // imported only by the engine worker's lazily loaded runtimes, which the dependency scan does not reach:
    // pre-bundled at start, so their first use does not make Vite re-optimize (and reload) mid-request
    include: ['onnxruntime-web', '@mlc-ai/web-llm', '@mlc-ai/web-xgrammar'],
  },
  build: { target: 'es2022', sourcemap: true },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    // hooks start real processes and servers (cria serve, the model server): on a loaded 2-core
    // machine a start took over vitest's default 10 s (a CI run failed so); they get the tests' limit
    hookTimeout: 120_000,
    pool: 'forks',
    // two test files at a time on a 2-core machine (Vitest's default there is one): most files are
    // single-threaded Node work, so the suite takes ~a quarter less time (measured on six of the heaviest
    // files: 269 s one at a time, 206 s two at a time); every test already passes with another process
    // busy on the other core, which is what a second worker is
    maxWorkers: 2,
  },
});

import { defineConfig, type Plugin } from 'vitest/config';
import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveFileWithRanges } from './test/server/range.ts';

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

export default defineConfig({
  plugins: [fixturesPlugin()],
  resolve: {
    alias: { '@kernels': `${root}kernels` },
  },
  // Tests set CRIA_NO_HMR: a page under test must never reload because a source file changed.
  server: { host: '127.0.0.1', fs: { allow: [root] }, hmr: process.env.CRIA_NO_HMR ? false : undefined },
  worker: { format: 'es' },
  // Pre-bundle the deps of every page up front, test pages included, so Vite never
  // discovers one mid-test and reloads the page under Playwright.
  optimizeDeps: { entries: ['index.html', 'test/**/pages/*.html'] },
  build: { target: 'es2022', sourcemap: true },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    pool: 'forks',
  },
});

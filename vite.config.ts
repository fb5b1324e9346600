import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    alias: { '@kernels': `${root}kernels` },
  },
  server: { host: '127.0.0.1', fs: { allow: [root] } },
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

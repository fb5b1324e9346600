/**
 * Browser tests: test/gpu (real WebGPU: kernels, models) and test/e2e (the app).
 * The browser is the local Chrome/Chromium found by src/cli/chromium.ts (CHROME_PATH
 * or the usual places), launched with the same WebGPU/SwiftShader flags the
 * `cria` CLI uses. Pages come from a Vite dev server on 127.0.0.1 (a secure
 * context, which WebGPU requires). See DEVELOPERS.md.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_WEBGPU_ARGS, findChromium } from './src/cli/chromium.ts';
import { APP_BUILT, APP_BUILT_PORT, MODEL_SERVER, MODEL_SERVER_PORT } from './test/server/ports.ts';

const PORT = 5199;
const baseURL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: 'test',
  testMatch: ['gpu/**/*.spec.ts', 'e2e/**/*.spec.ts'],
  // 2 cores, and SwiftShader runs every shader on the CPU: one browser at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // SwiftShader compiles and runs shaders on the CPU: slow, so generous limits.
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: 'list',
  use: {
    baseURL,
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: findChromium(),
      args: [...CHROMIUM_WEBGPU_ARGS],
    },
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    trace: 'retain-on-failure',
  },
  webServer: [
    {
      command: `npx vite --host 127.0.0.1 --port ${PORT} --strictPort`,
      env: { CRIA_NO_HMR: '1' },
      url: baseURL,
      reuseExistingServer: !process.env.CI,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    // The fixtures on another origin, with fault injection: test/server/model-server.ts.
    {
      command: `npx tsx test/server/model-server.ts --port ${MODEL_SERVER_PORT}`,
      url: `${MODEL_SERVER}/health`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    // The built app as users get it (service worker, CSP), served by `cria serve`: test/e2e/pwa*.spec.ts.
    // A server already on this port is reused locally: `npm run build` refreshes what it serves.
    {
      command: `npm run build && node bin/cria.js serve --port ${APP_BUILT_PORT}`,
      url: `${APP_BUILT}/manifest.webmanifest`,
      reuseExistingServer: !process.env.CI,
      timeout: 180_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});

/**
 * The WebAssembly backend in Chromium, through the engine's worker and the client (as the app uses
 * it): asked for by name; chosen by `auto` where the only WebGPU adapter is a software one
 * (SwiftShader here) and where WebGPU is missing altogether (a Chromium without the WebGPU flags); threads when the page is cross-origin
 * isolated (the dev server sends COOP/COEP); the same greedy text as llama.cpp's golden.
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { CHROMIUM_QUIET_ARGS, findChromium } from '../../src/cli/chromium.ts';

const MODEL = '/fixtures/models/stories260K/stories260K-f32.gguf';

async function open(page: Page) {
  await page.goto('/test/e2e/pages/engine.html');
  await page.waitForFunction(() => window.criaE2E !== undefined);
}

test('backend wasm: threads on an isolated page, the golden greedy text', async ({ page }) => {
  await open(page);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const r = await page.evaluate((u) => window.criaE2E!.loadWith(u, { backend: 'wasm' }), MODEL);
  expect(r.error).toBeNull();
  expect(r.info!.backend.kind).toBe('wasm');
  expect(r.info!.backend.threads).toBeGreaterThan(1);
  expect(r.info!.backend.reason).toMatch(/WebAssembly, as asked/);
  expect(await page.evaluate(() => window.criaE2E!.greedy('Once upon a time', 16))).toMatch(/^, there was a little girl/);
  const d = await page.evaluate(() => window.criaE2E!.deviceInfo());
  expect(d).toMatchObject({ backend: 'wasm', crossOriginIsolated: true });
});

test('auto on SwiftShader (a software adapter): WebAssembly, saying why', async ({ page }) => {
  await open(page);
  const r = await page.evaluate((u) => window.criaE2E!.loadWith(u, {}), MODEL);
  expect(r.error).toBeNull();
  expect(r.info!.backend.kind).toBe('wasm');
  expect(r.info!.backend.reason).toMatch(/only WebGPU adapter .*swiftshader.* is a software one/i);
});

test('auto without WebGPU at all (a Chromium launched without the WebGPU flags): WebAssembly, saying why', async () => {
  const browser = await chromium.launch({ executablePath: findChromium(), args: [...CHROMIUM_QUIET_ARGS], headless: true });
  try {
    const page = await browser.newPage({ baseURL: test.info().project.use.baseURL });
    await open(page);
    const r = await page.evaluate((u) => window.criaE2E!.loadWith(u, {}), MODEL);
    expect(r.error).toBeNull();
    expect(r.info!.backend.kind).toBe('wasm');
    expect(r.info!.backend.reason).toMatch(/^auto: WebAssembly on the CPU, since WebGPU is not usable here/);
    expect(await page.evaluate(() => window.criaE2E!.greedy('Once upon a time', 16))).toMatch(/^, there was a little girl/);
  } finally {
    await browser.close();
  }
});

test('backend webgpu where asked: WebGPU even on SwiftShader', async ({ page }) => {
  await open(page);
  const r = await page.evaluate((u) => window.criaE2E!.loadWith(u, { backend: 'webgpu' }), MODEL);
  expect(r.error).toBeNull();
  expect(r.info!.backend.kind).toBe('webgpu');
  expect(r.info!.backend.reason).toMatch(/WebGPU, as asked/);
});

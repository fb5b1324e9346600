/**
 * The errors a user of the WebGPU engine meets, with their codes and what they say:
 * adapter limits too small for a tensor (`limits`), device lost mid-session
 * (`device-lost`, then a fresh load works), and a browser without WebGPU
 * (`webgpu-unavailable`, launched without the WebGPU flags).
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { CHROMIUM_QUIET_ARGS, findChromium } from '../../src/cli/chromium.ts';

async function open(page: Page) {
  await page.goto('/test/gpu/pages/model.html');
  await page.waitForFunction(() => window.criaModel !== undefined);
}

test('a tensor larger than the adapter allows gives `limits`, naming the limit and the need', async ({ page }) => {
  await open(page);
  // stories260K's largest tensors are 128 KiB; pretend the device binds at most 64 KiB
  const e = await page.evaluate(() => window.criaModel!.limitsError('/fixtures/models/stories260K/stories260K-f32.gguf', 65536));
  expect(e?.code).toBe('limits');
  expect(e?.message).toMatch(/maxStorageBufferBindingSize/);
  expect(e?.message).toMatch(/token_embd\.weight|output\.weight/);
  expect(e?.detail).toMatchObject({ limit: 'maxStorageBufferBindingSize', need: 131072, have: 65536 });
});

test('hostile shapes are refused or cut down before the GPU memory is taken', async ({ page }) => {
  await open(page);
  const r = await page.evaluate(() => window.criaModel!.hostileShapes());
  // head size 4096: the attention kernel takes 256; refused at load, before any weight or cache buffer
  expect(r.head.error?.code).toBe('unsupported-arch');
  expect(r.head.error?.message).toMatch(/4096 dimensions.*at most 256/);
  expect(r.head.largestBuffer).toBeLessThan(1 << 20); // the recorder's own small buffers at most
  // 16 layers × KV dim 4096 × 4096 positions = 2 GiB of cache: with a 1 GiB budget the context is cut, and no buffer near 2 GiB / 16 per layer was made
  expect(r.kv.error).toBeNull();
  expect(r.kv.nCtx).toBeLessThan(4096);
  expect(r.kv.reason).toMatch(/memory budget of 1\.00 GiB/);
  expect(r.kv.largestBuffer).toBeLessThanOrEqual(r.kv.nCtx * 32 * 128 * 4);
});

test('device lost: requests fail with `device-lost` until the model is loaded again', async ({ page }) => {
  await open(page);
  const r = await page.evaluate(() => window.criaModel!.deviceLoss('/fixtures/models/stories260K/stories260K-f32.gguf'));
  expect(r.during?.code).toBe('device-lost');
  expect(r.during?.message).toMatch(/load the model again/);
  // the engine dropped the model with its device, and keeps saying why and what to do
  expect(r.after?.code).toBe('device-lost');
  expect(r.after?.message).toMatch(/load the model again/);
  expect(r.reloaded.length).toBeGreaterThan(0);
});

test('a browser without WebGPU, asked for WebGPU: `webgpu-unavailable` with what to do (Automatic would run on WebAssembly: test/e2e/no-webgpu.spec.ts)', async () => {
  // the same Chromium, without the flags that enable WebGPU on SwiftShader
  const browser = await chromium.launch({ executablePath: findChromium(), args: [...CHROMIUM_QUIET_ARGS], headless: true });
  try {
    const page = await browser.newPage({ baseURL: 'http://127.0.0.1:5199' });
    await page.goto('/test/e2e/pages/engine.html');
    await page.waitForFunction(() => window.criaE2E !== undefined);
    const e = await page.evaluate(() => window.criaE2E!.loadError('/fixtures/models/stories260K/stories260K-f32.gguf', { backend: 'webgpu' }));
    expect(e?.code).toBe('webgpu-unavailable');
    expect(e?.message).toMatch(/Chrome|Edge|chrome:\/\/gpu/);
  } finally {
    await browser.close();
  }
});

/**
 * Cria in a browser without WebGPU: the same Chromium, launched without the flags that turn WebGPU
 * on (as a browser where it is off or missing: no adapter in the page nor in its workers). The app
 * runs every model on WebAssembly (Automatic) and says why: it loads a model, chats, evaluates, and
 * after one visit works offline as the installed PWA (`cria serve`'s build, with its service worker).
 * The widget on a cross-origin page without WebGPU: test/e2e/widget.spec.ts.
 */
import { chromium, expect, test, type Browser, type BrowserContext, type Page, type Request } from '@playwright/test';
import { CHROMIUM_QUIET_ARGS, findChromium } from '../../src/cli/chromium.ts';
import { modelServerClient } from '../server/model-server.ts';
import { APP_BUILT, MODEL_SERVER } from '../server/ports.ts';
import { runHellaswag, send, waitForAnswer } from './app-helpers.ts';
import { watchCsp } from './pwa-support.ts';

const STORIES = `${MODEL_SERVER}/models/models/stories260K/stories260K-f32.gguf`;
const server = modelServerClient(MODEL_SERVER);

let browser: Browser;
test.beforeAll(async () => {
  browser = await chromium.launch({ executablePath: findChromium(), args: [...CHROMIUM_QUIET_ARGS], headless: true });
});
test.afterAll(async () => browser?.close());

async function newPage(baseURL: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL });
  return { context, page: await context.newPage() };
}

/**
 * The premise of every test here: no WebGPU adapter, in the page and (`worker`) in a worker. The worker
 * probe is a blob worker, which the built app's CSP (worker-src 'self') refuses: the dev server's page only.
 */
async function expectNoWebGpu(page: Page, { worker = true } = {}) {
  const probe = async () => !('gpu' in navigator) || (await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter()) === null;
  expect(await page.evaluate(probe), 'no WebGPU adapter in the page').toBe(true);
  if (!worker) return;
  const inWorker = await page.evaluate(async () => {
    const code = `(async () => postMessage(!('gpu' in navigator) || (await navigator.gpu.requestAdapter()) === null))()`;
    const w = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
    return new Promise<boolean>((ok) => (w.onmessage = (e) => ok(e.data as boolean)));
  });
  expect(inWorker, 'no WebGPU adapter in a worker').toBe(true);
}

test('the app loads a model on WebAssembly, chats, evaluates, and says why', async () => {
  test.setTimeout(240_000);
  await server.reset(); // no fault left by an earlier spec on the shared model server
  const { context, page } = await newPage(test.info().project.use.baseURL!);
  try {
    await page.goto('/#/chat');
    await expectNoWebGpu(page);
    // nothing blocks: no "needs WebGPU" message, the chat offers models
    await expect(page.locator('.problem-webgpu')).toHaveCount(0);
    await page.goto(`/?model=${encodeURIComponent(STORIES)}#/chat`);
    await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 90_000 });
    await send(page, 'Once upon a time');
    await waitForAnswer(page);
    expect((await page.locator('cria-chat-message .msg-assistant .msg-body').last().textContent())!.trim().length).toBeGreaterThan(0);

    // the model's facts and the Device page: WebAssembly, threads (the dev server isolates the page), and why
    await page.getByRole('link', { name: 'Models' }).click();
    await expect(page.locator('.route-models').getByTestId('runs-on')).toHaveText(/^the processor \(WebAssembly, \d+ threads?\)$/);
    await page.getByRole('link', { name: 'Device' }).click();
    const device = page.locator('.route-device');
    await expect(device.getByTestId('no-webgpu')).toBeVisible();
    await expect(device.getByTestId('backend-reason')).toHaveText(/^auto: WebAssembly on the CPU, since WebGPU is not usable here/);
    await expect(device.getByTestId('wasm-facts')).toContainText('threads');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    // an evaluation on the loaded model: HellaSwag, 5 items, to the end, with its report
    const { report } = await runHellaswag(page, 5);
    await expect(report).toContainText('wasm');
  } finally {
    await context.close();
  }
});

test('the installed app (PWA) works offline without WebGPU: page from the service worker, model from IndexedDB, chat on WebAssembly', async () => {
  test.setTimeout(240_000);
  await server.reset();
  const { context, page } = await newPage(APP_BUILT);
  try {
    const violations = await watchCsp(page);
    const requests: Request[] = [];
    context.on('request', (r) => requests.push(r));
    await page.goto(`/?model=${encodeURIComponent(STORIES)}`);
    await expectNoWebGpu(page, { worker: false });
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeAttached({ timeout: 90_000 });
    await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 90_000 });
    await send(page, 'Once upon a time');
    await waitForAnswer(page);
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

    // offline: the page, its scripts and the WebAssembly kernels from the service worker; the model from IndexedDB
    await server.reset();
    await context.setOffline(true);
    requests.length = 0;
    const res = await page.reload();
    expect(res?.fromServiceWorker(), 'the page came from the service worker').toBe(true);
    await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 90_000 });
    for (const r of requests) expect((await r.response())?.fromServiceWorker() ?? false, `${r.url()} while offline`).toBe(true);
    expect(requests.some((r) => r.url().endsWith('.wasm')), 'the kernels were requested (and answered by the service worker)').toBe(true);
    await page.getByRole('button', { name: 'New chat' }).click();
    requests.length = 0;
    await send(page, 'The end');
    await waitForAnswer(page);
    expect(requests.map((r) => r.url()), 'requests during the chat').toEqual([]);
    await context.setOffline(false);
    expect((await server.log()).requests, 'the model server saw nothing since going offline').toEqual([]);
    expect(await violations(), 'no Content-Security-Policy violation').toEqual([]);
  } finally {
    await context.close();
  }
});

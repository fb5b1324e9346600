/**
 * What stops Cria gets a designed message that says what to do, never a
 * blank page: a browser without WebGPU (the API removed from the page, and
 * a real Chromium launched without the WebGPU flags, where the engine's
 * worker has none either), and a GPU device lost under a loaded model (the
 * next request fails with `device-lost`; the message offers a reload that
 * brings the chat back).
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { CHROMIUM_QUIET_ARGS, findChromium } from '../../src/cli/chromium.ts';
import type { ModelServer } from '../server/model-server.ts';
import { loseDevice, watchDevices, openWithModel, privateModelServer, send, STORIES_PATH, waitForAnswer } from './app-helpers.ts';

let server: ModelServer;
let model: string;
test.beforeAll(async () => {
  server = await privateModelServer();
  model = `${server.url}${STORIES_PATH}`;
});
test.afterAll(async () => server?.close());

async function expectWebGpuMessage(page: Page) {
  const problem = page.locator('.route-chat .problem-webgpu');
  await expect(problem).toBeVisible();
  await expect(problem.getByRole('heading', { name: 'Cria needs WebGPU' })).toBeVisible();
  await expect(problem).toContainText('Chrome or Edge');
  await expect(problem).toContainText('chrome://gpu');
  await expect(problem.getByRole('button', { name: 'Check again' })).toBeVisible();
  await expect(page.locator('.model-pill')).toHaveText('No WebGPU');
  // nothing to type into that could not be answered
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeHidden();
}

test('no WebGPU in the page: the designed message, and no model is loaded', async ({ page }) => {
  await page.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  await page.goto(`/?model=${encodeURIComponent(model)}`);
  await expectWebGpuMessage(page);
  expect(server.log().requests.filter((r) => r.path.endsWith('.gguf'))).toHaveLength(0);
  // the other pages say it too, and the Models page still works (the catalogue, the cache)
  await page.getByRole('link', { name: 'Models' }).click();
  await expect(page.locator('.route-models .problem-webgpu')).toBeVisible();
  await expect(page.locator('.catalogue-item')).toHaveCount(7);
  await page.getByRole('link', { name: 'Device' }).click();
  await expect(page.locator('.route-device .problem-webgpu')).toBeVisible();
});

test('a Chromium launched without the WebGPU flags: the same message', async () => {
  const browser = await chromium.launch({ executablePath: findChromium(), args: [...CHROMIUM_QUIET_ARGS], headless: true });
  try {
    const page = await browser.newPage({ baseURL: test.info().project.use.baseURL });
    await page.goto(`/?model=${encodeURIComponent(model)}`);
    await expectWebGpuMessage(page);
  } finally {
    await browser.close();
  }
});

test('device lost: the next answer fails with a designed message; "Reload the model" brings the chat back', async ({ page }) => {
  await openWithModel(page, model);
  await watchDevices(page);
  await send(page, 'Once upon a time');
  await waitForAnswer(page);

  expect(await loseDevice(page)).toBe(1);
  await send(page, 'Again');
  const problem = page.locator('.route-chat .problem-lost');
  await expect(problem).toBeVisible();
  await expect(problem.getByRole('heading', { name: 'The GPU was reset' })).toBeVisible();
  await expect(problem).toContainText('Load the model again');
  await expect(page.locator('cria-chat-message .msg-error').last()).toContainText('The GPU was reset.');
  await expect(page.locator('.model-pill')).toHaveText('GPU reset');
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeDisabled();

  await problem.getByRole('button', { name: 'Reload the model' }).click();
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 60_000 });
  await expect(problem).toHaveCount(0);
  // the conversation is intact and the chat works again (the failed answer is left out of the prompt)
  await expect(page.locator('cria-chat-message .msg-user')).toHaveCount(2);
  await page.getByRole('button', { name: 'New chat' }).click();
  await send(page, 'The end');
  await waitForAnswer(page);
});

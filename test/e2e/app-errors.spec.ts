/**
 * What stops Cria gets a designed message that says what to do, never a
 * blank page. A browser without WebGPU runs models on WebAssembly (Automatic,
 * the default; the Device page says why); only when the user chose WebGPU is
 * that a designed message (test/e2e/no-webgpu.spec.ts runs the whole app in a
 * Chromium launched without WebGPU). A GPU device lost under a loaded model:
 * the next request fails with `device-lost`; the message offers a reload that
 * brings the chat back.
 */
import { expect, test, type Page } from '@playwright/test';
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
  await expect(problem.getByRole('heading', { name: 'WebGPU is not available' })).toBeVisible();
  await expect(problem).toContainText('Chrome or Edge');
  await expect(problem).toContainText('chrome://gpu');
  await expect(problem.getByRole('button', { name: 'Check again' })).toBeVisible();
  await expect(problem.getByRole('button', { name: 'Run on the processor instead' })).toBeVisible();
  await expect(page.locator('.model-pill')).toHaveText('No WebGPU');
  // nothing to type into that could not be answered
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeHidden();
}

test('no WebGPU in the page, Automatic: the model runs on WebAssembly, chats, and the Device page says why', async ({ page }) => {
  await page.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  await openWithModel(page, model);
  await send(page, 'Once upon a time');
  await waitForAnswer(page);
  await page.getByRole('link', { name: 'Device' }).click();
  const route = page.locator('.route-device');
  await expect(route.getByTestId('no-webgpu')).toContainText('No WebGPU here.');
  await expect(route.getByTestId('backend-kind')).toHaveText(/^the processor \(WebAssembly, \d+ threads?\)$/);
  await expect(route.getByTestId('wasm-facts')).toContainText('WebAssembly');
  await expect(route.getByTestId('isolation')).toContainText('is cross-origin isolated');
  await expect(route.getByRole('radio', { name: /Automatic/ })).toBeChecked();
});

test('WebGPU chosen (?backend=webgpu) and no WebGPU in the page: the designed message, nothing downloaded; "Run on the processor instead" lifts it', async ({ page }) => {
  await page.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  const seen = server.log().requests.length; // (the model server is this file's: earlier tests loaded from it)
  await page.goto(`/?backend=webgpu&model=${encodeURIComponent(model)}`);
  await expectWebGpuMessage(page);
  expect(server.log().requests.slice(seen).filter((r) => r.path.endsWith('.gguf'))).toHaveLength(0);
  // the other pages say it too, and the Models page still works (the catalogue, the cache)
  await page.getByRole('link', { name: 'Models' }).click();
  await expect(page.locator('.route-models .problem-webgpu')).toBeVisible();
  await expect(page.locator('.catalogue-item')).toHaveCount(10); // models.json's; no MLC entries: WebLLM needs WebGPU
  await expect(page.getByTestId('mlc-note')).toContainText('WebLLM runs them on WebGPU only');
  await page.getByRole('link', { name: 'Device' }).click();
  await expect(page.locator('.route-device .problem-webgpu')).toBeVisible();
  await expect(page.locator('.route-device').getByRole('radio', { name: /The graphics chip/ })).toBeChecked();
  await page.locator('.route-device .problem-webgpu').getByRole('button', { name: 'Run on the processor instead' }).click();
  await expect(page.locator('.route-device .problem-webgpu')).toHaveCount(0);
  await expect(page.locator('.route-device').getByRole('radio', { name: /Automatic/ })).toBeChecked();
  await page.getByRole('link', { name: 'Chat' }).click();
  await expect(page.locator('.route-chat .problem-webgpu')).toHaveCount(0);
});

test('device lost: the next answer fails with a designed message; "Reload the model" brings the chat back', async ({ page }) => {
  // a GPU path (Automatic picks WebAssembly on SwiftShader); nothing switches backend after the loss
  await openWithModel(page, model, '#/chat', { backend: 'webgpu' });
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

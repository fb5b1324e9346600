/**
 * Offline, in the built app (`cria serve` on APP_BUILT): visit once, load
 * stories260K from the model server (another origin) through the app's own
 * `?model=URL`, chat; then take the browser offline and reload. The page must
 * come from the service worker, the model from IndexedDB, and the chat must
 * make no request at all: neither the browser's request log nor the model
 * server's own log sees one. Model downloads never pass through the service
 * worker, and nothing breaks the Content-Security-Policy along the way.
 */
import { expect, test, type Page, type Request } from '@playwright/test';
import { modelServerClient } from '../server/model-server.ts';
import { APP_BUILT, MODEL_SERVER } from '../server/ports.ts';
import { watchCsp } from './pwa-support.ts';

test.use({ baseURL: APP_BUILT });

const server = modelServerClient(MODEL_SERVER);
const STORIES = `${MODEL_SERVER}/models/models/stories260K/stories260K-f32.gguf`;

/** Wait until the model is loaded and the composer accepts a message. */
async function modelReady(page: Page): Promise<void> {
  await expect(page.locator('#composer-input')).toBeVisible({ timeout: 90_000 });
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeEnabled({ timeout: 90_000 });
}

/** Keep answers short: stories260K has a 128-token context (the Settings dialog, per conversation). */
async function shortAnswers(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const field = page.locator('input[name="max_tokens"]');
  await field.fill('16');
  await field.press('Tab');
  await page.getByRole('button', { name: 'Done', exact: true }).click();
}

/** Send one message; resolves with the answer's text once it has finished streaming. */
async function chat(page: Page, text: string): Promise<string> {
  const answers = page.locator('article.msg-assistant');
  const before = await answers.count();
  await page.locator('#composer-input').fill(text);
  await page.locator('#composer-input').press('Enter');
  await expect(answers).toHaveCount(before + 1, { timeout: 60_000 });
  const answer = answers.last();
  await expect(answer).not.toHaveAttribute('data-streaming', { timeout: 90_000 });
  await expect(answer.locator('.msg-error')).toHaveCount(0);
  return (await answer.locator('.msg-body').innerText()).trim();
}

test('after one visit the app opens offline from its service worker and chats with the cached model, with no request at all', async ({ page, context }) => {
  await server.reset();
  const violations = await watchCsp(page);
  const requests: Request[] = [];
  context.on('request', (r) => requests.push(r));

  // (a fresh browser context: no service worker, no cached model)
  // 1. online: the first visit installs the service worker; the model downloads into IndexedDB
  await page.goto(`/?model=${encodeURIComponent(STORIES)}`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await modelReady(page);
  await shortAnswers(page);
  const online = await chat(page, 'Once upon a time');
  expect(online.length).toBeGreaterThan(0);
  const downloads = requests.filter((r) => r.url().startsWith(MODEL_SERVER));
  expect(downloads.length, 'the model came from the model server').toBeGreaterThan(0);
  // ...straight from the network: the service worker neither answered nor fetched them
  for (const r of downloads) {
    expect(r.serviceWorker(), r.url()).toBeNull();
    expect((await r.response())?.fromServiceWorker() ?? false, r.url()).toBe(false);
  }
  expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  const cachedUrls = await page.evaluate(async () => {
    const urls: string[] = [];
    for (const n of await caches.keys()) for (const r of await (await caches.open(n)).keys()) urls.push(r.url);
    return urls;
  });
  expect(cachedUrls.filter((u) => !u.startsWith(APP_BUILT) || u.endsWith('.gguf')), 'no model in Cache Storage').toEqual([]);

  // 2. offline: the page and all its files come from the service worker, the model from IndexedDB
  await server.reset();
  await context.setOffline(true);
  requests.length = 0;
  const res = await page.reload();
  expect(res?.fromServiceWorker(), 'the page came from the service worker').toBe(true);
  await modelReady(page);
  // every request of the reload (the page, its scripts, the engine's worker, icons) was answered by the service worker
  for (const r of requests) {
    const resp = await r.response();
    expect(resp?.fromServiceWorker() ?? false, `${r.url()} while offline`).toBe(true);
  }

  // 3. the chat itself makes no request of any kind
  requests.length = 0;
  const offline = await chat(page, 'Once upon a time');
  expect(offline.length).toBeGreaterThan(0);
  expect(requests.map((r) => r.url()), 'requests during the chat').toEqual([]);
  await context.setOffline(false);
  expect((await server.log()).requests, 'the model server saw nothing since going offline').toEqual([]);

  expect(await violations(), 'no Content-Security-Policy violation, in the page or its worker').toEqual([]);
});

/**
 * The demo model that ships with the app (public/models/cria-demo.gguf, trained by `cria train`), in the
 * built app (`cria serve` on APP_BUILT), as a first-time visitor meets it:
 * - the first screen offers it ("built in, no download") before any download;
 * - after one visit, offline, with the demo never loaded before: the page comes from the service worker,
 *   the demo model from its precache (asked for with ?embedded), and it chats (its story template: no
 *   fallback notice) and evaluates (a HellaSwag run from a file) with no request leaving the browser;
 * - the widget demo page (/widget-demo.html) answers with it.
 */
import { expect, test, type Request } from '@playwright/test';
import { APP_BUILT } from '../server/ports.ts';
import { runHellaswag, send, waitForAnswer } from './app-helpers.ts';
import { watchCsp } from './pwa-support.ts';

test.use({ baseURL: APP_BUILT });

test('first visit offers the built-in demo; offline it loads from the service worker, chats and evaluates with no request', async ({ page, context }) => {
  const violations = await watchCsp(page);
  const requests: Request[] = [];
  context.on('request', (r) => requests.push(r));
  await page.goto('/');
  await page.evaluate(() => navigator.serviceWorker.ready);
  const demo = page.locator('button[data-suggested="cria-demo"]');
  await expect(demo).toContainText('built in, no download');
  // the service worker precaches the demo model (that is how it loads offline); the page asks for nothing of it yet
  expect(requests.filter((r) => /\.gguf(\?|$)/.test(r.url()) && !r.serviceWorker()).map((r) => r.url()), 'nothing of the model is fetched by the page before it is asked for').toEqual([]);

  // offline, the demo never loaded: everything comes from the service worker
  await context.setOffline(true);
  await page.reload();
  requests.length = 0;
  await page.locator('button[data-suggested="cria-demo"]').click();
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 90_000 });
  const model = requests.find((r) => /\/models\/cria-demo\.gguf\?embedded$/.test(r.url()));
  expect(model, 'the demo model was read from the app').toBeTruthy();
  expect((await model!.response())?.fromServiceWorker(), 'from the service worker (offline)').toBe(true);
  // its own template: the message is the start of a story, and no fallback notice
  await send(page, 'Once upon a time');
  await waitForAnswer(page);
  const answer = (await page.locator('cria-chat-message .msg-assistant .msg-body').last().innerText()).trim();
  console.log(`demo model in the app (offline): "Once upon a time${answer.slice(0, 200)}"`);
  expect(answer).toMatch(/[a-z]{2,}( [a-z]{2,}){3}/i);
  await expect(page.getByText('fallback', { exact: false })).toHaveCount(0);
  // and evaluates: 5 HellaSwag items from a file on this device
  const { done } = await runHellaswag(page, 5);
  await expect(done).toContainText('5 of 5');
  const away = requests.filter((r) => !r.url().startsWith(APP_BUILT) && !r.url().startsWith('blob:') && !r.url().startsWith('data:'));
  expect(away.map((r) => r.url()), 'no request left the browser').toEqual([]);
  expect(await violations()).toEqual([]);
});

test('the widget demo page answers with the built-in model', async ({ page }) => {
  await page.goto('/widget-demo.html');
  await expect(page.locator('cria-chat button.send')).toBeEnabled({ timeout: 90_000 });
  await page.locator('cria-chat textarea').fill('Once upon a time');
  await page.locator('cria-chat textarea').press('Enter');
  const answer = page.locator('cria-chat .msg.assistant').last();
  await expect(answer).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  expect((await answer.locator('.content').textContent())!.trim()).toMatch(/[a-z]{2,}( [a-z]{2,}){3}/i);
  await expect(page.locator('cria-chat [data-notice="fallback-template"]')).toHaveCount(0);
});

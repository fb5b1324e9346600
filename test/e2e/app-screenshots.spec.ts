/**
 * Screenshots of every page and state, at a laptop (1280×800) and a phone
 * (390×844) size, attached to the report and written to
 * test-results/screenshots/ for people to look at. Each also checks that
 * nothing spills sideways at phone width. Markdown answers (code blocks,
 * lists, tables) come from a conversation seeded into the app's database,
 * since stories260K only tells stories; that also checks that model output
 * is sanitized (no raw HTML, no images, no scripts).
 */
import { expect, test, type Page } from '@playwright/test';
import type { ModelServer } from '../server/model-server.ts';
import { loseDevice, watchDevices, openWithModel, privateModelServer, seedConversation, send, shoot, STORIES_PATH, VIEWPORTS, waitForAnswer } from './app-helpers.ts';

let server: ModelServer;
let model: string;
test.beforeAll(async () => {
  server = await privateModelServer();
  model = `${server.url}${STORIES_PATH}`;
});
test.beforeEach(() => server.reset());
test.afterAll(async () => server?.close());

const MARKDOWN_ANSWER = [
  'Here is a function that adds two numbers:',
  '',
  '```ts',
  'export function add(a: number, b: number): number {',
  '  return a + b; // <b>not bold</b>',
  '}',
  '```',
  '',
  'Call it with `add(1, 2)`. Things to know:',
  '',
  '1. It is **pure**.',
  '2. See [the handbook](https://www.typescriptlang.org/docs/).',
  '',
  '| input | output |',
  '| --- | --- |',
  '| 1, 2 | 3 |',
  '',
  '<img src="https://example.com/x.png" onerror="window.__pwned = 1"> <script>window.__pwned = 2</script>',
  '![tracking pixel](https://example.com/pixel.png)',
].join('\n');

async function noSidewaysScroll(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, 'the page scrolls sideways').toBeLessThanOrEqual(0);
}

for (const vp of VIEWPORTS) {
  test.describe(`${vp.width}×${vp.height}`, () => {
    test.use({ viewport: vp });

    test('chat: first visit, an answer streamed, Markdown, settings, dark', async ({ page }, testInfo) => {
      // first visit: no model
      await page.goto('/');
      await expect(page.getByText('No model loaded')).toBeVisible();
      await shoot(page, testInfo, 'chat-first-visit');

      // a seeded Markdown answer (sanitized), next to a real streamed one
      await seedConversation(page, 'Adding numbers in TypeScript', [
        { role: 'user', content: 'Write a TypeScript function that adds two numbers.' },
        {
          role: 'assistant',
          content: MARKDOWN_ANSWER,
          model: 'SmolLM2 135M Instruct',
          stats: { promptTokens: 31, completionTokens: 118, prefillTokensPerS: 410, decodeTokensPerS: 42.7, timeToFirstTokenMs: 183 },
        },
      ]);
      await openWithModel(page, model);
      const md = page.locator('.route-chat .markdown').first();
      await expect(md.locator('pre code')).toContainText('return a + b;');
      await expect(md.locator('ol li')).toHaveCount(2);
      await expect(md.locator('table td').first()).toHaveText('1, 2');
      await expect(md.locator('a[href="https://www.typescriptlang.org/docs/"]')).toHaveAttribute('rel', 'noopener noreferrer');
      await expect(md.locator('img, script, [onerror]')).toHaveCount(0);
      await expect(md).toContainText('<b>not bold</b>');
      expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
      await noSidewaysScroll(page);
      await shoot(page, testInfo, 'chat-markdown');

      // at phone width the conversation list is a panel behind a button
      if (vp.width < 700) await page.getByRole('button', { name: 'Conversations' }).click();
      await page.getByRole('button', { name: 'New chat' }).click();
      await send(page, 'Once upon a time');
      await waitForAnswer(page);
      await noSidewaysScroll(page);
      await shoot(page, testInfo, 'chat-answer');

      if (vp.width < 700) {
        await page.getByRole('button', { name: 'Conversations' }).click();
        await expect(page.locator('.chat-sidebar')).toBeVisible();
        await expect(page.getByRole('button', { name: 'Close the conversation list' })).toBeVisible();
        await shoot(page, testInfo, 'chat-conversations-panel');
        await page.keyboard.press('Escape');
        await expect(page.locator('.chat-sidebar')).toBeHidden();
      }

      await page.getByRole('button', { name: 'Settings', exact: true }).click();
      await expect(page.getByRole('dialog', { name: 'Chat settings' })).toBeVisible();
      await shoot(page, testInfo, 'chat-settings');
      await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();

      await page.emulateMedia({ colorScheme: 'dark' });
      await shoot(page, testInfo, 'chat-answer-dark');
    });

    test('models: loaded, downloading, cache', async ({ page }, testInfo) => {
      await openWithModel(page, model, '#/models');
      await expect(page.locator('.cache-table tbody tr')).toHaveCount(1);
      await noSidewaysScroll(page);
      await shoot(page, testInfo, 'models');
      await shoot(page, testInfo, 'models-full', { fullPage: true });

      // a slow download in progress
      server.control({ bytesPerSecond: 100_000 });
      await page.getByRole('textbox', { name: 'Address of a .gguf file' }).fill(`${server.url}/models/models/stories260K/stories260K-f16.gguf`);
      await page.getByRole('button', { name: 'Download and load', exact: true }).click();
      await expect(page.locator('.route-models .load-progress')).toHaveAttribute('data-phase', 'download');
      await expect(page.locator('.route-models .load-progress-detail')).toContainText('left');
      await page.waitForTimeout(300);
      await shoot(page, testInfo, 'models-downloading');
      await page.locator('.route-models .load-progress').getByRole('button', { name: 'Cancel' }).click();

      await page.emulateMedia({ colorScheme: 'dark' });
      await page.evaluate(() => window.scrollTo(0, 0));
      await shoot(page, testInfo, 'models-dark');
    });

    test('device: adapter and measurement', async ({ page }, testInfo) => {
      await page.goto('/#/device');
      await expect(page.locator('.adapter-name')).toBeVisible();
      await page.getByRole('button', { name: 'Measure' }).click();
      await expect(page.getByTestId('measurement').or(page.getByText('Measuring is not available'))).toBeVisible({ timeout: 60_000 });
      await noSidewaysScroll(page);
      await shoot(page, testInfo, 'device');
      await shoot(page, testInfo, 'device-full', { fullPage: true });
      await page.emulateMedia({ colorScheme: 'dark' });
      await shoot(page, testInfo, 'device-dark');
    });

    test('problems: no WebGPU, GPU reset', async ({ page }, testInfo) => {
      await page.addInitScript(() => {
        if (location.hash === '#no-webgpu') delete (Navigator.prototype as { gpu?: unknown }).gpu;
      });
      // WebGPU chosen (Automatic would run on WebAssembly without it)
      await page.goto('/?backend=webgpu#no-webgpu');
      await expect(page.locator('.route-chat .problem-webgpu')).toBeVisible();
      await noSidewaysScroll(page);
      await shoot(page, testInfo, 'no-webgpu');

      // a GPU reset under the model: the next answer fails with `device-lost`
      await openWithModel(page, model, '#/chat', { backend: 'webgpu' });
      await watchDevices(page);
      await send(page, 'Once upon a time');
      await waitForAnswer(page);
      await loseDevice(page);
      await send(page, 'And then?');
      await expect(page.locator('.route-chat .problem-lost')).toBeVisible();
      await noSidewaysScroll(page);
      await shoot(page, testInfo, 'device-lost');
    });
  });
}

/**
 * The app's Models page: the catalogue, download progress (size, rate, ETA)
 * with Cancel and resume, the cache list (complete/partial, delete, delete
 * all), storage and persistence, the warning before a download that will
 * not fit, a model by address, and a local file (picked or dropped, kept in
 * the cache or not).
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import type { ModelServer } from '../server/model-server.ts';
import { openWithModel, privateModelServer, STORIES_F16_FILE, STORIES_F16_PATH, STORIES_PATH, unlabelledControls } from './app-helpers.ts';

let server: ModelServer;
test.beforeAll(async () => {
  server = await privateModelServer();
});
test.beforeEach(() => server.reset());
test.afterAll(async () => server?.close());

const readyCard = (page: Page) => page.getByTestId('model-ready');
const cacheRows = (page: Page) => page.locator('.cache-table tbody tr');

test('the catalogue lists the built-in demo (the default), real GGUF models, ONNX repositories and the MLC builds the adapter runs, with their format and approximate sizes', async ({ page }) => {
  await page.goto('/#/models');
  const items = page.locator('.catalogue-item');
  // models.json's ten (the built-in demo first), then WebLLM's MLC builds this adapter can run (src/app/catalogue-mlc.ts): the
  // four float32 ones without shader-f16 (SwiftShader has none), all eight with it
  const f16 = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter())?.features.has('shader-f16'));
  const mlc = f16 ? 8 : 4;
  await expect(items).toHaveCount(10 + mlc);
  for (const name of ['SmolLM2 135M Instruct', 'SmolLM2 360M Instruct', 'Qwen2.5 0.5B Instruct', 'Qwen2.5 1.5B Instruct', 'Llama 3.2 1B Instruct', 'Phi-3.5 mini Instruct', 'Gemma 2 2B Instruct', 'SmolLM2 135M Instruct · ONNX', 'SmolLM2 360M Instruct · ONNX']) {
    await expect(items.filter({ has: page.getByRole('heading', { name, exact: true }) })).toHaveCount(1);
  }
  // the demo model that ships with the app: first, the default, built in (no download)
  await expect(items.first().getByRole('heading')).toHaveText('Cria demo (TinyStories 230K)');
  await expect(items.first().locator('.badge', { hasText: 'default' })).toBeVisible();
  await expect(items.first().locator('.badge', { hasText: 'built in' })).toBeVisible();
  await expect(items.first().getByRole('button', { name: 'Load Cria demo (TinyStories 230K)' })).toBeVisible();
  await expect(items.nth(1)).toContainText('SmolLM2 135M Instruct');
  await expect(items.nth(1)).toContainText('≈');
  // each entry says its format: the ONNX ones run on onnxruntime-web
  await expect(items.locator('.format-tag', { hasText: 'ONNX' })).toHaveCount(2);
  await expect(items.locator('.format-tag', { hasText: 'GGUF' })).toHaveCount(8);
  const mlcItems = items.filter({ has: page.locator('.format-tag[data-format="mlc"]') });
  await expect(mlcItems).toHaveCount(mlc);
  await expect(mlcItems.locator('.format-tag').first()).toHaveAttribute('title', 'an MLC model, run by WebLLM');
  await expect(mlcItems.filter({ has: page.getByRole('heading', { name: 'Qwen2.5 0.5B Instruct · MLC q4f32_1', exact: true }) })).toHaveCount(1);
  await expect(mlcItems.first()).toContainText('of GPU memory');
  if (!f16) {
    await expect(mlcItems.filter({ hasText: 'f16' })).toHaveCount(0);
    await expect(page.getByTestId('mlc-note')).toContainText('lacks the WebGPU feature shader-f16');
  }
  const catalogue = JSON.parse(readFileSync(new URL('../../public/models.json', import.meta.url), 'utf8')) as { models: { url: string; approxBytes: number; format?: string; onnxModel?: string }[] };
  for (const m of catalogue.models) {
    if ((m as { embedded?: boolean }).embedded) {
      expect(m.url).toBe('models/cria-demo.gguf'); // (its file and hash: test/unit/demo-model.test.ts)
      continue;
    }
    if (m.format === 'onnx') {
      // a repository's base URL and a float32-cache graph (the runtime refuses fp16 / q4f16 ones)
      expect(m.url).toMatch(/^https:\/\/huggingface\.co\/[\w.-]+\/[\w.-]+\/resolve\/main\/$/);
      expect(m.onnxModel).toBe('onnx/model_q4.onnx');
      continue;
    }
    expect(m.url).toMatch(/^https:\/\/huggingface\.co\/[\w.-]+\/[\w.-]+\/resolve\/main\/[\w.-]+\.gguf$/);
    expect(m.url).toMatch(/Q4_K_M|Q8_0/);
  }
  expect(catalogue.models.filter((m) => (m as { default?: boolean }).default).map((m) => m.url)).toEqual(['models/cria-demo.gguf']);
  // an empty cache says so; storage is reported
  await expect(page.getByText('No models are kept in this browser yet.')).toBeVisible();
  await expect(page.getByTestId('storage')).toContainText('used of about');
  expect(await unlabelledControls(page)).toEqual([]);
});

test('a download shows size, rate and time left; Cancel keeps a partial download that resumes', async ({ page }) => {
  server.control({ bytesPerSecond: 150_000 }); // 1.2 MB in about 8 s
  await page.goto('/#/models');
  await page.getByRole('textbox', { name: 'Address of a .gguf file' }).fill(`${server.url}${STORIES_PATH}`);
  await page.getByRole('button', { name: 'Download and load', exact: true }).click();
  const progress = page.locator('.route-models cria-load-progress .load-progress');
  await expect(progress).toHaveAttribute('data-phase', 'download');
  await expect(progress).toContainText('Downloading stories260K-f32.gguf');
  await expect(progress.locator('.load-progress-detail')).toHaveText(/[\d.]+ (kB|MB) of 1\.19 MB · [\d.]+ kB\/s · \d+ s left/);
  await expect(page.locator('.model-pill')).toContainText(/\d+%/);

  await progress.getByRole('button', { name: 'Cancel' }).click();
  await expect(progress).toHaveCount(0);
  const row = cacheRows(page).filter({ hasText: 'stories260K-f32.gguf' });
  await expect(row.locator('.badge')).toHaveText(/partial, \d+%/);

  server.control({ bytesPerSecond: null });
  await row.getByRole('button', { name: /Resume downloading/ }).click();
  await expect(readyCard(page)).toContainText('stories260K-f32.gguf is ready', { timeout: 60_000 });
  await expect(row.locator('.badge')).toHaveText('complete');
});

test('the cache: a loaded model is listed complete with its size and last use; delete and delete all', async ({ page }) => {
  await openWithModel(page, `${server.url}${STORIES_PATH}`, '#/models');
  await expect(readyCard(page)).toContainText('Architecture');
  await expect(readyCard(page)).toContainText('llama');
  await expect(readyCard(page)).toContainText('128 tokens');
  await expect(readyCard(page)).toContainText('none: the chat uses a plain-text template');
  const row = cacheRows(page).filter({ hasText: 'stories260K-f32.gguf' });
  await expect(row).toContainText('1.19 MB');
  await expect(row.locator('.badge')).toHaveText('complete');
  await expect(row).toContainText('just now');
  await expect(page.getByTestId('storage')).toContainText(/of it models/);
  await expect(page.getByTestId('storage')).toContainText(/persistent/);

  // a second model, then delete one, then delete all
  await page.getByRole('textbox', { name: 'Address of a .gguf file' }).fill(`${server.url}${STORIES_F16_PATH}`);
  await page.getByRole('button', { name: 'Download and load', exact: true }).click();
  await expect(readyCard(page)).toContainText('stories260K-f16.gguf is ready', { timeout: 60_000 });
  await expect(cacheRows(page)).toHaveCount(2);

  await row.getByRole('button', { name: /Delete stories260K-f32.gguf/ }).click();
  await row.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(cacheRows(page)).toHaveCount(1);
  await page.getByRole('button', { name: 'Delete all…' }).click();
  await page.getByRole('button', { name: 'Delete all', exact: true }).click();
  await expect(cacheRows(page)).toHaveCount(0);
  await expect(page.getByText('No models are kept in this browser yet.')).toBeVisible();
});

test('a download that will not fit is warned about before it starts', async ({ page }) => {
  // a catalogue entry far larger than any quota
  await page.route('**/models.json', (route) =>
    route.fulfill({
      json: {
        models: [
          {
            id: 'huge',
            name: 'Huge Model',
            publisher: 'Test',
            parameters: '1T',
            quant: 'Q4_K_M',
            approxBytes: 1e16,
            url: `${server.url}/models/huge.gguf`,
            repo: 'test/huge',
            license: 'MIT',
            description: 'Too big for any browser.',
            default: true,
          },
        ],
      },
    }),
  );
  await page.goto('/#/models');
  await page.getByRole('button', { name: 'Download and load Huge Model' }).click();
  const dialog = page.getByRole('dialog', { name: 'This model may not fit' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(/needs about 10000 TB more, but this browser allows this site only about [\d.]+ (MB|GB|TB) more/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator('.model-pill')).toHaveText('No model');
  expect(server.log().requests).toHaveLength(0);
});

test('a local file: picked with "keep in cache", or dropped without it', async ({ page }) => {
  await page.goto('/#/models');
  await page.getByRole('checkbox', { name: /Keep a copy in this browser’s cache/ }).check();
  await page.locator('#model-file').setInputFiles(STORIES_F16_FILE);
  await expect(readyCard(page)).toContainText('stories260K-f16.gguf is ready', { timeout: 60_000 });
  await expect(readyCard(page)).toContainText('from a local file');
  await expect(cacheRows(page).filter({ hasText: 'stories260K-f16.gguf' })).toContainText('local file');

  // drag and drop onto the drop zone (not kept)
  await page.getByRole('checkbox', { name: /Keep a copy/ }).uncheck();
  const bytes = readFileSync(STORIES_F16_FILE).toString('base64');
  const dt = await page.evaluateHandle((b64) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const t = new DataTransfer();
    t.items.add(new File([data], 'dropped-stories.gguf'));
    return t;
  }, bytes);
  await page.locator('.drop-zone').dispatchEvent('dragenter', { dataTransfer: dt });
  await expect(page.locator('.drop-zone')).toHaveAttribute('data-dragging', '');
  await page.locator('.drop-zone').dispatchEvent('drop', { dataTransfer: dt });
  await expect(readyCard(page)).toContainText('dropped-stories.gguf is ready', { timeout: 60_000 });
  await expect(cacheRows(page).filter({ hasText: 'dropped-stories.gguf' })).toHaveCount(0);
});

test('a bad address is refused in the form; a server error is shown with what happened', async ({ page }) => {
  await page.goto('/#/models');
  const url = page.getByRole('textbox', { name: 'Address of a .gguf file' });
  await url.fill('not a url');
  await page.getByRole('button', { name: 'Download and load', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('That is not a web address');
  await url.fill(`${server.url}/models/no-such-model.gguf`);
  await page.getByRole('button', { name: 'Download and load', exact: true }).click();
  await expect(page.locator('cria-model-card .problem')).toContainText('The download failed');
  await expect(page.locator('.model-pill')).toHaveText('Load failed');
});

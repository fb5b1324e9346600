/**
 * The Eval page with an MLC model in the cache (issue 15's "the Eval page's task filtering"), in CI,
 * where no WebLLM model library is at hand, so no MLC model can run:
 * - the model choices say what runs each model (a GGUF: Cria's engine, no tag; an MLC model: WebLLM);
 * - every task kind stays offered for an MLC model, because every kind runs on WebLLM: generation,
 *   judge and speed tasks as usual, multiple-choice and perplexity tasks through one WebLLM step per
 *   scored token (src/runtimes/webllm/sequence.ts: its scores equal Cria's in test/unit/webllm-runtime.test.ts,
 *   and WebLLM's `score` equals Cria's reference on the same weights in test/gpu/webllm.spec.ts when
 *   CRIA_WEBLLM_LIB names a model library). The page says so when a model the
 *   run uses is an MLC model, as a warning when the chosen task is one of the slow kinds, and says
 *   nothing for Cria's own models.
 * The MLC model is put in the storage WebLLM would have filled (the Cache API scopes of
 * src/runtimes/webllm/cache.ts, its record written by that module's own `writeRecord`), so the page
 * lists it through the engine's real cache list.
 */
import { expect, test, type Page } from '@playwright/test';
import type { ModelServer } from '../server/model-server.ts';
import { openWithModel, privateModelServer, STORIES_PATH } from './app-helpers.ts';

let server: ModelServer;
test.beforeAll(async () => {
  server = await privateModelServer();
});
test.afterAll(async () => server?.close());

const MLC_NAME = 'Tiny MLC export';

/** an MLC model as WebLLM and Cria's record of it leave it after a finished load (one 4 KiB shard) */
async function seedMlcModel(page: Page, base: string): Promise<string> {
  return page.evaluate(
    async ({ base, name }) => {
      const url = '/src/runtimes/webllm/cache.ts';
      const cache = await import(/* @vite-ignore */ url);
      const shard = `${base}params_shard_0.bin`;
      const bytes = 4096;
      await (await caches.open(cache.SCOPES.model)).put(shard, new Response(new Uint8Array(bytes), { headers: { 'content-length': String(bytes) } }));
      const id = `mlc:${base}`;
      await cache.writeRecord({ id, name, model: base, modelLib: `${base}lib.wasm`, bytes, shards: [shard], createdAt: Date.now(), complete: true });
      return id;
    },
    { base, name: MLC_NAME },
  );
}

test('an MLC model on the Eval page: labelled WebLLM, every task kind offered, the slow scoring kinds said', async ({ page }) => {
  await openWithModel(page, `${server.url}${STORIES_PATH}`);
  const mlcId = await seedMlcModel(page, `${server.url}/mlc/tiny/`);

  await page.getByRole('link', { name: 'Eval', exact: true }).click();
  const modelA = page.locator('#eval-model-a');
  const mlcOption = modelA.locator('option', { hasText: MLC_NAME });
  await expect(mlcOption).toHaveText(`${MLC_NAME} (4.10 kB, MLC: WebLLM)`);
  await expect(mlcOption).toHaveAttribute('value', mlcId);
  const gguf = modelA.locator('option', { hasText: 'stories260K' });
  await expect(gguf).toHaveCount(1);
  await expect(gguf).not.toContainText('MLC');

  // the loaded GGUF is model A: Cria's engine scores every position in one pass, nothing to say
  const note = page.getByTestId('webllm-note');
  const catalogue = page.locator('#eval-catalogue');
  await catalogue.selectOption('hellaswag');
  await expect(modelA).not.toHaveValue(mlcId);
  await expect(note).toHaveCount(0);

  // the MLC model as model A: a multiple-choice task is offered and said to be slow there
  await modelA.selectOption(mlcId);
  await expect(note).toBeVisible();
  await expect(note).toContainText('one WebLLM step per scored token');
  await expect(note).toHaveClass(/\bwarn\b/);
  await expect(page.getByRole('button', { name: 'Start', exact: true })).toBeEnabled();

  // every kind stays in the task list with an MLC model chosen
  const kinds = await catalogue.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  for (const k of ['hellaswag', 'gsm8k', 'wikitext-2', 'mt-bench', 'mt-bench-pairwise', 'speed']) expect(kinds).toContain(k);

  // perplexity: slow as well; generation and speed: as usual (the note stays, not as a warning)
  await catalogue.selectOption('wikitext-2');
  await expect(note).toHaveClass(/\bwarn\b/);
  for (const k of ['gsm8k', 'speed']) {
    await catalogue.selectOption(k);
    await expect(note).toBeVisible();
    await expect(note).not.toHaveClass(/\bwarn\b/);
  }

  // a pairwise judge task: the note follows model B too
  await modelA.selectOption({ label: (await gguf.textContent())!.trim() });
  await expect(note).toHaveCount(0);
  await catalogue.selectOption('mt-bench-pairwise');
  await page.locator('#eval-model-b').selectOption(mlcId);
  await expect(note).toBeVisible();
  await expect(note).not.toHaveClass(/\bwarn\b/);
  await page.locator('#eval-model-b').selectOption({ label: (await gguf.textContent())!.trim() });
  await expect(note).toHaveCount(0);
});

/**
 * An ONNX model in the app, as users get it (the built app served by `cria serve`, its service
 * worker and Content-Security-Policy): stories260K with a chat template, exported here by Cria's own
 * exporter (`exportOnnx`, as `cria export onnx` does) and served by a real HTTP server on 127.0.0.1.
 * Added through the Models page by its address (download progress, then the cache lists it as one
 * ONNX model), chatted with, evaluated (multiple choice, HellaSwag's first items), then the browser
 * goes offline and the page is reloaded: the app from the service worker (onnxruntime-web's binary
 * kept at its first use), the model from IndexedDB, and a chat without any request.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Request } from '@playwright/test';
import { exportOnnx } from '../../src/export/onnx.ts';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { readGguf, readTensorBytes } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { APP_BUILT } from '../server/ports.ts';
import { runHellaswag, send, waitForAnswer } from './app-helpers.ts';
import { watchCsp } from './pwa-support.ts';

test.use({ baseURL: APP_BUILT });

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

let server: ModelServer;
let root: string;
let repoFiles = 0;

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cria-app-onnx-'));
  const src = await readGguf(bytesSource(new Uint8Array(readFileSync(`${FIXTURES}models/stories260K/stories260K-f32.gguf`))));
  const meta = new Map(src.metadata);
  meta.set('tokenizer.chat_template', gv.str(TEMPLATE));
  const tensors = [];
  for (const t of src.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(src, t) });
  const gguf = writeGguf({ metadata: meta, tensors });
  const ex = await exportOnnx(await readGguf(bytesSource(gguf)), { externalThreshold: 64 << 10 });
  for (const [path, bytes] of ex.files) {
    const at = join(root, 'stories-onnx', path);
    mkdirSync(dirname(at), { recursive: true });
    writeFileSync(at, bytes);
    repoFiles++;
  }
  server = await startModelServer({ port: 0, root });
});
test.afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('an exported ONNX model: added by address (progress, cache), chat, a multiple-choice eval, then offline from the cache', async ({ page, context }) => {
  test.setTimeout(300_000);
  const base = `${server.url}/models/stories-onnx/`;
  const violations = await watchCsp(page);
  const requests: Request[] = [];
  context.on('request', (r) => requests.push(r));

  await page.goto('/#/models');
  await page.evaluate(() => navigator.serviceWorker.ready);
  // slow enough to see the download's progress
  server.control({ bytesPerSecond: 300_000 });
  await page.getByRole('textbox', { name: 'Address of a .gguf file, or an ONNX model' }).fill(base);
  await page.getByRole('button', { name: 'Download and load', exact: true }).click();
  const progress = page.locator('.route-models cria-load-progress .load-progress');
  await expect(progress).toHaveAttribute('data-phase', 'download', { timeout: 30_000 });
  server.control({ bytesPerSecond: null });
  const ready = page.getByTestId('model-ready');
  await expect(ready).toContainText('stories-onnx is ready', { timeout: 90_000 });
  await expect(ready.getByTestId('runtime')).toHaveText('ONNX, run by onnxruntime-web');
  await expect(ready.getByTestId('runs-on')).toHaveText(/^the processor \(WebAssembly, \d+ threads?\)$/); // SwiftShader: auto picks WASM
  await expect(ready).toContainText('downloaded now');
  // the cache: one model, its files counted and their bytes summed
  const row = page.locator('.cache-table tbody tr').filter({ hasText: 'stories-onnx' });
  await expect(row).toHaveCount(1);
  await expect(row.locator('.format-tag')).toHaveText('ONNX');
  await expect(row.locator('.badge')).toHaveText('complete');
  await expect(row.locator('.cache-name')).toHaveText('stories-onnx');
  await expect(row).toContainText(`${repoFiles} files`);

  // chat
  await page.getByRole('link', { name: 'Chat', exact: true }).click();
  await send(page, 'Once upon a time');
  await waitForAnswer(page);
  expect((await page.locator('cria-chat-message .msg-assistant .msg-body').last().textContent())!.trim().length).toBeGreaterThan(0);

  // a multiple-choice eval on it: HellaSwag, 5 items, to the end; the run says the model ran on ONNX
  const { report, done } = await runHellaswag(page, 5);
  await expect(done).toContainText('(ONNX)');
  await expect(report).toContainText('onnxruntime-web (ONNX)');

  // offline: the page from the service worker, onnxruntime-web's binary from its cache, the model from IndexedDB
  server.reset();
  await context.setOffline(true);
  requests.length = 0;
  const res = await page.reload();
  expect(res?.fromServiceWorker(), 'the page came from the service worker').toBe(true);
  await page.getByRole('link', { name: 'Models', exact: true }).click();
  await row.getByRole('button', { name: 'Load stories-onnx' }).click();
  await expect(ready).toContainText('stories-onnx is ready', { timeout: 90_000 });
  await expect(ready).toContainText('from this browser’s cache');
  for (const r of requests) expect((await r.response())?.fromServiceWorker() ?? false, `${r.url()} while offline`).toBe(true);
  expect(requests.some((r) => /ort-wasm-.*\.wasm$/.test(r.url())), 'onnxruntime-web\'s binary was requested (and answered by the service worker)').toBe(true);
  await page.getByRole('link', { name: 'Chat', exact: true }).click();
  await page.getByRole('button', { name: 'New chat' }).click();
  requests.length = 0;
  await send(page, 'The end');
  await waitForAnswer(page);
  expect(requests.map((r) => r.url()), 'requests during the chat').toEqual([]);
  await context.setOffline(false);
  expect(server.log().requests, 'the model server saw nothing since going offline').toEqual([]);
  expect(await violations(), 'no Content-Security-Policy violation').toEqual([]);
});

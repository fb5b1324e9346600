/**
 * Shared by the app specs (test/e2e/app*.spec.ts): a private model server per
 * spec file (test/server/model-server.ts on a free port, so faults injected
 * here never touch other specs, and other specs' faults never touch these),
 * opening the app with a model, and screenshots kept as artifacts.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, type Page, type TestInfo } from '@playwright/test';
import { startModelServer, type ModelServer } from '../server/model-server.ts';

export const STORIES_PATH = '/models/models/stories260K/stories260K-f32.gguf';
export const STORIES_F16_PATH = '/models/models/stories260K/stories260K-f16.gguf';
export const STORIES_F16_FILE = fileURLToPath(new URL('../../../shared/fixtures/models/stories260K/stories260K-f16.gguf', import.meta.url));

export async function privateModelServer(): Promise<ModelServer> {
  return startModelServer({ port: 0 });
}

/** the app with `?model=URL`, waiting until the model is ready */
/**
 * Open the app with `?model=` and wait until it is loaded. `backend`: `?backend=` (this visit only);
 * without it the app's default, Automatic, which on SwiftShader (a software adapter) is WebAssembly:
 * tests of the GPU path itself (device loss, adapter facts, the roofline) ask for `webgpu`.
 */
export async function openWithModel(page: Page, modelUrl: string, hash = '#/chat', opts: { backend?: 'webgpu' | 'wasm' } = {}): Promise<void> {
  await page.goto(`/?model=${encodeURIComponent(modelUrl)}${opts.backend ? `&backend=${opts.backend}` : ''}${hash}`);
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 90_000 });
}

/**
 * On the Eval page: a multiple-choice run of the first `limit` HellaSwag items from the fixture file
 * (llama.cpp's text form), to the end; resolves with the report's locator and the finished run's row.
 */
export async function runHellaswag(page: Page, limit: number) {
  await page.getByRole('link', { name: 'Eval', exact: true }).click();
  await page.getByRole('radio', { name: 'From files on this device' }).check();
  await page.locator('#eval-file').setInputFiles(HELLASWAG_FILE);
  await expect(page.getByTestId('eval-file-status')).toContainText('HellaSwag, 1000 items');
  await page.getByLabel('Limit').fill(String(limit));
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  const report = page.getByTestId('eval-report');
  await expect(report).toBeVisible({ timeout: 120_000 });
  const done = page.locator('.run-row[data-state="done"]');
  await expect(done).toContainText(`${limit} of ${limit}`);
  await expect(report).toContainText('acc_norm');
  return { report, done };
}

export const HELLASWAG_FILE = fileURLToPath(new URL('../../../shared/fixtures/eval/hellaswag/hellaswag_val_first1000.txt', import.meta.url));

/** type a message and send it with Enter */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

/** the last answer's footer with its speed appears when the answer is complete */
export async function waitForAnswer(page: Page, index = -1): Promise<void> {
  const answers = page.locator('cria-chat-message .msg-assistant');
  await expect(index < 0 ? answers.last().locator('.msg-stats') : answers.nth(index).locator('.msg-stats')).toBeVisible({ timeout: 60_000 });
}

const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

/**
 * A screenshot attached to the test's report and kept under
 * test-results/screenshots/<name>-<width>x<height>.png for people to look at.
 */
export async function shoot(page: Page, testInfo: TestInfo, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const size = page.viewportSize();
  const file = `${name}-${size?.width ?? 0}x${size?.height ?? 0}.png`;
  // let fonts, layout and any animation frame settle
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const png = await page.screenshot({ path: `${SHOTS}${file}`, fullPage: opts.fullPage ?? false, animations: 'disabled', caret: 'hide' });
  await testInfo.attach(file, { body: png, contentType: 'image/png' });
}

export const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

/**
 * Controls without an accessible name (a rough check: aria-label(ledby),
 * text, a <label>, title). Returns a description of each offender.
 */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const named = (el: Element): boolean => {
      if (el.getAttribute('aria-label')?.trim()) return true;
      const by = el.getAttribute('aria-labelledby');
      if (by && by.split(/\s+/).some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) {
        if ([...(el.labels ?? [])].some((l) => l.textContent?.trim())) return true;
      }
      if ((el.tagName === 'BUTTON' || el.tagName === 'A') && (el as HTMLElement).innerText?.trim()) return true;
      return !!el.getAttribute('title')?.trim();
    };
    const visible = (el: Element) => {
      const s = getComputedStyle(el);
      return s.display !== 'none' && s.visibility !== 'hidden' && !el.closest('[hidden]') && !(el.closest('dialog') && !el.closest('dialog')!.open);
    };
    return [...document.querySelectorAll('button, a[href], input, textarea, select')]
      .filter((el) => (el as HTMLInputElement).type !== 'hidden' && visible(el) && !named(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

/**
 * Device loss on demand, with nothing changed in the app: evaluated inside
 * the engine's worker, a wrapper around GPUDevice.prototype.createCommandEncoder
 * notes every device that records GPU work; loseDevice() destroys them, as a
 * driver reset would. Call watchDevices() after a model is loaded and before
 * the request that should register its device (any chat answer does).
 */
export async function watchDevices(page: Page): Promise<void> {
  const worker = await engineWorker(page);
  await worker.evaluate(() => {
    const g = globalThis as unknown as { __criaTestDevices?: Set<GPUDevice> };
    if (g.__criaTestDevices) return;
    const devices = (g.__criaTestDevices = new Set<GPUDevice>());
    const create = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, ...args: Parameters<GPUDevice['createCommandEncoder']>) {
      devices.add(this);
      return create.apply(this, args);
    };
  });
}

/** destroy every GPU device seen since watchDevices(); resolves with how many */
export async function loseDevice(page: Page): Promise<number> {
  const worker = await engineWorker(page);
  return worker.evaluate(() => {
    const devices = (globalThis as unknown as { __criaTestDevices?: Set<GPUDevice> }).__criaTestDevices ?? new Set<GPUDevice>();
    const n = devices.size;
    for (const d of devices) d.destroy();
    devices.clear();
    return n;
  });
}

async function engineWorker(page: Page) {
  await expect.poll(() => page.workers().some((w) => /engine\.worker/.test(w.url()))).toBe(true);
  return page.workers().find((w) => /engine\.worker/.test(w.url()))!;
}

export interface SeedMessage {
  role: 'user' | 'assistant';
  content: string;
  model?: string;
  stats?: { promptTokens: number; completionTokens: number; prefillTokensPerS: number; decodeTokensPerS: number; timeToFirstTokenMs: number };
}

/**
 * Put a conversation straight into the app's IndexedDB (`cria-app`), as if it
 * had been written earlier; the app must have opened the database once
 * (any page load does). Reload to see it.
 */
export async function seedConversation(page: Page, title: string, messages: SeedMessage[]): Promise<void> {
  await expect(page.locator('cria-conversation-list')).toBeAttached();
  await page.evaluate(
    ({ title, messages }) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('cria-app');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const now = Date.now();
          const tx = db.transaction('conversations', 'readwrite');
          tx.objectStore('conversations').put({
            id: `seed-${now}`,
            title,
            titled: true,
            systemPrompt: '',
            messages: messages.map((m, i) => ({ ...m, at: now - (messages.length - i) * 1000 })),
            createdAt: now,
            updatedAt: now,
          });
          tx.oncomplete = () => (db.close(), resolve());
          tx.onerror = () => reject(tx.error);
        };
      }),
    { title, messages },
  );
}

/** the page is no wider than the viewport (a phone never scrolls sideways) */
export async function noSidewaysScroll(page: Page): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, 'the page scrolls sideways').toBeLessThanOrEqual(0);
}

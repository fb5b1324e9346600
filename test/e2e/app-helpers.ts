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
export async function openWithModel(page: Page, modelUrl: string, hash = '#/chat'): Promise<void> {
  await page.goto(`/?model=${encodeURIComponent(modelUrl)}${hash}`);
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 90_000 });
}

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

/**
 * The app's chat, end to end on real WebGPU (SwiftShader): a model named in
 * the address loads, answers stream as Markdown, Stop (button and Esc)
 * ends them, Regenerate and edit-and-resend replace them, sampling settings
 * reach the engine (a fixed seed repeats an answer), and conversations
 * survive a reload. stories260K has no chat template, so every answer here
 * goes through the labelled plain-text fallback template.
 */
import { expect, test, type Page } from '@playwright/test';
import type { ModelServer } from '../server/model-server.ts';
import { openWithModel, privateModelServer, send, STORIES_PATH, unlabelledControls, waitForAnswer } from './app-helpers.ts';

let server: ModelServer;
let model: string;
test.beforeAll(async () => {
  server = await privateModelServer();
  model = `${server.url}${STORIES_PATH}`;
});
test.afterAll(async () => server?.close());

const answers = (page: Page) => page.locator('cria-chat-message .msg-assistant');
const userMessages = (page: Page) => page.locator('cria-chat-message .msg-user');

test('?model= loads stories260K; the missing chat template is said, not hidden', async ({ page }) => {
  await openWithModel(page, model);
  await expect(page.locator('.model-pill')).toContainText('stories260K-f32.gguf');
  const notice = page.getByTestId('fallback-notice');
  await expect(notice).toContainText('has no chat template');
  await expect(notice.getByRole('checkbox', { name: /plain-text template/ })).toBeChecked();
  // turning the fallback off stops sending, with the reason
  await notice.getByRole('checkbox').uncheck();
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeDisabled();
  await expect(page.locator('#composer-hint')).toContainText('no chat template');
  await notice.getByRole('checkbox').check();
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeEnabled();
  expect(await unlabelledControls(page)).toEqual([]);
});

test('an answer streams, shows its speed, and the conversation survives a reload', async ({ page }) => {
  // streaming watched over time: on WebGPU (SwiftShader), where stories260K writes a few tokens a
  // second (on WebAssembly the whole answer can arrive between two polls)
  await openWithModel(page, model, '#/chat', { backend: 'webgpu' });
  await send(page, 'Once upon a time');
  await expect(userMessages(page)).toHaveText(/Once upon a time/);

  // the answer grows while it streams (several distinct lengths before the end)
  const body = answers(page).last().locator('.msg-body');
  const lengths = new Set<number>();
  await expect
    .poll(
      async () => {
        lengths.add(((await body.textContent().catch(() => '')) ?? '').length);
        return answers(page).last().locator('.msg-stats').count();
      },
      { timeout: 60_000, intervals: [20] },
    )
    .toBe(1);
  expect(lengths.size).toBeGreaterThan(2);

  const last = answers(page).last();
  await expect(last.locator('.msg-stats')).toHaveText(/[\d.]+ tok\/s · first token [\d.]+ (ms|s) · \d+ tokens/);
  await expect(last.locator('.badge', { hasText: 'plain-text template' })).toBeVisible();
  const text = (await last.locator('.msg-body').textContent())!.trim();
  expect(text.length).toBeGreaterThan(10);
  // the conversation is listed under its first message
  await expect(page.locator('.conv-item .conv-title')).toHaveText(['Once upon a time']);
  expect(await unlabelledControls(page)).toEqual([]);

  await page.reload();
  await expect(page.locator('.conv-item .conv-title')).toHaveText(['Once upon a time']);
  await expect(userMessages(page)).toHaveText(/Once upon a time/);
  await expect(answers(page).last().locator('.msg-body')).toHaveText(text);
  await expect(answers(page).last().locator('.msg-stats')).toBeVisible();
});

test('Stop (the button, or Esc) ends an answer while it streams', async ({ page }) => {
  // on WebGPU (SwiftShader), where an answer streams for seconds: on WebAssembly stories260K can finish
  // a whole answer before the click lands
  await openWithModel(page, model, '#/chat', { backend: 'webgpu' });
  // with the button, once the answer has begun
  await send(page, 'Once upon a time');
  await expect(answers(page).last().locator('.markdown')).not.toBeEmpty({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(answers(page).last().locator('.badge', { hasText: 'stopped' })).toBeVisible();
  await expect(answers(page).last().locator('.msg-stats')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeVisible();

  // with Esc, from the message box, before the first word
  await page.getByRole('button', { name: 'New chat' }).click();
  await send(page, 'The cat sat');
  await expect(page.getByRole('button', { name: 'Stop', exact: true })).toBeVisible();
  await page.getByRole('textbox', { name: 'Message' }).press('Escape');
  await expect(answers(page).last().locator('.badge', { hasText: 'stopped' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeVisible();
  // both conversations are kept, newest first
  await expect(page.locator('.conv-item .conv-title')).toHaveText(['The cat sat', 'Once upon a time']);
});

test('a fixed seed repeats an answer on Regenerate; editing a message resends from there', async ({ page }) => {
  await openWithModel(page, model);
  // settings: a seed and a short answer
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Chat settings' });
  await dialog.getByRole('spinbutton', { name: 'Seed' }).fill('42');
  await dialog.getByRole('spinbutton', { name: 'Seed' }).press('Tab');
  await dialog.getByRole('spinbutton', { name: 'Max tokens' }).fill('24');
  await dialog.getByRole('spinbutton', { name: 'Max tokens' }).press('Tab');
  await dialog.getByRole('textbox', { name: /System prompt/ }).fill('A story for children.');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();

  await send(page, 'Lily and the dog');
  await waitForAnswer(page);
  const first = (await answers(page).last().locator('.msg-body').textContent())!;
  await expect(answers(page).last().locator('.msg-stats')).toContainText(/ (\d|1\d|2[0-4]) tokens$/);

  await answers(page).last().getByRole('button', { name: 'Regenerate this answer' }).click();
  await waitForAnswer(page);
  await expect(answers(page)).toHaveCount(1);
  await expect(answers(page).last().locator('.msg-body')).toHaveText(first);

  // edit the user message and resend: it replaces the message and the answer after it
  await userMessages(page).first().getByRole('button', { name: 'Edit and resend this message' }).click();
  const edit = page.getByRole('textbox', { name: 'Edit your message' });
  await edit.fill('Tom and the cat');
  await edit.press('Enter');
  await expect(userMessages(page)).toHaveCount(1);
  await expect(userMessages(page).first()).toContainText('Tom and the cat');
  await waitForAnswer(page);
  await expect(answers(page)).toHaveCount(1);
  await expect(page.locator('.conv-item .conv-title')).toHaveText(['Tom and the cat']);

  // the settings are remembered across a reload
  await page.reload();
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  await expect(page.getByRole('dialog').getByRole('spinbutton', { name: 'Seed' })).toHaveValue('42');
  await expect(page.getByRole('dialog').getByRole('textbox', { name: /System prompt/ })).toHaveValue('A story for children.');
});

test('conversations: new, rename, delete', async ({ page }) => {
  await openWithModel(page, model);
  await send(page, 'First story');
  await waitForAnswer(page);
  await page.getByRole('button', { name: 'New chat' }).click();
  await expect(page.locator('.chat-title')).toHaveText('New chat');
  await send(page, 'Second story');
  await waitForAnswer(page);
  await expect(page.locator('.conv-item .conv-title')).toHaveText(['Second story', 'First story']);

  await page.getByRole('button', { name: 'Rename “First story”' }).click();
  const name = page.getByRole('textbox', { name: 'New name' });
  await name.fill('The dragon');
  await name.press('Enter');
  await expect(page.locator('.conv-item .conv-title')).toContainText(['The dragon']);

  await page.getByRole('button', { name: 'Delete “Second story”' }).click();
  await page.locator('.conv-item.confirm').getByRole('button', { name: 'Delete' }).click();
  await expect(page.locator('.conv-item .conv-title')).toHaveText(['The dragon']);

  await page.reload();
  await expect(page.locator('.conv-item .conv-title')).toHaveText(['The dragon']);
  await page.getByRole('button', { name: /^The dragon/ }).click();
  await expect(userMessages(page).first()).toContainText('First story');
});

test('keyboard: Shift+Enter is a new line, Enter sends', async ({ page }) => {
  await openWithModel(page, model);
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.click();
  await box.pressSequentially('Line one');
  await box.press('Shift+Enter');
  await box.pressSequentially('line two');
  await expect(box).toHaveValue('Line one\nline two');
  await expect(userMessages(page)).toHaveCount(0);
  await box.press('Enter');
  await expect(userMessages(page).first().locator('.msg-body')).toHaveText('Line one\nline two');
  await waitForAnswer(page);
});

/**
 * The chat's answer format (Settings → Answer format), end to end with stories260K from the model
 * server: a JSON Schema typed into the panel is checked as it is typed (an inline error, and the
 * message box says why nothing can be sent); the answer to a message then parses and validates
 * under the schema (ajv), is shown pretty-printed, and the format stays with the conversation
 * across a reload; an answer cut at Max tokens is marked incomplete; a schema the engine cannot
 * enforce is refused (bad-argument) and shown as other request errors are.
 */
import Ajv from 'ajv';
import { expect, test, type Page } from '@playwright/test';
import type { ModelServer } from '../server/model-server.ts';
import { openWithModel, privateModelServer, send, shoot, STORIES_PATH, unlabelledControls, waitForAnswer } from './app-helpers.ts';

let server: ModelServer;
let model: string;
test.beforeAll(async () => {
  server = await privateModelServer();
  model = `${server.url}${STORIES_PATH}`;
});
test.afterAll(async () => server?.close());

const PERSON = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 1, maximum: 99 }, pet: { enum: ['cat', 'dog', 'none'] } },
  required: ['name', 'age', 'pet'],
  additionalProperties: false,
};

const answers = (page: Page) => page.locator('cria-chat-message .msg-assistant');

async function openSettings(page: Page) {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Chat settings' });
  await expect(dialog).toBeVisible();
  return dialog;
}

test('a JSON Schema set in the panel: checked as typed; the answer parses, validates and is shown formatted; kept with the conversation', async ({ page }, testInfo) => {
  await openWithModel(page, model);
  const dialog = await openSettings(page);
  await dialog.getByRole('radio', { name: /^JSON Schema/ }).check();
  const box = dialog.getByRole('textbox', { name: /^JSON Schema/ });
  // an example to start from
  await expect(box).toHaveValue(/"type": "object"/);
  await dialog.getByRole('textbox', { name: /^Schema name/ }).fill('person');

  // not JSON yet: said under the box, as it is typed
  await box.fill('{"type": "object", "properties": ');
  const problem = dialog.getByTestId('schema-problem');
  await expect(problem).toContainText('This is not valid JSON');
  await expect(problem).toHaveAttribute('role', 'alert');
  await expect(box).toHaveAttribute('aria-invalid', 'true');
  await shoot(page, testInfo, 'chat-format-invalid-schema');
  await dialog.getByRole('button', { name: 'Done' }).click();
  // nothing can be sent, and the message box says why
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeDisabled();
  await expect(page.locator('#composer-hint')).toContainText("answer format cannot be used: This is not valid JSON");

  // the schema, whole
  await openSettings(page);
  await box.fill(JSON.stringify(PERSON, null, 2));
  await expect(problem).not.toContainText('not valid');
  await expect(box).toHaveAttribute('aria-invalid', 'false');
  expect(await unlabelledControls(page)).toEqual([]);
  await shoot(page, testInfo, 'chat-format-settings');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByTestId('format-badge')).toHaveText('JSON Schema “person”');

  await send(page, 'Who is Lily?');
  await waitForAnswer(page);
  const last = answers(page).last();
  const body = last.locator('.json-answer');
  await expect(body).toHaveAttribute('data-json', 'valid');
  const shown = (await body.locator('code').textContent())!;
  const value: unknown = JSON.parse(shown);
  const validate = new Ajv().compile(PERSON);
  expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
  // pretty-printed: one property a line
  expect(shown).toBe(JSON.stringify(value, null, 2));
  await expect(last.locator('.badge', { hasText: 'JSON Schema “person”' })).toBeVisible();
  await shoot(page, testInfo, 'chat-format-answer');

  // the format is the conversation's: still there after a reload, and the answer still formatted
  await page.reload();
  await expect(answers(page).last().locator('.json-answer')).toHaveAttribute('data-json', 'valid');
  await openSettings(page);
  await expect(dialog.getByRole('radio', { name: /^JSON Schema/ })).toBeChecked();
  expect(JSON.parse(await box.inputValue())).toEqual(PERSON);
  await expect(dialog.getByRole('textbox', { name: /^Schema name/ })).toHaveValue('person');

  // a new chat starts as plain text
  await dialog.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: 'New chat' }).click();
  await expect(page.getByTestId('format-badge')).toHaveCount(0);
});

test('cut at Max tokens: marked incomplete; a schema the engine cannot enforce: refused, shown as a request error', async ({ page }) => {
  await openWithModel(page, model);
  const dialog = await openSettings(page);
  await dialog.getByRole('radio', { name: /^JSON Schema/ }).check();
  await dialog.getByRole('textbox', { name: /^JSON Schema/ }).fill(JSON.stringify(PERSON));
  await dialog.getByRole('spinbutton', { name: 'Max tokens' }).fill('4');
  await dialog.getByRole('spinbutton', { name: 'Max tokens' }).press('Tab');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await send(page, 'Who is Tom?');
  await waitForAnswer(page);
  const cut = answers(page).last();
  await expect(cut.locator('.json-answer')).toHaveAttribute('data-json', 'cut');
  await expect(cut.locator('.badge', { hasText: 'cut at the token limit: incomplete JSON' })).toBeVisible();
  const partial = (await cut.locator('.json-answer code').textContent())!;
  expect(partial.length).toBeGreaterThan(0);
  expect(() => JSON.parse(partial)).toThrow();

  // multipleOf is not enforced by the grammar engine: bad-argument before any token, the part named
  await openSettings(page);
  await dialog.getByRole('spinbutton', { name: 'Max tokens' }).fill('64');
  await dialog.getByRole('spinbutton', { name: 'Max tokens' }).press('Tab');
  await dialog.getByRole('textbox', { name: /^JSON Schema/ }).fill('{"type":"object","properties":{"n":{"type":"integer","multipleOf":3}},"required":["n"]}');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await send(page, 'A number');
  const refused = answers(page).last().locator('.msg-error');
  await expect(refused).toBeVisible({ timeout: 60_000 });
  await expect(refused).toContainText('The request was refused.');
  await expect(refused).toContainText('multipleOf');
  await expect(answers(page).last().locator('.json-answer')).toHaveCount(0);
  // the chat goes on: the schema mended, the next message is answered
  await openSettings(page);
  await dialog.getByRole('textbox', { name: /^JSON Schema/ }).fill('{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":9}},"required":["n"],"additionalProperties":false}');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await send(page, 'A number');
  await waitForAnswer(page);
  const n = JSON.parse((await answers(page).last().locator('.json-answer code').textContent())!) as { n: number };
  expect(Object.keys(n)).toEqual(['n']);
  expect(n.n).toBeGreaterThanOrEqual(0);
  expect(n.n).toBeLessThanOrEqual(9);
});

/**
 * The Fine-tune page, end to end in the built app: stories260K (with a small Q/A chat template) kept
 * in the model cache from a local file; a JSON Lines file of examples checked as it is chosen (a bad
 * line is named); a LoRA fine-tune in the engine's worker with live progress (steps, held-out loss,
 * the loss curve), the engine held as for an evaluation; the adapter saved as a file that is a
 * llama.cpp LoRA adapter for the model; and "Use it in chat": the base model loaded with the adapter,
 * whose greedy answer to a trained question now has the trained form ("It is <colour>."; the base model's had not);
 * then "Evaluate base vs tuned": the adapter kept in the model cache, the Eval page with the tuned model
 * chosen and its base run too, on a multiple-choice task of held-out contexts (the tuned model right, the
 * base near chance), the two runs compared.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { readGguf, readTensorBytes } from '../../src/formats/gguf.ts';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { readLoraAdapter } from '../../src/formats/lora.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { noSidewaysScroll, send, shoot, unlabelledControls, waitForAnswer } from './app-helpers.ts';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const TEMPLATE = "{% for m in messages %}{% if m['role'] == 'user' %}Q: {{ m['content'] }}\n{% else %}A: {{ m['content'] }}{{ eos_token }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}A:{% endif %}";
const ANIMALS = ['cat', 'dog', 'bird', 'fish', 'frog'];
const COLORS = ['red', 'blue', 'green', 'pink', 'brown'];
const CONTEXTS = ['Tom ran.', 'It was hot.', 'Sue sang.', 'The sky was blue.', 'Ben ate.', 'Mom slept.', 'A cat sat.', 'The sun set.'];

async function storiesWithTemplate(): Promise<Buffer> {
  const bytes = new Uint8Array(readFileSync(`${FIXTURES}models/stories260K/stories260K-f32.gguf`));
  const src = await readGguf(bytesSource(bytes));
  const meta = new Map(src.metadata);
  meta.set('tokenizer.chat_template', gv.str(TEMPLATE));
  meta.set('general.name', gv.str('stories-qa'));
  const tensors = [];
  for (const t of src.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(src, t) });
  return Buffer.from(writeGguf({ metadata: meta, tensors }));
}

test('fine-tune a cached model on examples: live progress, the adapter saved, then used in chat', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 900 });
  const model = await storiesWithTemplate();
  await page.goto('/?backend=wasm#/models');
  await page.getByRole('checkbox', { name: /Keep a copy in this browser’s cache/ }).check();
  await page.locator('#model-file').setInputFiles({ name: 'stories-qa.gguf', mimeType: 'application/octet-stream', buffer: model });
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 60_000 });

  // the base model's answer, for comparison (greedy: the model's most likely answer)
  await page.goto('/?backend=wasm#/chat');
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Chat settings' });
  await dialog.getByRole('spinbutton', { name: /^Temperature/ }).fill('0');
  await dialog.getByRole('spinbutton', { name: /^Max tokens/ }).fill('8');
  await dialog.getByRole('button', { name: 'Done' }).click();
  const QUESTION = 'What color is the bird?\n\nSue sang.';
  const lastAnswer = page.locator('cria-chat-message .msg-assistant').last();
  await send(page, QUESTION);
  await waitForAnswer(page);
  await expect(lastAnswer).not.toContainText('It is');
  const baseAnswer = await lastAnswer.textContent();

  await page.goto('/?backend=wasm#/finetune');
  await expect(page.getByRole('heading', { name: 'Fine-tune', level: 1 })).toBeVisible();
  await expect(page.locator('#finetune-model option')).toContainText(['stories-qa.gguf']);
  // a bad file is named with its line
  await page.locator('#finetune-file').setInputFiles({ name: 'bad.jsonl', mimeType: 'application/json', buffer: Buffer.from('{"instruction": "x", "output": "y"}\n{"prompt": 1}\n') });
  await expect(page.getByTestId('finetune-file-status')).toContainText('Line 2 of bad.jsonl: neither an Alpaca record');
  await expect(page.getByRole('button', { name: 'Start' })).toBeDisabled();
  const data = CONTEXTS.flatMap((c) => ANIMALS.map((a, i) => JSON.stringify({ instruction: `What color is the ${a}?`, input: c, output: `It is ${COLORS[i]}.` }))).join('\n');
  await page.locator('#finetune-file').setInputFiles({ name: 'animals.jsonl', mimeType: 'application/json', buffer: Buffer.from(data) });
  await expect(page.getByTestId('finetune-file-status')).toContainText('40 examples (Alpaca) in animals.jsonl');
  await page.getByLabel('Learning rate').fill('0.01');
  await page.getByLabel('Epochs').fill('5');
  expect(await unlabelledControls(page)).toEqual([]);
  await page.getByRole('button', { name: 'Start' }).click();

  const live = page.getByTestId('finetune-live');
  await expect(live.getByTestId('finetune-prepared')).toContainText('36 examples to train on, 4 held out', { timeout: 60_000 });
  // the engine is held: the header says so
  await expect(page.locator('.model-pill')).toContainText('Fine-tuning', { timeout: 30_000 });
  await expect(live.getByTestId('finetune-progress')).toContainText(/Step \d+ of 25/);
  await expect(live.locator('svg.loss-chart polyline')).toBeVisible({ timeout: 60_000 });
  await shoot(page, testInfo, 'finetune-running');
  const result = page.getByTestId('finetune-result');
  await expect(result).toBeVisible({ timeout: 240_000 });
  await expect(result.getByRole('heading')).toHaveText('Done');
  // the held-out loss after each of the 5 epochs, live; before → after in the result
  await expect(live.getByTestId('finetune-heldout')).toHaveText(/^Held-out loss: (\d+\.\d+ after epoch \d → ){4}\d+\.\d+ after epoch 5$/);
  const change = await result.getByTestId('finetune-loss-change').textContent();
  const [before, after] = [...change!.matchAll(/(\d+\.\d+)/g)].map((m) => Number(m[1]));
  expect(after!).toBeLessThan(before! / 2);
  await shoot(page, testInfo, 'finetune-done');

  // saved: a llama.cpp LoRA adapter for this model
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('finetune-download').click()]);
  expect(dl.suggestedFilename()).toBe('stories-qa-lora.gguf');
  const adapter = readLoraAdapter(await readGguf(bytesSource(new Uint8Array(readFileSync((await dl.path())!)))), { arch: 'llama', tensors: (await readGguf(bytesSource(new Uint8Array(model)))).tensorsByName });
  expect(adapter.pairs.size).toBe(35);
  expect(adapter.alpha).toBe(16);

  // used in chat: the trained answer to a trained question
  await result.getByRole('button', { name: 'Use it in chat' }).click();
  await expect(result.getByTestId('finetune-applied')).toContainText('stories-qa.gguf is loaded with the adapter (35 matrices, rank 8)', { timeout: 60_000 });
  await page.goto('/?backend=wasm#/chat');
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 60_000 });
  // the same question in a new chat (the sampling settings are kept): now answered in the trained form
  await page.getByRole('button', { name: 'New chat' }).click();
  await send(page, QUESTION);
  await waitForAnswer(page);
  await expect(lastAnswer).toContainText(/It is (red|blue|green|pink|brown)\./);
  expect(await lastAnswer.textContent()).not.toBe(baseAnswer);
  await shoot(page, testInfo, 'finetune-chat');

  // base vs tuned on the Eval page, one click from the result: a multiple-choice task on held-out contexts
  await page.goto('/?backend=wasm#/finetune');
  await page.getByTestId('finetune-evaluate').click();
  await expect(page).toHaveURL(/#\/eval$/, { timeout: 60_000 });
  await expect(page.locator('#eval-model-a')).toHaveValue(/^tuned:/);
  await expect(page.locator('#eval-model-a option:checked')).toHaveText('stories-qa.gguf + stories-qa-lora');
  const alsoBase = page.getByRole('checkbox', { name: /Also evaluate the base model/ });
  await expect(alsoBase).toBeChecked();
  const mc = ['The dog barked.', 'Dad sat.'].flatMap((c) => ANIMALS.map((a, i) => JSON.stringify({ context: `Q: What color is the ${a}?\n\n${c}\nA:`, choices: COLORS.map((k) => ` It is ${k}.`), gold: i }))).join('\n');
  await page.getByRole('radio', { name: 'From files on this device' }).check();
  await page.locator('#eval-file').setInputFiles({ name: 'animal-colours.jsonl', mimeType: 'application/json', buffer: Buffer.from(mc) });
  await expect(page.getByTestId('eval-file-status')).toContainText('10 items');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('.run-row[data-state="done"]')).toHaveCount(2, { timeout: 120_000 });
  const report = page.getByTestId('eval-report');
  await expect(report.locator('thead th')).toContainText(['Metric', /stories-qa-lora/, /stories-qa/]);
  const acc = await report.locator('td[data-metric="acc"]').evaluateAll((tds) => tds.map((t) => Number(t.getAttribute('data-value'))));
  console.log(`base vs tuned on held-out contexts: accuracy tuned ${acc[0]}, base ${acc[1]}`);
  expect(acc).toHaveLength(2);
  // the tuned model answers the trained mapping; the base model is near chance (1 in 5)
  expect(acc[0]!).toBeGreaterThanOrEqual(0.8);
  expect(acc[0]!).toBeGreaterThan(acc[1]! + 0.3);
  await shoot(page, testInfo, 'finetune-base-vs-tuned');

  // on a phone: the page and its result fit the width
  await page.goto('/?backend=wasm#/finetune');
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole('heading', { name: 'Fine-tune', level: 1 })).toBeVisible();
  await noSidewaysScroll(page);
  await shoot(page, testInfo, 'finetune-phone', { fullPage: true });
});

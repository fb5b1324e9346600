/**
 * The Eval page (#/eval), end to end on real WebGPU (SwiftShader) through the app's engine:
 * - a multiple-choice task from a local file (the first 10 HellaSwag items, llama.cpp's text
 *   form) on stories260K, stopped after a few items and resumed: the report's acc / acc_norm and
 *   their standard errors equal a plain computation over the per-item log-likelihoods stored in
 *   IndexedDB (with the gold answers and byte lengths taken from the file itself); stories260K
 *   reads 128 tokens, so items longer than that fail and are counted; exports (JSON, CSV) equal
 *   the library's own rendering of the stored run; an exported report opened as a file is shown
 *   side by side and compared; a run deleted; then perplexity and bits per byte of a text file;
 * - a judged task (2 MT-bench questions, graded 1–10): two stories260K copies with a 2048-token
 *   context (written here, opened as local files kept in the cache), one answering, the other
 *   judging; the page is reloaded while the model answers, the run is listed as interrupted,
 *   resumes, and finishes without redoing stored work; unparseable verdicts are counted and shown
 *   (pairwise runs cost four times the judge's reading, too slow here; their report is checked
 *   on a report file built from known verdicts);
 * - a catalogue task (its URL answered by the test) is downloaded once and kept; two runs of it
 *   are shown side by side and compared;
 * - bad files are named with what is wrong, before anything runs;
 * - screenshots of the report pages (light, dark, phone width) in test-results/screenshots/.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { readGguf, readTensorBytes } from '../../src/formats/gguf.ts';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { buildReport, reportToJson } from '../../src/eval/report.ts';
import type { ItemResult } from '../../src/eval/types.ts';
import type { ModelServer } from '../server/model-server.ts';
import { noSidewaysScroll, openWithModel, privateModelServer, shoot, STORIES_PATH, unlabelledControls } from './app-helpers.ts';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const HELLASWAG = `${FIXTURES}eval/hellaswag/hellaswag_val_first1000.txt`;
const MT_BENCH = ['question.jsonl', 'judge_prompts.jsonl', 'reference_answer_gpt-4.jsonl'].map((f) => `${FIXTURES}eval/mt_bench/${f}`);

let server: ModelServer;
let model: string;
test.beforeAll(async () => {
  server = await privateModelServer();
  model = `${server.url}${STORIES_PATH}`;
});
test.afterAll(async () => server?.close());

interface Stored {
  runs: { id: string; status: string; done: number; total: number }[];
  results: { runId: string; phase: string; id: string; result: Record<string, any> }[];
}

/** the eval library's database, read with plain IndexedDB (the app has created it by then) */
async function stored(page: Page): Promise<Stored> {
  return page.evaluate(
    () =>
      new Promise<Stored>((resolve, reject) => {
        const open = indexedDB.open('cria-eval');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['runs', 'results'], 'readonly');
          const runs = tx.objectStore('runs').getAll();
          const results = tx.objectStore('results').getAll();
          tx.oncomplete = () => (db.close(), resolve({ runs: runs.result, results: results.result }));
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

/** the library's own JSON and CSV of a stored run, computed in the page */
async function libraryExports(page: Page, runId: string): Promise<{ json: string; csv: string }> {
  return page.evaluate(async (id) => {
    const url = '/src/eval/index.ts';
    const m = await import(/* @vite-ignore */ url);
    const store = await m.IdbEvalStore.open();
    const r = await m.reportFromStore(store, id);
    store.close();
    return { json: m.reportToJson(r), csv: m.reportToCsv(r) };
  }, runId);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stderr = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) / Math.sqrt(xs.length);
};
const argmax = (xs: number[]) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

/** llama.cpp's HellaSwag text: context, gold, 4 endings; choices are " " + ending */
function hellaswagItems(n: number): { gold: number; choices: string[] }[] {
  const lines = readFileSync(HELLASWAG, 'utf8').split('\n');
  return Array.from({ length: n }, (_, i) => ({ gold: Number(lines[i * 6 + 1]), choices: lines.slice(i * 6 + 2, i * 6 + 6).map((e) => ' ' + e) }));
}

/** a fixture model with a longer context and another name (stories260K was trained on 128 tokens; the judge prompts need more) */
async function longContext(file: string, name: string): Promise<Buffer> {
  const bytes = new Uint8Array(readFileSync(`${FIXTURES}models/stories260K/${file}`));
  const src = await readGguf(bytesSource(bytes, file));
  const meta = new Map(src.metadata);
  const arch = String(meta.get('general.architecture')?.value);
  meta.set(`${arch}.context_length`, gv.u32(2048));
  meta.set('general.name', gv.str(name));
  const tensors = [];
  for (const t of src.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(src, t) });
  return Buffer.from(writeGguf({ metadata: meta, tensors }));
}

async function downloadText(page: Page, button: string): Promise<{ name: string; text: string }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button, exact: true }).click()]);
  return { name: dl.suggestedFilename(), text: readFileSync((await dl.path())!, 'utf8') };
}

const report = (page: Page) => page.getByTestId('eval-report');
const metricCell = (page: Page, key: string, col = 0) => report(page).locator(`.metrics-table tbody tr[data-metric="${key}"] td`).nth(col);

/** full-page shots start at the top (the header is sticky) */
async function shootPage(page: Page, testInfo: TestInfo, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, testInfo, name, { fullPage: true });
}

test('a HellaSwag file on stories260K, stopped and resumed: acc and acc_norm as computed from the stored items; exports; a report file opened and compared; perplexity of a text', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  // on WebGPU (SwiftShader), where 10 items take tens of seconds: Stop lands mid-run every time (on
  // WebAssembly all 10 can end before the click; test/e2e/no-webgpu.spec.ts evaluates there)
  await openWithModel(page, model, '#/eval', { backend: 'webgpu' });
  await expect(page.getByRole('heading', { level: 1, name: 'Evaluate' })).toBeVisible();
  await page.getByRole('radio', { name: 'From files on this device' }).check();
  await page.locator('#eval-file').setInputFiles(HELLASWAG);
  await expect(page.getByTestId('eval-file-status')).toContainText('HellaSwag, 1000 items');
  await page.getByLabel('Limit').fill('10');
  await expect(page.getByRole('combobox', { name: 'Model', exact: true })).toHaveValue(/.+/);
  expect(await unlabelledControls(page)).toEqual([]);
  await page.getByRole('button', { name: 'Start', exact: true }).click();

  // progress; Stop after the first items (kept as stopped), then Resume to the end
  await expect(page.getByTestId('eval-live')).toBeVisible();
  await expect(page.locator('.model-pill')).toContainText(/Evaluating|Loading/);
  await expect(page.getByTestId('eval-progress')).toContainText(/Items: [1-9] of 10 done/, { timeout: 60_000 });
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  const stopped = page.locator('.run-row[data-state="stopped"]');
  await expect(stopped).toHaveCount(1);
  await expect(page.locator('.eval-ended')).toContainText('Stopped. It can be resumed from the list below.');
  await expect(stopped).toContainText(/[1-9] of 10/);
  await stopped.getByRole('button', { name: /^Resume/ }).click();
  await expect(report(page)).toBeVisible({ timeout: 100_000 });
  await expect(page.getByTestId('eval-live')).toHaveCount(0);
  const row = page.locator('.run-row[data-state="done"]');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('10 of 10');
  const runId = (await row.getAttribute('data-run-id'))!;
  // chat has its model back (the same one: nothing to load again)
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible();
  await expect(page.locator('.model-pill')).toContainText('stories260K-f32.gguf');

  // the figures, computed here from what was stored item by item
  const db = await stored(page);
  const results = db.results.filter((r) => r.runId === runId && r.phase === 'result').map((r) => r.result);
  expect(results).toHaveLength(10);
  const items = hellaswagItems(10);
  const scored: { acc: number; norm: number }[] = [];
  let failed = 0;
  results.forEach((r) => {
    const i = Number(String(r.id).split('/')[1]);
    if (r.error) {
      expect(r.error.code).toBe('context-overflow');
      failed++;
      return;
    }
    const lp = r.choice.logprobs as number[];
    // acc_norm as lm-eval: divided by the choice's length in characters
    const chars = items[i].choices.map((c) => [...c].length);
    scored.push({ acc: argmax(lp) === items[i].gold ? 1 : 0, norm: argmax(lp.map((l, k) => l / chars[k])) === items[i].gold ? 1 : 0 });
  });
  expect(scored.length).toBeGreaterThan(2); // some items are longer than 128 tokens
  const acc = scored.map((s) => s.acc);
  const norm = scored.map((s) => s.norm);
  const expected = { acc: mean(acc), acc_stderr: stderr(acc), acc_norm: mean(norm), acc_norm_stderr: stderr(norm) };
  for (const [key, se] of [['acc', 'acc_stderr'], ['acc_norm', 'acc_norm_stderr']] as const) {
    const cell = metricCell(page, key);
    expect(Number(await cell.getAttribute('data-value'))).toBeCloseTo(expected[key], 12);
    expect(Number(await cell.getAttribute('data-stderr'))).toBeCloseTo(expected[se], 12);
    await expect(cell).toHaveText(`${(expected[key] * 100).toFixed(1)}% ± ${(expected[se] * 100).toFixed(1)}`);
  }
  await expect(metricCell(page, 'errors')).toHaveText(String(failed));
  await expect(report(page).locator('.report-sub')).toContainText(`${scored.length} of 10 items`);
  await expect(report(page).locator('#report-title')).toHaveText('hellaswag · stories260K-f32.gguf');
  // one bar per category (the activity labels of the scored items)
  await expect(report(page).locator('cria-eval-chart svg .group')).not.toHaveCount(0);

  // exports: the library's JSON and CSV of the stored run, and what the table shows
  const lib = await libraryExports(page, runId);
  const json = await downloadText(page, 'Export JSON');
  expect(json.name).toMatch(/^cria-eval-hellaswag-.+\.json$/);
  expect(json.text).toBe(lib.json);
  const parsed = JSON.parse(json.text);
  expect(parsed.metrics.acc).toBeCloseTo(expected.acc, 12);
  expect(parsed.metrics.acc_norm).toBeCloseTo(expected.acc_norm, 12);
  expect(parsed.n).toBe(scored.length);
  expect(parsed.items).toHaveLength(10);
  const csv = await downloadText(page, 'Export CSV');
  expect(csv.name).toMatch(/\.csv$/);
  expect(csv.text).toBe(lib.csv);
  const accRow = csv.text.split('\n').find((l) => /^hellaswag,[^,]*,,\d+,acc,/.test(l))!;
  expect(Number(accRow.split(',').at(-1))).toBeCloseTo(expected.acc, 12);

  // screenshots of the report: light and dark
  await shootPage(page, testInfo, 'eval-report-hellaswag');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shootPage(page, testInfo, 'eval-report-hellaswag-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // the exported file, opened: listed, selected next to the run, compared with it (same figures)
  await page.locator('#eval-open-report').setInputFiles({ name: json.name, mimeType: 'application/json', buffer: Buffer.from(json.text) });
  await expect(page.locator('.run-row.opened')).toContainText(json.name);
  await expect(report(page).locator('.metrics-table thead th')).toHaveCount(3);
  expect(await metricCell(page, 'acc', 1).getAttribute('data-value')).toBe(await metricCell(page, 'acc', 0).getAttribute('data-value'));
  const cmp = report(page).getByTestId('comparison');
  await expect(cmp).toContainText('Same task, items, options and engine version.');
  await expect(cmp.locator('tr', { hasText: 'Accuracy (acc)' }).locator('.delta')).toHaveText('±0.0 pts');
  // a file that is not a report is refused with the reason
  await page.locator('#eval-open-report').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
  await expect(page.getByRole('alert').filter({ hasText: 'notes.json is not a Cria evaluation report' })).toBeVisible();

  // delete the run: gone from the list and from the database
  await row.getByRole('button', { name: /^Delete/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.locator('.run-row[data-state="done"]')).toHaveCount(0);
  expect((await stored(page)).results.filter((r) => r.runId === runId)).toHaveLength(0);

  // perplexity of a text file: ppl and bits per byte as computed from the stored sums of its chunks
  await page.locator('#eval-file').setInputFiles(`${FIXTURES}text/tinystories_sample_cs336.txt`);
  await expect(page.getByTestId('eval-file-status')).toContainText('tinystories_sample_cs336.txt: plain text for perplexity');
  await page.getByLabel('Limit').fill('');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  const pplRow = page.locator('.run-row[data-state="done"]');
  await expect(pplRow).toHaveCount(1, { timeout: 60_000 });
  const pplId = (await pplRow.getAttribute('data-run-id'))!;
  const chunks = (await stored(page)).results.filter((r) => r.runId === pplId && r.phase === 'result').map((r) => r.result.nll as { sum: number; tokens: number; bytes: number; sumSq: number });
  expect(chunks.length).toBeGreaterThan(1);
  const total = (k: 'sum' | 'tokens' | 'bytes' | 'sumSq') => chunks.reduce((a, c) => a + c[k], 0);
  const nll = total('sum') / total('tokens');
  const ppl = Math.exp(nll);
  const pplSe = ppl * Math.sqrt(Math.max(0, total('sumSq') / total('tokens') - nll * nll) / (total('tokens') - 1));
  const bpb = total('sum') / Math.LN2 / total('bytes');
  await expect(report(page).locator('#report-title')).toHaveText('perplexity · stories260K-f32.gguf');
  expect(Number(await metricCell(page, 'ppl').getAttribute('data-value'))).toBeCloseTo(ppl, 9);
  const f3 = (v: number) => (v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v.toFixed(3));
  await expect(metricCell(page, 'ppl')).toHaveText(`${f3(ppl)} ± ${pplSe >= 100 ? pplSe.toFixed(1) : pplSe.toFixed(3)}`);
  expect(Number(await metricCell(page, 'bits_per_byte').getAttribute('data-value'))).toBeCloseTo(bpb, 12);
  await expect(metricCell(page, 'bits_per_byte')).toHaveText(bpb.toFixed(3));
});

test('a catalogue task is downloaded once and kept; two runs of it compared', async ({ page }) => {
  // the catalogue's URL answered here with the fixture (this machine is offline)
  let requests = 0;
  await page.route('https://raw.githubusercontent.com/klosax/**', (route) => {
    requests++;
    return route.fulfill({ status: 200, body: readFileSync(HELLASWAG, 'utf8'), headers: { 'content-type': 'text/plain', 'access-control-allow-origin': '*' } });
  });
  await openWithModel(page, model, '#/eval');
  await page.locator('#eval-catalogue').selectOption('hellaswag-llamacpp');
  await expect(page.locator('.catalogue-info')).toContainText('downloaded when you start');
  await page.getByLabel('Limit').fill('2');
  for (let run = 1; run <= 2; run++) {
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect(page.locator('.run-row[data-state="done"]')).toHaveCount(run, { timeout: 60_000 });
  }
  expect(requests).toBe(1);
  await expect(page.locator('.catalogue-info .badge')).toHaveText('downloaded');
  // both runs selected: side by side and compared, same figures
  await page.locator('.run-row').nth(1).getByRole('checkbox').check();
  await expect(report(page).locator('.metrics-table thead th')).toHaveCount(3);
  await expect(report(page).getByTestId('comparison')).toContainText('Same task, items, options and engine version.');
  await expect(report(page).locator('#report-title')).toHaveText('hellaswag-llamacpp: 2 reports');
});

test('bad files are named with what is wrong before anything runs', async ({ page }) => {
  await page.goto('/#/eval');
  await page.getByRole('radio', { name: 'From files on this device' }).check();
  const status = page.getByTestId('eval-file-status');
  await page.locator('#eval-file').setInputFiles({ name: 'mine.jsonl', mimeType: 'application/json', buffer: Buffer.from('{"context": "a", "choices": [" b", " c"], "gold": 0}\n{"context": oops}\n') });
  await expect(status).toHaveAttribute('role', 'alert');
  await expect(status).toContainText('mine.jsonl, line 2: not valid JSON');
  await page.locator('#eval-file').setInputFiles({ name: 'mine.jsonl', mimeType: 'application/json', buffer: Buffer.from('{"context": "a", "choices": [" b", " c"], "gold": 5}\n') });
  await expect(status).toContainText('"gold" must be the index');
  await page.locator('#eval-file').setInputFiles(MT_BENCH[0]);
  await expect(status).toContainText('judge_prompts.jsonl');
  await page.locator('#eval-file').setInputFiles({ name: 'hs.txt', mimeType: 'text/plain', buffer: Buffer.from('ctx\n7\na\nb\nc\nd\n') });
  await page.locator('#eval-format').selectOption('hellaswag');
  await expect(status).toContainText('the gold index must be 0–3');
  // a good one
  await page.locator('#eval-file').setInputFiles({ name: 'capitals.jsonl', mimeType: 'application/json', buffer: Buffer.from('{"context": "The capital of France is", "choices": [" Paris", " Lyon"], "gold": 0}\n') });
  await page.locator('#eval-format').selectOption('auto');
  await expect(status).toContainText('capitals.jsonl: a Cria task (multiple-choice), 1 items');
});

test('a pairwise report file: win/tie/loss, "A reaches X% of B", unparseable verdicts, A and B side by side per category', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  // known verdicts: per turn the outcome (both orders agree, or null = unparseable) and the single grades of A and B
  type V = 'A' | 'B' | 'tie' | null;
  const rows: [string, string, V[], (number | null)[], (number | null)[]][] = [
    ['81', 'writing', ['A', 'tie'], [8, 6], [6, 6]],
    ['82', 'writing', ['B', null], [4, null], [7, 5]],
    ['111', 'math', ['A', 'A'], [9, 7], [3, 4]],
    ['112', 'math', [null, 'B'], [null, 2], [5, 6]],
  ];
  const results: ItemResult[] = rows.map(([id, category, outcomes, ra, rb]) => ({
    id,
    category,
    ms: 1000,
    judge: {
      answers: ['…', '…'],
      answersB: ['…', '…'],
      ratings: ra,
      ratingsB: rb,
      pairwise: outcomes.map((o) => ({ ab: o, ba: o, outcome: o })),
      verdicts: [],
      judgements: outcomes.flatMap((o, turn) => [
        { turn, mode: 'pair-AB' as const, prompt: 'pair-v2', raw: o ? `[[${o === 'tie' ? 'C' : o}]]` : 'I think both are fine', parsed: o },
        { turn, mode: 'pair-BA' as const, prompt: 'pair-v2', raw: o ? '[[C]]' : 'hmm', parsed: o },
        { turn, mode: 'single-A' as const, prompt: 'single-v1', raw: ra[turn] === null ? 'Good story.' : `[[${ra[turn]}]]`, parsed: ra[turn] },
        { turn, mode: 'single-B' as const, prompt: 'single-v1', raw: `[[${rb[turn]}]]`, parsed: rb[turn] },
      ]),
    },
  }));
  const model = (id: string) => ({ id, architecture: 'llama', parameters: 134_515_008, tensorTypes: { Q8_0: 1 }, nCtx: 2048 });
  const built = buildReport(
    {
      updatedAt: Date.UTC(2025, 0, 2, 3, 4, 5),
      identity: { model: model('model-a'), modelB: model('model-b'), judge: model('judge'), engine: { name: 'cria', version: 'test', backend: 'webgpu' }, seed: 1, task: { name: 'mt-bench-pairwise', version: '1', kind: 'judge-pairwise', source: 'question.jsonl', items: 4 } },
    },
    results,
  );
  // the figures, from the verdicts above
  const outcomes = rows.flatMap((r) => r[2]).filter((o): o is Exclude<V, null> => o !== null);
  let sa = 0;
  let sb = 0;
  for (const r of rows) r[3].forEach((a, t) => a !== null && r[4][t] !== null && ((sa += a), (sb += r[4][t]!)));
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  await page.goto('/#/eval');
  await page.locator('#eval-open-report').setInputFiles({ name: 'pairwise.json', mimeType: 'application/json', buffer: Buffer.from(reportToJson(built)) });
  const summary = report(page).getByTestId('judge-summary');
  await expect(summary.getByTestId('relative-score')).toHaveText(pct(sa / sb));
  await expect(summary).toContainText(`model-a reaches ${pct(sa / sb)} of model-b’s score.`);
  const share = (o: V) => pct(outcomes.filter((x) => x === o).length / outcomes.length);
  await expect(summary).toContainText(`Against model-b, model-a wins ${share('A')}, ties ${share('tie')} and loses ${share('B')} of ${outcomes.length} decided turns.`);
  const all = results.flatMap((r) => r.judge!.judgements!);
  await expect(report(page).getByTestId('unparseable-count')).toHaveText(`${all.filter((j) => j.parsed === null).length} of ${all.length} verdicts could not be read`);
  await expect(report(page).locator('.chart-legend li')).toHaveText(['model-a', 'model-b']);
  await expect(report(page).locator('cria-eval-chart svg .group')).toHaveCount(2);
  await expect(report(page).locator('cria-eval-chart svg .bar')).toHaveCount(4);
  await shootPage(page, testInfo, 'eval-report-pairwise-file');
  // at phone width, dark, with what was measured and the items open
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await report(page).getByText('What was measured').click();
  await report(page).getByText('Items (4)').click();
  await expect(report(page).locator('.items-table tbody tr')).toHaveCount(4);
  await expect(report(page).locator('.identity')).toContainText('model-b');
  await noSidewaysScroll(page);
  await shootPage(page, testInfo, 'eval-report-pairwise-file-dark');
});

test('a judged task (MT-bench, graded 1–10): a reload mid-run loses nothing; the run resumes; unparseable verdicts counted and shown', async ({ page }, testInfo) => {
  test.setTimeout(200_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  // two stories260K copies with a 2048-token context (one answers, the other judges), kept in the model cache from local files
  const files = [
    { name: 'stories260K-2k.gguf', buffer: await longContext('stories260K-f32.gguf', 'stories260K-2k') },
    { name: 'stories260K-f16-2k.gguf', buffer: await longContext('stories260K-f16.gguf', 'stories260K-f16-2k') },
  ];
  // on WebGPU (SwiftShader): each answer takes seconds, so the page is reliably reloaded while the
  // answers are being written. On WebAssembly the whole run can end within the poll before the reload
  // (it did once: the answers phase was over before "1 of 2" was seen).
  await page.goto('/?backend=webgpu#/models');
  await page.getByRole('checkbox', { name: /Keep a copy in this browser’s cache/ }).check();
  for (const f of files) {
    await page.locator('#model-file').setInputFiles({ name: f.name, mimeType: 'application/octet-stream', buffer: f.buffer });
    await expect(page.locator('.model-pill .dot.ok')).toBeVisible({ timeout: 60_000 });
    await expect(page.locator('.model-pill')).toContainText(f.name);
  }

  await page.goto('/?backend=webgpu#/eval');
  await page.getByRole('radio', { name: 'From files on this device' }).check();
  await page.locator('#eval-file').setInputFiles(MT_BENCH);
  await expect(page.getByTestId('eval-file-status')).toContainText('80 questions (mt-bench), judge prompts from judge_prompts.jsonl, reference answers from reference_answer_gpt-4.jsonl');
  await expect(page.locator('#eval-format')).toHaveValue('auto');
  await page.getByLabel('Limit').fill('2');
  const pick = async (select: string, name: string) => {
    const value = await page.locator(`${select} option`, { hasText: name }).first().getAttribute('value');
    await page.locator(select).selectOption(value!);
  };
  await pick('#eval-model-a', 'stories260K-2k.gguf');
  await pick('#eval-judge', 'stories260K-f16-2k.gguf');
  await page.getByLabel('Answer length (tokens)').fill('12');
  await page.getByLabel('Verdict length (tokens)').fill('6');
  // the verdict is constrained to its format by default; unticked, the judge writes freely (as
  // FastChat asks) and this small judge's unreadable verdicts are what the report must count and show
  const constrain = page.getByRole('checkbox', { name: /Constrain the judge’s verdict to its format \(\[\[1\]\] to \[\[10\]\] at the end\)/ });
  await expect(constrain).toBeChecked();
  await constrain.uncheck();
  expect(await unlabelledControls(page)).toEqual([]);
  await shootPage(page, testInfo, 'eval-setup-judge');
  await page.getByRole('button', { name: 'Start', exact: true }).click();

  // the model answers, then the judge grades (SwiftShader reads a judge prompt of 500–700 tokens in
  // seconds); reload once one question is answered
  const live = page.getByTestId('eval-live');
  await expect(live.locator('.live-steps li')).toHaveText(['stories260K-2k.gguf answers', 'stories260K-f16-2k.gguf judges']);
  await expect(live.getByTestId('eval-progress')).toContainText('Answers of model A', { timeout: 60_000 });
  await live.scrollIntoViewIfNeeded();
  await shoot(page, testInfo, 'eval-running');
  await expect(page.locator('[data-testid="eval-live"][data-phase="answers"] [data-testid="eval-progress"]')).toContainText('Answers of model A: 1 of 2', { timeout: 90_000 });
  const before = await stored(page);
  const runId = before.runs[0].id;
  const kept = before.results.filter((r) => r.runId === runId);
  expect(kept.filter((r) => r.phase === 'answer-A').length).toBeGreaterThanOrEqual(1);
  await page.reload();

  // after the reload: listed as interrupted, nothing lost; resume finishes it
  const row = page.locator(`.run-row[data-run-id="${runId}"]`);
  await expect(row).toHaveAttribute('data-state', 'interrupted');
  const afterReload = (await stored(page)).results.filter((r) => r.runId === runId);
  expect(afterReload).toEqual(expect.arrayContaining(kept));
  await row.getByRole('button', { name: /^Resume/ }).click();
  await expect(page.getByTestId('eval-live')).toBeVisible();
  await expect(row).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(report(page)).toBeVisible();

  // stored work was not redone: the answers are the records from before the reload
  const done = (await stored(page)).results.filter((r) => r.runId === runId);
  for (const k of kept) expect(done.find((d) => d.phase === k.phase && d.id === k.id)).toEqual(k);
  const finals = done.filter((r) => r.phase === 'result').map((r) => r.result);
  expect(finals).toHaveLength(2);
  const judgements = finals.flatMap((r) => r.judge.judgements as { parsed: unknown; raw: string; mode: string; constrained?: boolean }[]);
  // one grade per turn
  expect(judgements).toHaveLength(2 * 2);
  expect(new Set(judgements.map((j) => j.mode))).toEqual(new Set(['single-A']));
  const unparseable = judgements.filter((j) => j.parsed === null).length;
  expect(unparseable).toBeGreaterThan(0);
  await expect(report(page).getByTestId('unparseable-count')).toHaveText(`${unparseable} of ${judgements.length} verdicts could not be read`);
  await expect(metricCell(page, 'unparseable')).toHaveText(String(unparseable));
  await expect(metricCell(page, 'verdicts')).toHaveText(String(judgements.length));
  await expect(metricCell(page, 'constrained_verdicts')).toHaveText('0');
  expect(judgements.map((j) => j.constrained)).toEqual(judgements.map(() => false));
  // what the judge wrote is shown
  await report(page).getByText('What stories260K-f16-2k.gguf wrote').click();
  await expect(report(page).locator('.unparseable-list li')).toHaveCount(Math.min(unparseable, 20));
  // the verdicts in words; the chart of the score per category, when any grade was read
  await expect(report(page).getByTestId('judge-summary')).toContainText(unparseable < judgements.length ? 'stories260K-f16-2k.gguf graded stories260K-2k.gguf' : 'stories260K-f16-2k.gguf gave stories260K-2k.gguf no grade that could be read');
  if (unparseable < judgements.length) await expect(report(page).locator('cria-eval-chart svg .group')).toHaveCount(1);
  else await expect(report(page).getByText('Nothing to draw: no category has a figure for “Judge score (1–10)”.')).toBeVisible();
  // the judge is the model left loaded (nothing was loaded for chat before)
  await expect(page.locator('.model-pill .dot.ok')).toBeVisible();
  await expect(page.locator('.model-pill')).toContainText('stories260K-f16-2k.gguf');

  await shootPage(page, testInfo, 'eval-report-judge');
  await page.setViewportSize({ width: 390, height: 844 });
  await noSidewaysScroll(page);
  await shootPage(page, testInfo, 'eval-report-judge');
  await page.emulateMedia({ colorScheme: 'dark' });
  await report(page).scrollIntoViewIfNeeded();
  await shoot(page, testInfo, 'eval-report-judge-dark');
});

test('a report written by `cria eval --out` opens in the page with the same figures', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/cria-eval-report-`);
  const data = `${dir}/capitals.jsonl`;
  writeFileSync(data, [
    '{"context": "The capital of France is", "choices": [" Paris", " Lyon"], "gold": 0}',
    '{"context": "Once upon a time there was a", "choices": [" little girl", " tax audit"], "gold": 0}',
    '{"context": "The cat sat on the", "choices": [" mat", " equation"], "gold": 0}',
  ].join('\n') + '\n');
  const out = `${dir}/report.json`;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  // the CLI on the CPU reference: the same report writer as the WebGPU path (test/unit/cli-eval.test.ts covers that one)
  execFileSync(process.execPath, [`${root}bin/cria.js`, 'eval', '--engine', 'cpu', '--model', `${FIXTURES}models/stories260K/stories260K-f32.gguf`, '--task', 'jsonl', '--data', data, '--out', out], { stdio: 'pipe' });
  const text = readFileSync(out, 'utf8');
  const written = JSON.parse(text) as { n: number; metrics: { acc: number; acc_norm: number } };
  expect(written.n).toBe(3);

  await page.goto('/#/eval');
  await page.locator('#eval-open-report').setInputFiles({ name: 'report.json', mimeType: 'application/json', buffer: Buffer.from(text) });
  await expect(page.locator('.run-row.opened')).toContainText('report.json');
  expect(Number(await metricCell(page, 'acc').getAttribute('data-value'))).toBeCloseTo(written.metrics.acc, 12);
  expect(Number(await metricCell(page, 'acc_norm').getAttribute('data-value'))).toBeCloseTo(written.metrics.acc_norm, 12);
  await shootPage(page, testInfo, 'eval-report-cli');
});

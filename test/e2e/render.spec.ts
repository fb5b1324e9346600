/**
 * Rendering stays cheap (issue 12, item 7), in real Chromium:
 * - hostile nesting (2,500 nested `>`, nested lists, nested emphasis, and
 *   lazily continued quotes) renders to bounded, non-empty, sanitized HTML, with
 *   no exception: the shared renderer (src/ui/markdown.ts) on test/e2e/pages/render.html;
 * - a long answer (3,000 tokens, streamed by the real engine) is not rendered
 *   again on every token, in the app and in the widget: a MutationObserver
 *   counts the updates of the answer's Markdown while the page's clock stands
 *   still and is moved on by the test; there must be at most one per move of
 *   the clock, far fewer than the tokens (counts, not times); the final
 *   rendering is the rendering of the whole text, done once; a stored answer
 *   renders after a reload.
 * The model is made here: a one-layer llama whose weights make every next
 * token `>` (constant embeddings, zero attention and FFN, an output row only
 * for `>`), with a 4,096-token context: the attacker's 2,500 `>` tokens, on a
 * model small enough for SwiftShader.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { syntheticModel, type SyntheticShape } from '../../src/model/synthetic.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { MARKDOWN_MAX_NESTING, STREAM_RENDER_INTERVAL_MS } from '../../src/ui/markdown.ts';
import { openWithModel, send } from './app-helpers.ts';

const ANSWER_TOKENS = 3000;
/**
 * The answer's Markdown may be updated at most once per this many tokens. It
 * follows from the bound per clock move (the test ends, by its timeout, long
 * before 600 moves); a per-token renderer updates it once per token.
 */
const TOKENS_PER_UPDATE = 5;

/** The `>` model: one layer, 64 wide, 4,096 positions; its argmax is always token `<0x3E>` ('>'). */
function quoteModel(): Uint8Array {
  const shape: SyntheticShape = {
    name: 'quote', arch: 'llama', nEmbd: 64, nLayer: 1, nHead: 2, nHeadKv: 1, headDim: 32, nFf: 128,
    nVocab: 320, nCtxTrain: 4096, tied: false, ropeTheta: 10000, rmsEps: 1e-5,
  };
  const layout = syntheticModel(shape, 'F32'); // names, dims and tokenizer metadata; the values are ours
  const GT = 3 + 0x3e; // after <unk>, <s>, </s>: the byte tokens
  const tensors = layout.tensors.map((t) => {
    const v = new Float32Array(t.nElements);
    // embeddings and norms 1, attention and FFN 0: the last hidden state is all ones whatever the input
    if (t.name === 'token_embd.weight' || t.name.endsWith('norm.weight')) v.fill(1);
    // so the logits are 64 for '>' and 0 for every other token
    if (t.name === 'output.weight') v.fill(1, GT * shape.nEmbd, (GT + 1) * shape.nEmbd);
    return { name: t.name, type: t.type, dims: t.dims, data: new Uint8Array(v.buffer) };
  });
  const metadata = new Map(layout.metadata);
  metadata.set('general.name', gv.str('quote'));
  metadata.set('tokenizer.chat_template', gv.str("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"));
  return writeGguf({ metadata, tensors });
}

let dir: string;
let server: ModelServer;
let modelUrl: string;
test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cria-render-'));
  writeFileSync(join(dir, 'quote.gguf'), quoteModel());
  server = await startModelServer({ port: 0, root: dir });
  modelUrl = `${server.url}/models/quote.gguf`;
});
test.afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

const N = 2500;
const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
/** each ends with the word END, which must be in the rendered text */
const HOSTILE: Record<string, string> = {
  'quotes >>>': '>'.repeat(N) + ' END',
  'quotes > > >': '> '.repeat(N) + 'END',
  // a line per level, ended by a lazy continuation line (500 KB: marked took seconds and gigabytes)
  'quotes, one deeper per line': lines(1000, (i) => '>'.repeat(i + 1) + ` line ${i}`) + '\nEND',
  'lists - - -': '- '.repeat(N) + 'END',
  'lists * * *': '* '.repeat(N) + 'END',
  'ordered lists 1. 1.': '1. '.repeat(N) + 'END',
  'quotes and lists > - > -': '> - '.repeat(N / 2) + 'END',
  'lists, one deeper per line': lines(400, (i) => ' '.repeat(2 * i) + '- item') + '\nEND',
  'emphasis ***': '*'.repeat(2 * N) + 'END' + '*'.repeat(2 * N),
  'emphasis *a *a': '*a '.repeat(N) + 'END' + ' a*'.repeat(N),
  'emphasis _a _a': '_a '.repeat(N) + 'END' + ' a_'.repeat(N),
  'strikethrough ~~a': '~~a '.repeat(N) + 'END' + ' a~~'.repeat(N),
  'links [a [a': '[a '.repeat(N) + 'END' + ']'.repeat(N),
  // raw HTML deeper than the nesting bound is still shown as text, never interpreted
  'html under deep quotes': '> '.repeat(N) + '<img src="x" onerror="window.__pwned = 1"> <script>window.__pwned = 2</script> END',
  'html under deep lists': '- '.repeat(N) + '<img src="x" onerror="window.__pwned = 3"> END',
  'html under deep emphasis': '*a '.repeat(N) + '<img src="x" onerror="window.__pwned = 4"> END' + ' a*'.repeat(N),
};

test('hostile nesting renders bounded, non-empty and sanitized, with no exception', async ({ page }) => {
  test.setTimeout(180_000);
  const errors = pageErrors(page);
  await page.goto('/test/e2e/pages/render.html');
  await page.waitForFunction(() => !!window.criaRender);
  const results = await page.evaluate((cases) => {
    const out: Record<string, { error: string | null; htmlChars: number; depth: number; hasEnd: boolean; active: number }> = {};
    for (const [name, text] of Object.entries(cases)) {
      try {
        const html = window.criaRender!.renderMarkdown(text);
        const t = document.createElement('template');
        t.innerHTML = html;
        let depth = 0;
        const walk = (n: Element | DocumentFragment, d: number) => {
          depth = Math.max(depth, d);
          for (const c of n.children) walk(c, d + 1);
        };
        walk(t.content, 0);
        out[name] = {
          error: null,
          htmlChars: html.length,
          depth,
          hasEnd: (t.content.textContent ?? '').includes('END'),
          active: t.content.querySelectorAll('img, script, [onerror]').length,
        };
      } catch (e) {
        out[name] = { error: String(e).slice(0, 200), htmlChars: 0, depth: 0, hasEnd: false, active: 0 };
      }
    }
    return out;
  }, HOSTILE);
  for (const [name, r] of Object.entries(results)) {
    expect.soft(r.error, name).toBeNull();
    expect.soft(r.htmlChars, name).toBeGreaterThan(0);
    expect.soft(r.hasEnd, `${name}: the innermost text is shown`).toBe(true);
    // per level a blockquote, or a list and its item; then a paragraph and inline spans, each bounded
    expect.soft(r.depth, `${name}: element nesting`).toBeLessThanOrEqual(3 * MARKDOWN_MAX_NESTING + 4);
    expect.soft(r.active, `${name}: no image or script`).toBe(0);
  }
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(errors).toEqual([]);
});

/**
 * Counts the updates of assistant answers' Markdown: one per MutationObserver
 * callback that touched an answer's Markdown container (a re-render replaces
 * its children), under `root` (the document, or the widget's shadow root).
 */
async function countMarkdownUpdates(page: Page, where: 'app' | 'widget'): Promise<void> {
  await page.evaluate((where) => {
    const w = window as unknown as { __mdUpdates: number };
    w.__mdUpdates = 0;
    const root = where === 'app' ? document.body : document.querySelector('cria-chat')!.shadowRoot!;
    const selector = where === 'app' ? '.msg-assistant .markdown' : '.msg.assistant .content';
    const inside = (n: Node) => {
      const el = n instanceof Element ? n : n.parentElement;
      return !!el?.closest(selector);
    };
    new MutationObserver((records) => {
      if (records.some((r) => inside(r.target))) w.__mdUpdates++;
    }).observe(root, { subtree: true, childList: true, characterData: true });
  }, where);
}

/** innerHTML without Lit's marker comments, and what rendering `text` once gives, parsed the same way */
async function renderedVersusOnce(page: Page, el: string, text: string, where: 'app' | 'widget') {
  return page.evaluate(
    async ({ el, text, where }) => {
      const root: ParentNode = where === 'app' ? document : document.querySelector('cria-chat')!.shadowRoot!;
      const node = [...root.querySelectorAll(el)].at(-1)!.cloneNode(true) as Element;
      const strip = (n: Node) => {
        for (const c of [...n.childNodes]) c.nodeType === Node.COMMENT_NODE ? c.remove() : strip(c);
      };
      strip(node);
      const url = '/src/ui/markdown.ts';
      const { renderMarkdown } = (await import(/* @vite-ignore */ url)) as typeof import('../../src/ui/markdown.ts');
      const t = document.createElement('template');
      t.innerHTML = renderMarkdown(text);
      return { shown: node.innerHTML.trim(), once: t.innerHTML.trim() };
    },
    { el, text, where },
  );
}

/**
 * Page time (Playwright's clock, installed before the page loads) stands still
 * from here on; the answer's tokens still come, from the engine's worker. Until
 * `done`, every second of real time the page's clock moves on by one render
 * interval. Returns how many times it moved: a throttled renderer renders at
 * most once per move (plus the first token and the final rendering), however
 * many tokens came in between; a per-token renderer renders once per token.
 */
async function tickWhileStreaming(page: Page, done: () => Promise<boolean>): Promise<number> {
  await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
  let ticks = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    if (await done()) return ticks;
    await page.clock.runFor(STREAM_RENDER_INTERVAL_MS);
    ticks++;
  }
}

test('the app: a 3,000-token answer is not rendered again per token; the final rendering is the whole text rendered once', async ({ page }) => {
  test.setTimeout(360_000);
  const errors = pageErrors(page);
  await page.clock.install();
  await page.addInitScript((max) => localStorage.setItem('cria-sampling', JSON.stringify({ max_tokens: max })), ANSWER_TOKENS);
  // streaming watched over time: on WebGPU (SwiftShader), where the answer takes long enough to watch
  await openWithModel(page, modelUrl, '#/chat', { backend: 'webgpu' });
  await countMarkdownUpdates(page, 'app');
  await send(page, 'Quote me.');
  const answer = page.locator('cria-chat-message .msg-assistant').last();
  const ticks = await tickWhileStreaming(page, async () => (await answer.locator('.msg-stats').count()) > 0);
  const tokens = Number(/(\d+) tokens/.exec((await answer.locator('.msg-stats').textContent()) ?? '')?.[1]);
  expect(tokens).toBe(ANSWER_TOKENS);
  const updates = await page.evaluate(() => (window as unknown as { __mdUpdates: number }).__mdUpdates);
  console.log(`app: ${tokens} tokens, ${ticks} clock moves, ${updates} updates of the answer's Markdown`);
  expect(updates).toBeGreaterThan(1); // it did show progress while streaming
  expect(updates).toBeLessThanOrEqual(ticks + 2);
  expect(updates).toBeLessThanOrEqual(tokens / TOKENS_PER_UPDATE);

  // what the app stored is what it shows, rendered once
  await page.clock.resume();
  const stored = await page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('cria-app');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction('conversations').objectStore('conversations').getAll();
          req.onsuccess = () => resolve((req.result as { messages: { role: string; content: string }[] }[]).flatMap((c) => c.messages).filter((m) => m.role === 'assistant').at(-1)?.content ?? '');
          req.onerror = () => reject(req.error);
        };
      }),
  );
  expect(stored).toBe('>'.repeat(ANSWER_TOKENS));
  const r = await renderedVersusOnce(page, '.msg-assistant .markdown', stored, 'app');
  expect(r.shown.length).toBeGreaterThan(0);
  expect(r.shown).toBe(r.once);

  // the stored answer renders after a reload (it rendered empty when the parser overflowed)
  await page.reload();
  await expect(answer.locator('.markdown')).toContainText('>>>>');
  expect((await renderedVersusOnce(page, '.msg-assistant .markdown', stored, 'app')).shown).toBe(r.once);
  expect(errors).toEqual([]);
});

test('the widget: a 3,000-token answer is not rendered again per token; the final rendering is the whole text rendered once', async ({ page }) => {
  test.setTimeout(360_000);
  const errors = pageErrors(page);
  await page.clock.install();
  await page.goto(`/test/e2e/pages/render.html?model=${encodeURIComponent(modelUrl)}&max-tokens=${ANSWER_TOKENS}&backend=webgpu`);
  await expect(page.locator('cria-chat button.send')).toBeEnabled({ timeout: 90_000 });
  await countMarkdownUpdates(page, 'widget');
  await page.evaluate(() => {
    const w = window as unknown as { __tokens: number; __answer: string };
    w.__tokens = 0;
    document.addEventListener('cria-token', (e) => {
      w.__tokens++;
      w.__answer = (e as CustomEvent<{ answer: string }>).detail.answer;
    });
  });
  await page.locator('cria-chat textarea').fill('Quote me.');
  await page.locator('cria-chat textarea').press('Enter');
  const last = page.locator('cria-chat .msg.assistant').last();
  const ticks = await tickWhileStreaming(page, async () => (await last.getAttribute('data-state')) === 'done');
  const { tokens, updates, answer } = await page.evaluate(() => {
    const w = window as unknown as { __tokens: number; __answer: string; __mdUpdates: number };
    return { tokens: w.__tokens, updates: w.__mdUpdates, answer: w.__answer };
  });
  console.log(`widget: ${tokens} tokens, ${ticks} clock moves, ${updates} updates of the answer's Markdown`);
  expect(tokens).toBe(ANSWER_TOKENS);
  expect(answer).toBe('>'.repeat(ANSWER_TOKENS));
  expect(updates).toBeGreaterThan(1);
  expect(updates).toBeLessThanOrEqual(ticks + 2);
  expect(updates).toBeLessThanOrEqual(tokens / TOKENS_PER_UPDATE);
  const r = await renderedVersusOnce(page, '.msg.assistant .content', answer, 'widget');
  expect(r.shown.length).toBeGreaterThan(0);
  expect(r.shown).toBe(r.once);
  expect(errors).toEqual([]);
});

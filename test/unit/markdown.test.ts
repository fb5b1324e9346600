/**
 * The shared Markdown renderer's bounds (src/ui/markdown.ts), in Node: nesting
 * is bounded in the lexer (deeper content stays as plain text, so the parser's
 * recursion cannot overflow and nothing is lost), ordinary Markdown lexes
 * exactly as marked's own, and a streaming answer is rendered at most once per
 * interval however many tokens arrive (MarkdownStream). Sanitizing needs a DOM:
 * test/e2e/render.spec.ts checks renderMarkdown itself in Chromium.
 */
import { Marked, type Token, type Tokens } from 'marked';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lexMarkdown, MarkdownStream, MARKDOWN_MAX_NESTING, STREAM_RENDER_INTERVAL_MS } from '../../src/ui/markdown.ts';

/** deepest chain of child tokens (list items and their tokens count as one level each) */
function depth(tokens: readonly Token[]): number {
  let d = 0;
  for (const t of tokens) {
    const kids: Token[] = [];
    if ('tokens' in t && Array.isArray(t.tokens)) kids.push(...t.tokens);
    if (t.type === 'list') for (const item of t.items as Token[]) kids.push(...((item as { tokens: Token[] }).tokens ?? []));
    d = Math.max(d, 1 + depth(kids));
  }
  return d;
}

/** all text the tokens carry, leaves only */
function leafText(tokens: readonly Token[]): string {
  let s = '';
  for (const t of tokens) {
    const kids = 'tokens' in t && Array.isArray(t.tokens) ? t.tokens : t.type === 'list' ? (t.items as Token[]) : undefined;
    s += kids && kids.length ? leafText(kids) : 'text' in t ? String(t.text) : '';
  }
  return s;
}

const N = 2500;
const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
const HOSTILE: Record<string, string> = {
  'quotes >>>': '>'.repeat(N) + ' END',
  'quotes > > >': '> '.repeat(N) + 'END',
  // a line per level, ended by a lazy continuation line (500 KB: marked took seconds and gigabytes)
  'quotes, one deeper per line': lines(1000, (i) => '>'.repeat(i + 1) + ` line ${i}`) + '\nEND',
  'lists - - -': '- '.repeat(N) + 'END',
  'ordered lists 1. 1.': '1. '.repeat(N) + 'END',
  'quotes and lists > - > -': '> - '.repeat(N / 2) + 'END',
  'lists, one deeper per line': lines(400, (i) => ' '.repeat(2 * i) + '- item') + '\nEND',
  'emphasis ***': '*'.repeat(2 * N) + 'END' + '*'.repeat(2 * N),
  'emphasis *a *a': '*a '.repeat(N) + 'END' + ' a*'.repeat(N),
  'strikethrough ~~a': '~~a '.repeat(N) + 'END' + ' a~~'.repeat(N),
};

describe('lexMarkdown: bounded nesting', () => {
  for (const [name, text] of Object.entries(HOSTILE)) {
    it(`${name}: no exception, bounded depth, the innermost text kept`, () => {
      const tokens = lexMarkdown(text);
      // containers, then a paragraph, then spans, then text
      expect(depth(tokens)).toBeLessThanOrEqual(2 * MARKDOWN_MAX_NESTING + 2);
      expect(leafText(tokens)).toContain('END');
    });
  }

  it('ordinary Markdown, nested less than the bound, lexes exactly as marked does', () => {
    const docs = [
      '# Title\n\nSome *emphasis*, **strong**, ~~gone~~, `code` and a [link](https://example.com).\n\n- one\n- two\n  - nested\n    1. deeper\n\n> a quote\n> > inside\n\n```js\nlet x = 1;\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n',
      '> '.repeat(MARKDOWN_MAX_NESTING) + 'deep but allowed',
      '- '.repeat(MARKDOWN_MAX_NESTING) + 'deep but allowed',
      '> - '.repeat(MARKDOWN_MAX_NESTING / 2) + 'deep but allowed',
      '*a '.repeat(MARKDOWN_MAX_NESTING) + 'x' + ' a*'.repeat(MARKDOWN_MAX_NESTING),
      'Streaming, cut mid-way: **bold and `co',
    ];
    const plain = new Marked({ gfm: true, breaks: false });
    for (const d of docs) expect(lexMarkdown(d)).toEqual(plain.lexer(d));
  });

  it('one level deeper than the bound is plain text: the markers and the HTML in it are text', () => {
    const deepest = (tokens: readonly Token[]): Token => {
      const t = tokens[0];
      const kids = t.type === 'list' ? (t.items[0] as Tokens.ListItem).tokens : 'tokens' in t && t.tokens ? t.tokens : [];
      return kids.length && t.type !== 'paragraph' ? deepest(kids) : t;
    };
    // the 11th quote holds plain text: the 12th marker and the HTML
    const quote = deepest(lexMarkdown('> '.repeat(MARKDOWN_MAX_NESTING + 2) + '<b>x</b>'));
    expect(quote).toMatchObject({ type: 'paragraph', text: '> <b>x</b>' });
    expect((quote as Tokens.Paragraph).tokens).toEqual([{ type: 'text', raw: '> <b>x</b>', text: '> <b>x</b>', escaped: false }]);
    const list = deepest(lexMarkdown('- '.repeat(MARKDOWN_MAX_NESTING + 2) + 'x\n\nmore'));
    expect(list).toMatchObject({ type: 'paragraph', text: '- x' });
  });
});

describe('MarkdownStream: at most one render per interval while streaming', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * A host like the app's message and the widget's entry: it asks for the HTML
   * on every token, and again when the stream calls it back. `msPerToken` of
   * fake time pass between tokens; `renderMs` pass inside each render.
   */
  function stream(tokens: string[], msPerToken: number, renderMs = 0) {
    const rendered: string[] = [];
    const render = (t: string) => {
      rendered.push(t);
      // the stream has no timer pending while it renders, so only the clock moves
      if (renderMs) vi.advanceTimersByTime(renderMs);
      return `<p>${t}</p>`;
    };
    let text = '';
    const shown: string[] = [];
    const md = new MarkdownStream(() => shown.push(md.html(text, true)), render);
    const t0 = performance.now();
    for (const piece of tokens) {
      text += piece;
      shown.push(md.html(text, true));
      vi.advanceTimersByTime(msPerToken);
    }
    const elapsed = performance.now() - t0;
    const final = md.html(text, false);
    return { rendered, shown, final, text, elapsed, md };
  }

  it('3,000 tokens 2 ms apart: renders bounded by the interval, not by the tokens; the final HTML renders the whole text', () => {
    const tokens = Array.from({ length: 3000 }, (_, i) => (i % 50 === 49 ? '\n\n' : 'w '));
    const r = stream(tokens, 2);
    expect(r.rendered.length).toBeLessThanOrEqual(Math.ceil(r.elapsed / STREAM_RENDER_INTERVAL_MS) + 2);
    expect(r.rendered.length).toBeLessThan(tokens.length / 20);
    expect(r.md.renders).toBe(r.rendered.length);
    // the first token shows at once; the last render is of the whole text
    expect(r.shown[0]).toBe('<p>w </p>');
    expect(r.rendered.at(-1)).toBe(r.text);
    expect(r.final).toBe(`<p>${r.text}</p>`);
    // nothing is rendered twice
    expect(new Set(r.rendered).size).toBe(r.rendered.length);
  });

  it('the text that arrived during the interval is rendered when it ends, without another token', () => {
    const rendered: string[] = [];
    let text = 'a';
    const md = new MarkdownStream(() => md.html(text, true), (t) => (rendered.push(t), t));
    md.html(text, true);
    text = 'ab';
    expect(md.html(text, true)).toBe('a'); // not yet
    vi.advanceTimersByTime(STREAM_RENDER_INTERVAL_MS);
    expect(rendered).toEqual(['a', 'ab']);
  });

  it('slow renders space themselves out: at most a fifth of the time goes to rendering', () => {
    const tokens = Array.from({ length: 3000 }, () => '>');
    const r = stream(tokens, 2, 40);
    const renderTime = r.rendered.length * 40;
    expect(renderTime).toBeLessThanOrEqual(r.elapsed / 5 + 2 * 40);
  });

  it('done: the final HTML is rendered at once, and no callback comes after', () => {
    let calls = 0;
    const md = new MarkdownStream(() => calls++, (t) => t);
    md.html('a', true);
    md.html('ab', true);
    expect(md.html('abc', false)).toBe('abc');
    vi.advanceTimersByTime(10 * STREAM_RENDER_INTERVAL_MS);
    expect(calls).toBe(0);
    // unchanged text is not rendered again
    expect(md.html('abc', false)).toBe('abc');
    expect(md.renders).toBe(2);
  });
});

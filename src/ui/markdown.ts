/**
 * Model output → safe HTML. Model text is never inserted as raw HTML:
 * marked renders Markdown with raw HTML blocks escaped (shown as text), and
 * DOMPurify then sanitizes the result (defence in depth): no scripts, event
 * handlers or styles; links only to http(s)/mailto, opened with
 * rel="noopener noreferrer"; no images (loading one would make a network
 * request the user did not ask for, and could leak what the model wrote).
 * Shared by the app and the widget.
 *
 * Rendering stays cheap, whatever the model writes:
 * - Nesting is bounded. marked's lexer recurses once per nested blockquote or
 *   list and once per nested emphasis, so 2,500 `>` tokens overflowed its stack
 *   (the answer rendered empty) and quotes one level deeper per line took
 *   seconds and gigabytes. BoundedLexer stops at MARKDOWN_MAX_NESTING levels of
 *   block containers and, separately, of inline spans: what is deeper is shown
 *   as plain (escaped) text, never dropped.
 * - A streaming answer is rendered at most once per STREAM_RENDER_INTERVAL_MS
 *   (MarkdownStream), not once per token: re-rendering the whole answer on
 *   every token costs time quadratic in its length.
 */
import DOMPurify from 'dompurify';
import { Lexer, Marked, Tokenizer, type MarkedOptions, type Token, type Tokens, type TokensList } from 'marked';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Nested block containers (blockquotes, list items), and separately nested
 * inline spans (emphasis, strong, strikethrough, link text), rendered as
 * Markdown; the content of a deeper one is plain text. Real answers nest a
 * handful of levels (markdown-it's default limit is 20, blocks and spans
 * together); ten quotes or lists deep already fill a narrow widget.
 */
export const MARKDOWN_MAX_NESTING = 10;

/** `src` as one paragraph of plain text, its line breaks kept */
function plainParagraph(src: string): Tokens.Paragraph {
  const text = src.replace(/\n+$/, '');
  const tokens: Token[] = [];
  text.split('\n').forEach((line, i) => {
    if (i > 0) tokens.push({ type: 'br', raw: '\n' });
    tokens.push({ type: 'text', raw: line, text: line, escaped: false }); // the renderer escapes it
  });
  return { type: 'paragraph', raw: src, text, tokens };
}

/**
 * marked's lexer with MARKDOWN_MAX_NESTING; everything else is marked's own.
 * Block depth is the number of container tokenizers (blockquote, list) running:
 * counting calls of blockTokens instead would undercount, because a blockquote
 * that takes in a lazy continuation line lexes its last child again from its
 * own level (quotes one deeper per line, then a lazy line, nested past such a
 * count without end). Inline depth is the number of inlineTokens calls running
 * (one per block's text, one more per span).
 */
class BoundedLexer extends Lexer {
  /** container tokenizers running (see `bounded` below) */
  containers = 0;
  #inline = 0;

  override blockTokens(src: string, tokens?: Token[], lastParagraphClipped?: boolean): Token[];
  override blockTokens(src: string, tokens?: TokensList, lastParagraphClipped?: boolean): TokensList;
  override blockTokens(src: string, tokens: Token[] = [], lastParagraphClipped = false): Token[] {
    if (this.containers <= MARKDOWN_MAX_NESTING) return super.blockTokens(src, tokens, lastParagraphClipped);
    tokens.push(plainParagraph(src));
    return tokens;
  }

  override inlineTokens(src: string, tokens: Token[] = []): Token[] {
    if (this.#inline > MARKDOWN_MAX_NESTING) {
      tokens.push({ type: 'text', raw: src, text: src, escaped: false });
      return tokens;
    }
    this.#inline++;
    try {
      return super.inlineTokens(src, tokens);
    } finally {
      this.#inline--;
    }
  }
}

/** a container tokenizer of marked's, counted while it runs (in `this.lexer`, the BoundedLexer of this parse) */
function bounded<T>(tokenize: (this: Tokenizer, src: string) => T) {
  return function (this: Tokenizer, src: string): T {
    const lexer = this.lexer instanceof BoundedLexer ? this.lexer : undefined;
    if (lexer) lexer.containers++;
    try {
      return tokenize.call(this, src);
    } finally {
      if (lexer) lexer.containers--;
    }
  };
}

// generic in marked's output types, as Hooks.provideLexer wants; this module only renders strings
const lexBounded = <P, R>(src: string, options?: MarkedOptions<P, R>) => new BoundedLexer(options as unknown as MarkedOptions | undefined).lex(src);
const lexInlineBounded = <P, R>(src: string, options?: MarkedOptions<P, R>) => new BoundedLexer(options as unknown as MarkedOptions | undefined).inlineTokens(src);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // raw HTML in the model's output is shown, not interpreted
    html: ({ text }) => escapeHtml(text),
    image: ({ text, href }) => escapeHtml(text || href),
  },
  // marked's own tokenizers, counted; a nested call (a lazy continuation's re-lexing) goes through these too
  tokenizer: {
    blockquote: bounded(Tokenizer.prototype.blockquote),
    list: bounded(Tokenizer.prototype.list),
  },
  hooks: {
    provideLexer() {
      return this.block ? lexBounded : lexInlineBounded;
    },
  },
});

/** The tokens renderMarkdown renders `text` from (for tests: nesting bounds in Node, where DOMPurify has no DOM). */
export function lexMarkdown(text: string): TokensList {
  return lexBounded(text, { ...marked.defaults });
}

let hooked = false;
function purifier(): typeof DOMPurify {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        const href = node.getAttribute('href') ?? '';
        if (!/^(https?:|mailto:)/i.test(href)) node.removeAttribute('href');
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

const ALLOWED_TAGS = ['p', 'br', 'hr', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span', 'input'];
const ALLOWED_ATTR = ['href', 'title', 'class', 'type', 'checked', 'disabled', 'start', 'align'];

/** Markdown (possibly partial, while streaming) → sanitized HTML string. */
export function renderMarkdown(text: string): string {
  let html: string;
  try {
    html = marked.parse(text, { async: false }) as string;
  } catch (e) {
    // not expected with the bounds above; an answer must never render empty, so it is shown as text
    console.error('Cria: this answer could not be rendered as Markdown and is shown as plain text:', e);
    html = `<p>${escapeHtml(text).replace(/\n/g, '<br>')}</p>`;
  }
  return purifier().sanitize(html, { ALLOWED_TAGS, ALLOWED_ATTR, ALLOW_DATA_ATTR: false });
}

/** While an answer streams, its Markdown is rendered at most once per this many milliseconds. */
export const STREAM_RENDER_INTERVAL_MS = 80;
/** ...and no sooner than this many times the last render's own duration after it: rendering takes at most a fifth of the main thread */
const STREAM_RENDER_COST_FACTOR = 4;

/**
 * The rendered Markdown of one answer, as it grows. Its host (the app's
 * message element, a widget entry) asks for the HTML whenever it renders, on
 * every token if it likes: while streaming, the text is rendered again only
 * when the interval since the last render has passed; until then the last
 * HTML is returned and `onDue` is called once the interval ends, so the host
 * renders again and the newest text shows. Once done (`streaming` false) the
 * HTML is always the rendering of the whole text, done once.
 */
export class MarkdownStream {
  /** how many times the text was rendered */
  renders = 0;
  #text: string | undefined;
  #html = '';
  /** performance.now() before which no streaming render happens */
  #due = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly onDue: () => void,
    private readonly render: (text: string) => string = renderMarkdown,
  ) {}

  html(text: string, streaming: boolean): string {
    if (text === this.#text) {
      if (!streaming) this.dispose();
      return this.#html;
    }
    const start = performance.now();
    if (streaming && start < this.#due) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.onDue();
      }, this.#due - start);
      return this.#html;
    }
    this.dispose();
    this.#html = this.render(text);
    this.#text = text;
    this.renders++;
    const end = performance.now();
    this.#due = end + Math.max(STREAM_RENDER_INTERVAL_MS, STREAM_RENDER_COST_FACTOR * (end - start));
    return this.#html;
  }

  /** no callback after this (the answer is done, or its host went away) */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

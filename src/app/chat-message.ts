/**
 * <cria-chat-message>: one message of a conversation. An assistant answer is
 * model output: it is rendered as Markdown through src/ui/markdown.ts
 * (sanitized; never inserted as raw HTML) as it streams, at most once per
 * STREAM_RENDER_INTERVAL_MS however fast tokens come (MarkdownStream), and
 * once more in full when it is done, with its speed and time to first token. A user message can be edited
 * and sent again; the last answer can be regenerated. An answer asked for as JSON (the conversation's
 * answer format) is shown as JSON: as it streams, then pretty-printed in a code block; one cut at the
 * token limit says it is incomplete.
 */
import { html, nothing, type PropertyValues } from 'lit';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';
import { MarkdownStream } from '../ui/markdown.ts';
import { LightElement } from './light-element.ts';
import { formatMs } from './format.ts';
import type { StoredMessage } from './conversations.ts';
import { answerFormatLabel, readJsonAnswer } from './answer-format.ts';

const ERROR_TITLES: Record<string, string> = {
  'device-lost': 'The GPU was reset.',
  'context-overflow': 'The conversation is too long.',
  'bad-argument': 'The request was refused.',
};

export class CriaChatMessage extends LightElement {
  static override properties = {
    message: { attribute: false },
    index: { type: Number },
    streaming: { type: Boolean },
    canRegenerate: { type: Boolean },
    canEdit: { type: Boolean },
    editing: { state: true },
    copied: { state: true },
  };
  declare message: StoredMessage;
  declare index: number;
  declare streaming: boolean;
  declare canRegenerate: boolean;
  declare canEdit: boolean;
  declare editing: boolean;
  declare copied: boolean;
  /** the rendered Markdown: parsed again only when the content changed, and while streaming at most once per interval */
  private md = new MarkdownStream(() => this.requestUpdate());

  constructor() {
    super();
    this.index = 0;
    this.streaming = false;
    this.canRegenerate = false;
    this.canEdit = false;
    this.editing = false;
    this.copied = false;
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('editing') && this.editing) {
      const ta = this.querySelector<HTMLTextAreaElement>('textarea');
      ta?.focus();
      ta?.setSelectionRange(ta.value.length, ta.value.length);
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.md.dispose();
  }

  private markdown(content: string): string {
    return this.md.html(content, this.streaming);
  }

  override render() {
    const m = this.message;
    if (!m) return nothing;
    const who = m.role === 'user' ? 'You' : (m.model ?? 'Assistant');
    return html`<article class="msg msg-${m.role}" aria-label="${m.role === 'user' ? 'Your message' : 'Answer'}" ?data-streaming=${this.streaming}>
      <header class="msg-who">${who}</header>
      ${m.role === 'user' ? this.userBody(m) : this.assistantBody(m)}
    </article>`;
  }

  private userBody(m: StoredMessage) {
    if (this.editing) {
      return html`<form class="msg-edit" @submit=${this.submitEdit}>
        <label class="visually-hidden" for="edit-${this.index}">Edit your message</label>
        <textarea id="edit-${this.index}" rows="3" .value=${m.content} @keydown=${this.editKeys}></textarea>
        <div class="msg-actions">
          <button type="submit" class="button primary small">Send</button>
          <button type="button" class="button small" @click=${() => (this.editing = false)}>Cancel</button>
          <span class="muted small">Sending again replaces everything after this message.</span>
        </div>
      </form>`;
    }
    return html`<div class="msg-body user-text">${m.content}</div>
      ${this.canEdit
        ? html`<div class="msg-actions">
            <button type="button" class="button ghost small" @click=${() => (this.editing = true)} aria-label="Edit and resend this message">Edit</button>
          </div>`
        : nothing}`;
  }

  private assistantBody(m: StoredMessage) {
    const waiting = this.streaming && !m.content;
    return html`${waiting
        ? html`<div class="msg-body"><span class="typing" aria-label="Thinking"><span></span><span></span><span></span></span></div>`
        : m.content
          ? m.format
            ? this.jsonBody(m)
            : html`<div class="msg-body markdown">${unsafeHTML(this.markdown(m.content))}</div>`
          : nothing}
      ${m.error ? html`<div class="msg-error" role="alert"><strong>${ERROR_TITLES[m.error.code] ?? 'The answer failed.'}</strong> ${m.error.message}</div>` : nothing}
      ${this.streaming ? nothing : this.footer(m)}`;
  }

  /** a JSON answer: as written while it streams, then formatted; never Markdown (its text is data) */
  private jsonBody(m: StoredMessage) {
    if (this.streaming) return html`<div class="msg-body markdown json-answer"><pre><code class="language-json">${m.content}</code></pre></div>`;
    const read = readJsonAnswer(m.content, m.finish, !!m.stopped);
    if ('pretty' in read) return html`<div class="msg-body markdown json-answer" data-json="valid"><pre><code class="language-json">${read.pretty}</code></pre></div>`;
    return html`<div class="msg-body markdown json-answer" data-json=${read.reason}><pre><code class="language-json">${read.raw}</code></pre></div>
      ${read.reason === 'cut'
        ? html`<p class="msg-note small" role="note">The JSON above is incomplete: raise Max tokens in Settings and regenerate for a whole answer.</p>`
        : read.reason === 'invalid'
          ? html`<p class="msg-note small" role="note">This answer does not parse as JSON.</p>`
          : nothing}`;
  }

  private footer(m: StoredMessage) {
    const s = m.stats;
    const notes = [
      m.stopped ? html`<span class="badge">stopped</span>` : nothing,
      m.finish === 'length'
        ? m.format
          ? html`<span class="badge warn" title="The answer reached the Max tokens setting before its JSON was complete">cut at the token limit: incomplete JSON</span>`
          : html`<span class="badge" title="The answer reached the Max tokens setting">max tokens reached</span>`
        : nothing,
      m.format ? html`<span class="badge" title="The answer was constrained to this format">${answerFormatLabel({ kind: m.format.kind, schemaName: m.format.name ?? '' })}</span>` : nothing,
      m.fallbackTemplate ? html`<span class="badge warn" title="This model has no chat template; the conversation was written as plain User:/Assistant: lines">plain-text template</span>` : nothing,
    ];
    return html`<footer class="msg-footer">
      ${s
        ? html`<span class="msg-stats" title="${s.promptTokens} prompt tokens (${s.prefillTokensPerS.toFixed(0)} tokens/s to read), ${s.completionTokens} tokens written"
            >${s.decodeTokensPerS.toFixed(1)} tok/s · first token ${formatMs(s.timeToFirstTokenMs)} · ${s.completionTokens} tokens</span
          >`
        : nothing}
      ${notes}
      <span class="msg-actions">
        ${m.content ? html`<button type="button" class="button ghost small" @click=${this.copy} aria-label="Copy this answer">${this.copied ? 'Copied' : 'Copy'}</button>` : nothing}
        ${this.canRegenerate
          ? html`<button type="button" class="button ghost small" @click=${() => this.dispatchEvent(new CustomEvent('regenerate', { bubbles: true }))} aria-label="Regenerate this answer">Regenerate</button>`
          : nothing}
      </span>
    </footer>`;
  }

  private editKeys = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      (e.target as HTMLTextAreaElement).form?.requestSubmit();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.editing = false;
    }
  };

  private submitEdit = (e: SubmitEvent) => {
    e.preventDefault();
    const text = (this.querySelector('textarea')?.value ?? '').trim();
    if (!text) return;
    this.editing = false;
    this.dispatchEvent(new CustomEvent('edit-resend', { bubbles: true, detail: { index: this.index, text } }));
  };

  private copy = async () => {
    try {
      await navigator.clipboard.writeText(this.message.content);
      this.copied = true;
      setTimeout(() => (this.copied = false), 1500);
    } catch {
      /* clipboard refused: nothing to do */
    }
  };
}
customElements.define('cria-chat-message', CriaChatMessage);

declare global {
  interface HTMLElementTagNameMap {
    'cria-chat-message': CriaChatMessage;
  }
}

/**
 * <cria-composer>: where the user writes. Enter sends, Shift+Enter starts a
 * new line, Esc stops an answer being written. While an answer streams the
 * Send button becomes Stop. Raises `send` {text} and `stop`.
 */
import { html, nothing } from 'lit';
import { LightElement } from './light-element.ts';
import { iconSend, iconStop } from './icons.ts';

export class CriaComposer extends LightElement {
  static override properties = {
    generating: { type: Boolean },
    canSend: { type: Boolean },
    reason: { type: String },
  };
  declare generating: boolean;
  /** a model is ready */
  declare canSend: boolean;
  /** why sending is not possible, shown under the box */
  declare reason: string;

  constructor() {
    super();
    this.generating = false;
    this.canSend = false;
    this.reason = '';
  }

  get textarea(): HTMLTextAreaElement | null {
    return this.querySelector('textarea');
  }

  override focus(): void {
    this.textarea?.focus();
  }

  private send() {
    const ta = this.textarea;
    if (!ta || this.generating || !this.canSend) return;
    const text = ta.value.trim();
    if (!text) return;
    ta.value = '';
    this.dispatchEvent(new CustomEvent('send', { bubbles: true, detail: { text } }));
  }

  private stop() {
    this.dispatchEvent(new CustomEvent('stop', { bubbles: true }));
  }

  private onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.send();
    } else if (e.key === 'Escape' && this.generating) {
      e.preventDefault();
      this.stop();
    }
  };

  override render() {
    return html`<form class="composer" @submit=${(e: Event) => (e.preventDefault(), this.send())}>
      <label for="composer-input" class="visually-hidden">Message</label>
      <textarea
        id="composer-input"
        rows="1"
        placeholder=${this.canSend ? 'Message (Enter sends, Shift+Enter for a new line)' : 'Load a model to start chatting'}
        aria-describedby="composer-hint"
        @keydown=${this.onKey}
      ></textarea>
      ${this.generating
        ? html`<button type="button" class="button composer-button stop" @click=${this.stop} aria-label="Stop" aria-keyshortcuts="Escape">${iconStop()}<span>Stop</span></button>`
        : html`<button type="submit" class="button primary composer-button" aria-label="Send" ?disabled=${!this.canSend}>${iconSend()}<span>Send</span></button>`}
      <p id="composer-hint" class="composer-hint muted small">
        ${this.reason ? this.reason : this.generating ? html`Writing… press <kbd>Esc</kbd> to stop.` : nothing}
      </p>
    </form>`;
  }
}
customElements.define('cria-composer', CriaComposer);

declare global {
  interface HTMLElementTagNameMap {
    'cria-composer': CriaComposer;
  }
}

/**
 * <cria-chat-settings>: a dialog with the conversation's system prompt and
 * the sampling settings (applied as they change, remembered for next time).
 * Raises `settings-change` with { sampling, systemPrompt }.
 */
import { html, nothing } from 'lit';
import { LightElement } from './light-element.ts';
import { DEFAULT_SAMPLING, SAMPLING_FIELDS, sanitizeSampling, saveDefaultSystemPrompt, type SamplingSettings } from './sampling-settings.ts';

export class CriaChatSettings extends LightElement {
  static override properties = {
    sampling: { attribute: false },
    systemPrompt: { type: String },
    savedDefault: { state: true },
  };
  declare sampling: SamplingSettings;
  declare systemPrompt: string;
  declare savedDefault: boolean;

  constructor() {
    super();
    this.sampling = { ...DEFAULT_SAMPLING };
    this.systemPrompt = '';
    this.savedDefault = false;
  }

  open(): void {
    this.savedDefault = false;
    this.querySelector('dialog')?.showModal();
  }

  private close = () => this.querySelector('dialog')?.close();

  private emit(sampling: SamplingSettings, systemPrompt: string) {
    this.dispatchEvent(new CustomEvent('settings-change', { bubbles: true, detail: { sampling, systemPrompt } }));
  }

  private onField(key: keyof SamplingSettings, value: string) {
    this.emit(sanitizeSampling({ ...this.sampling, [key]: key === 'seed' && value.trim() === '' ? null : value }), this.systemPrompt);
  }

  override render() {
    return html`<dialog class="dialog settings-dialog" aria-labelledby="settings-title" @click=${(e: MouseEvent) => e.target === e.currentTarget && this.close()}>
      <form method="dialog" class="dialog-body" @submit=${(e: Event) => (e.preventDefault(), this.close())}>
        <header class="dialog-head">
          <h2 id="settings-title">Chat settings</h2>
          <button type="button" class="icon-button" aria-label="Close settings" @click=${this.close}>✕</button>
        </header>
        <label class="field">
          <span class="field-label">System prompt <span class="muted small">(this conversation)</span></span>
          <textarea
            rows="3"
            placeholder="For example: You are a concise, friendly assistant."
            .value=${this.systemPrompt}
            @change=${(e: Event) => this.emit(this.sampling, (e.target as HTMLTextAreaElement).value)}
          ></textarea>
        </label>
        <p class="field-row small">
          <button type="button" class="button small" @click=${() => (saveDefaultSystemPrompt(this.systemPrompt), (this.savedDefault = true))}>Use for new chats</button>
          ${this.savedDefault ? html`<span class="muted" role="status">New chats will start with this system prompt.</span>` : nothing}
        </p>
        <fieldset class="sampling">
          <legend>Sampling</legend>
          ${SAMPLING_FIELDS.map(
            (f) => html`<label class="field field-number">
              <span class="field-label">${f.label}</span>
              <input
                type="number"
                name=${f.key}
                min=${f.min}
                max=${f.max}
                step=${f.step}
                placeholder=${f.key === 'seed' ? 'random' : ''}
                .value=${this.sampling[f.key] === null ? '' : String(this.sampling[f.key])}
                @change=${(e: Event) => this.onField(f.key, (e.target as HTMLInputElement).value)}
              />
              <span class="field-help muted small">${f.help}</span>
            </label>`,
          )}
        </fieldset>
        <footer class="dialog-foot">
          <button type="button" class="button" @click=${() => this.emit({ ...DEFAULT_SAMPLING }, this.systemPrompt)}>Reset sampling to defaults</button>
          <button type="submit" class="button primary">Done</button>
        </footer>
      </form>
    </dialog>`;
  }
}
customElements.define('cria-chat-settings', CriaChatSettings);

declare global {
  interface HTMLElementTagNameMap {
    'cria-chat-settings': CriaChatSettings;
  }
}

/**
 * <cria-chat-settings>: a dialog with the conversation's system prompt and
 * answer format (text, JSON, or JSON under a schema the user writes, checked
 * as it is typed) and the sampling settings (applied as they change,
 * remembered for next time). Raises `settings-change` with
 * { sampling, systemPrompt, answerFormat }.
 */
import { html, nothing } from 'lit';
import { LightElement } from './light-element.ts';
import { DEFAULT_ANSWER_FORMAT, EXAMPLE_SCHEMA, parseSchemaText, schemaNameProblem, type AnswerFormat, type AnswerFormatKind } from './answer-format.ts';
import { DEFAULT_SAMPLING, SAMPLING_FIELDS, sanitizeSampling, saveDefaultSystemPrompt, type SamplingSettings } from './sampling-settings.ts';

export class CriaChatSettings extends LightElement {
  static override properties = {
    sampling: { attribute: false },
    systemPrompt: { type: String },
    answerFormat: { attribute: false },
    savedDefault: { state: true },
  };
  declare sampling: SamplingSettings;
  declare systemPrompt: string;
  declare answerFormat: AnswerFormat;
  declare savedDefault: boolean;

  constructor() {
    super();
    this.sampling = { ...DEFAULT_SAMPLING };
    this.systemPrompt = '';
    this.answerFormat = { ...DEFAULT_ANSWER_FORMAT };
    this.savedDefault = false;
  }

  open(): void {
    this.savedDefault = false;
    this.querySelector('dialog')?.showModal();
  }

  private close = () => this.querySelector('dialog')?.close();

  private emit(sampling: SamplingSettings, systemPrompt: string, answerFormat: AnswerFormat = this.answerFormat) {
    this.dispatchEvent(new CustomEvent('settings-change', { bubbles: true, detail: { sampling, systemPrompt, answerFormat } }));
  }

  private onField(key: keyof SamplingSettings, value: string) {
    this.emit(sanitizeSampling({ ...this.sampling, [key]: key === 'seed' && value.trim() === '' ? null : value }), this.systemPrompt);
  }

  private onFormat(change: Partial<AnswerFormat>) {
    const next = { ...this.answerFormat, ...change };
    // a schema box left empty gets an example to start from
    if (next.kind === 'json_schema' && next.schemaText.trim() === '' && change.kind) next.schemaText = EXAMPLE_SCHEMA;
    this.emit(this.sampling, this.systemPrompt, next);
  }

  /** a labelled control checked as it is typed: its problem (an alert) or its help below it */
  private checkedField(label: string, problemId: string, problem: string | undefined, help: string, control: unknown) {
    return html`<label class="field">
      <span class="field-label">${label}</span>
      ${control}
      <span id=${problemId} class=${problem ? 'field-help field-error small' : 'field-help muted small'} role=${problem ? 'alert' : nothing} data-testid=${problemId}>${problem ?? help}</span>
    </label>`;
  }

  private formatFields() {
    const f = this.answerFormat;
    const kinds: { kind: AnswerFormatKind; label: string; help: string }[] = [
      { kind: 'text', label: 'Text', help: 'The model writes freely.' },
      { kind: 'json', label: 'JSON', help: 'Any JSON object.' },
      { kind: 'json_schema', label: 'JSON Schema', help: 'JSON that follows your schema.' },
    ];
    const parsed = f.kind === 'json_schema' ? parseSchemaText(f.schemaText) : undefined;
    const schemaProblem = parsed && 'problem' in parsed ? parsed.problem : undefined;
    const nameProblem = f.kind === 'json_schema' ? schemaNameProblem(f.schemaName) : undefined;
    return html`<fieldset class="answer-format">
      <legend>Answer format <span class="muted small">(this conversation)</span></legend>
      <div class="format-choices" role="radiogroup" aria-label="Answer format">
        ${kinds.map(
          (k) => html`<label class="check">
            <input type="radio" name="answer-format" value=${k.kind} .checked=${f.kind === k.kind} @change=${() => this.onFormat({ kind: k.kind })} />
            <span>${k.label} <span class="muted small">${k.help}</span></span>
          </label>`,
        )}
      </div>
      ${f.kind === 'text'
        ? nothing
        : html`<p class="muted small format-note">The model can only write tokens that keep the answer valid JSON${f.kind === 'json_schema' ? ' under the schema' : ''}. An answer cut at Max tokens is incomplete: raise it for long answers.</p>`}
      ${f.kind === 'json_schema'
        ? html`${this.checkedField(
            'Schema name',
            'schema-name-problem',
            nameProblem,
            'Letters, digits, _ and -.',
            html`<input
              name="schema-name"
              type="text"
              autocomplete="off"
              spellcheck="false"
              .value=${f.schemaName}
              aria-invalid=${nameProblem ? 'true' : 'false'}
              aria-describedby="schema-name-problem"
              @input=${(e: Event) => this.onFormat({ schemaName: (e.target as HTMLInputElement).value })}
            />`,
          )}
          ${this.checkedField(
            'JSON Schema',
            'schema-problem',
            schemaProblem,
            'Valid JSON. A schema the engine cannot enforce is refused when you send, with the part named.',
            html`<textarea
              name="json-schema"
              class="schema-text"
              rows="9"
              spellcheck="false"
              .value=${f.schemaText}
              aria-invalid=${schemaProblem ? 'true' : 'false'}
              aria-describedby="schema-problem"
              @input=${(e: Event) => this.onFormat({ schemaText: (e.target as HTMLTextAreaElement).value })}
            ></textarea>`,
          )}`
        : nothing}
    </fieldset>`;
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
        ${this.formatFields()}
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

/**
 * <cria-chat-view>: the chat. Conversations (kept in IndexedDB) on the side,
 * the open one in the middle, the composer below. Answers stream from the
 * engine (`chat.completions.create({ stream: true })`) and can be stopped
 * (button or Esc), regenerated, or replaced by editing an earlier message.
 * A model without a chat template is offered a plain-text fallback
 * template, said so in the UI and on each answer, never silently. A
 * conversation may ask for JSON answers (its answer format, in Settings):
 * the request carries response_format and the answers show as formatted JSON.
 */
import { html, nothing, type PropertyValues } from 'lit';
import type { ChatCompletionRequest, ChatMessage } from '../client/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { defaultModel, loadCatalogue, modelSource, type CatalogueModel } from './catalogue.ts';
import { deleteConversation, listConversations, newConversation, saveConversation, titleFrom, type Conversation, type StoredMessage } from './conversations.ts';
import { loadDefaultSystemPrompt, loadSampling, saveSampling, type SamplingSettings } from './sampling-settings.ts';
import { FALLBACK_EXAMPLE, FALLBACK_STOP, FALLBACK_TEMPLATE } from '../ui/fallback-template.ts';
import { errorCode, toAppError } from './errors.ts';
import { answerFormatLabel, answerFormatProblem, responseFormatOf, sanitizeAnswerFormat, type AnswerFormat } from './answer-format.ts';
import { formatBytes } from './format.ts';
import { iconList, iconSettings } from './icons.ts';
import type { CriaChatSettings } from './chat-settings.ts';
import type { CriaComposer } from './composer.ts';
import './chat-message.ts';
import './chat-settings.ts';
import './composer.ts';
import './conversation-list.ts';
import './load-progress.ts';
import './problem-card.ts';

interface Streaming {
  conversation: Conversation;
  index: number;
  abort: AbortController;
}

export class CriaChatView extends LightElement {
  static override properties = {
    conversations: { state: true },
    current: { state: true },
    streaming: { state: true },
    sampling: { state: true },
    useFallback: { state: true },
    listOpen: { state: true },
    suggested: { state: true },
  };
  declare conversations: Conversation[];
  declare current: Conversation;
  declare streaming: Streaming | undefined;
  declare sampling: SamplingSettings;
  declare useFallback: boolean;
  /** phone width: the conversation list is a panel opened with a button */
  declare listOpen: boolean;
  declare suggested: CatalogueModel | undefined;
  /** when the suggested model is the built-in one: a real model to download as well */
  declare download: CatalogueModel | undefined;
  private stickToBottom = true;

  constructor() {
    super();
    this.conversations = [];
    this.current = newConversation(loadDefaultSystemPrompt());
    this.streaming = undefined;
    this.sampling = loadSampling();
    this.useFallback = true;
    this.listOpen = false;
    this.suggested = undefined;
    this.download = undefined;
    new StateController(this, engine);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('keydown', this.onGlobalKey);
    void this.refreshList(true);
    loadCatalogue().then(
      (c) => {
        this.suggested = defaultModel(c);
        this.download = this.suggested?.embedded ? c.models.find((m) => !m.embedded && (m.format ?? 'gguf') === 'gguf') : undefined;
      },
      () => undefined,
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('keydown', this.onGlobalKey);
  }

  /** Esc stops an answer from anywhere on the page (a dialog's own Esc closes the dialog instead). */
  private onGlobalKey = (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || e.defaultPrevented || this.closest('[hidden]')) return;
    if ((e.target as Element | null)?.closest?.('dialog')) return;
    if (this.listOpen) {
      e.preventDefault();
      this.toggleList(false);
    } else if (this.streaming) {
      e.preventDefault();
      this.stop();
    }
  };

  /** the phone-width conversation panel: focus moves into it, and back to its button */
  private toggleList(open: boolean) {
    this.listOpen = open;
    this.updateComplete.then(() =>
      (open ? this.querySelector<HTMLElement>('.conv-open[aria-current="true"], .conv-list-head .button') : this.querySelector<HTMLElement>('.list-toggle'))?.focus(),
    );
  }

  private async refreshList(selectNewest = false) {
    try {
      this.conversations = await listConversations();
    } catch (e) {
      console.warn('cria: conversations could not be read', e);
      this.conversations = [];
    }
    if (selectNewest && this.current.messages.length === 0 && this.conversations[0]) this.current = this.conversations[0];
  }

  private async persist(c: Conversation) {
    c.updatedAt = Date.now();
    try {
      await saveConversation(c);
    } catch (e) {
      console.warn('cria: the conversation could not be saved', e);
    }
    await this.refreshList();
  }

  // ---- conversation list events

  private select(id: string) {
    const c = this.conversations.find((x) => x.id === id);
    if (c) this.current = this.streaming?.conversation.id === id ? this.streaming.conversation : c;
    this.listOpen = false;
    this.stickToBottom = true;
  }

  private newChat() {
    if (this.current.messages.length > 0 || this.current.systemPrompt !== loadDefaultSystemPrompt() || this.current.answerFormat) this.current = newConversation(loadDefaultSystemPrompt());
    this.listOpen = false;
    this.updateComplete.then(() => this.querySelector<CriaComposer>('cria-composer')?.focus());
  }

  private async rename(id: string, title: string) {
    const c = id === this.current.id ? this.current : this.conversations.find((x) => x.id === id);
    if (!c) return;
    c.title = title;
    c.titled = true;
    await this.persist(c);
    this.requestUpdate();
  }

  private async deleteChat(id: string) {
    if (this.streaming?.conversation.id === id) this.stop();
    try {
      await deleteConversation(id);
    } catch (e) {
      console.warn('cria: the conversation could not be deleted', e);
    }
    await this.refreshList();
    if (this.current.id === id) this.current = this.conversations[0] ?? newConversation(loadDefaultSystemPrompt());
  }

  // ---- sending and generating

  private async send(text: string) {
    const c = this.current;
    c.messages = [...c.messages, { role: 'user', content: text, at: Date.now() }];
    if (!c.titled && c.messages.filter((m) => m.role === 'user').length === 1) c.title = titleFrom(text);
    this.stickToBottom = true;
    this.requestUpdate();
    await this.persist(c);
    await this.generate(c);
  }

  private async regenerate() {
    const c = this.current;
    if (this.streaming || c.messages.at(-1)?.role !== 'assistant') return;
    c.messages = c.messages.slice(0, -1);
    await this.generate(c);
  }

  private async editResend(index: number, text: string) {
    const c = this.current;
    if (this.streaming || c.messages[index]?.role !== 'user') return;
    c.messages = [...c.messages.slice(0, index), { role: 'user', content: text, at: Date.now() }];
    if (!c.titled && index === c.messages.findIndex((m) => m.role === 'user')) c.title = titleFrom(text);
    this.stickToBottom = true;
    await this.persist(c);
    await this.generate(c);
  }

  private stop() {
    this.streaming?.abort.abort();
  }

  /** the request for the conversation as it stands (an answer that failed with nothing written is left out) */
  private request(c: Conversation, fallback: boolean): ChatCompletionRequest & { stream: true } {
    const history: ChatMessage[] = c.messages.filter((m) => m.role === 'user' || m.content).map((m) => ({ role: m.role, content: m.content }));
    const messages: ChatMessage[] = c.systemPrompt.trim() ? [{ role: 'system', content: c.systemPrompt.trim() }, ...history] : history;
    const { seed, ...rest } = this.sampling;
    const response_format = responseFormatOf(sanitizeAnswerFormat(c.answerFormat));
    return {
      messages,
      stream: true,
      ...rest,
      ...(seed !== null ? { seed } : {}),
      ...(fallback ? { chat_template: FALLBACK_TEMPLATE, stop: FALLBACK_STOP } : {}),
      ...(response_format ? { response_format } : {}),
    };
  }

  private async generate(c: Conversation) {
    const info = engine.info;
    if (!info || this.streaming) return;
    const fallback = !info.hasChatTemplate;
    if (fallback && !this.useFallback) return;
    // a JSON Schema that is not valid JSON is not sent (the composer says why; an edited message that
    // gets here is answered with the reason)
    const format = sanitizeAnswerFormat(c.answerFormat);
    const problem = answerFormatProblem(format);
    if (problem) {
      const message = `This conversation's answer format cannot be used: ${problem} Fix it in Settings.`;
      c.messages = [...c.messages, { role: 'assistant', content: '', at: Date.now(), error: { code: 'bad-argument', message } }];
      this.requestUpdate();
      await this.persist(c);
      return;
    }
    const req = this.request(c, fallback);
    const index = c.messages.length;
    const label = engine.model.kind === 'ready' ? engine.model.label : info.id;
    let answer: StoredMessage = {
      role: 'assistant',
      content: '',
      at: Date.now(),
      model: label,
      ...(fallback ? { fallbackTemplate: true } : {}),
      ...(format.kind === 'json' ? { format: { kind: 'json' } } : format.kind === 'json_schema' ? { format: { kind: 'json_schema', name: format.schemaName } } : {}),
    };
    c.messages = [...c.messages, answer];
    const set = (m: StoredMessage) => {
      answer = m;
      c.messages[index] = m;
      c.messages = [...c.messages];
      if (this.current === c) this.requestUpdate();
    };
    const abort = new AbortController();
    this.streaming = { conversation: c, index, abort };
    // a reload in the middle of an answer keeps what was written so far
    const saver = setInterval(() => void saveConversation(c).catch(() => undefined), 3000);
    const stream = async (r: typeof req) => {
      for await (const chunk of engine.client.chat.completions.create(r, { signal: abort.signal })) {
        const choice = chunk.choices[0];
        let next = answer;
        if (choice?.delta.content) next = { ...next, content: next.content + choice.delta.content };
        if (choice?.finish_reason) next = { ...next, finish: choice.finish_reason };
        if (chunk.usage) {
          const u = chunk.usage;
          next = {
            ...next,
            stats: {
              promptTokens: u.prompt_tokens,
              completionTokens: u.completion_tokens,
              prefillTokensPerS: u.prefill_tokens_per_s,
              decodeTokensPerS: u.decode_tokens_per_s,
              timeToFirstTokenMs: u.time_to_first_token_ms,
            },
          };
        }
        if (next !== answer) set(next);
      }
    };
    try {
      // max_tokens is a ceiling: the engine answers with the room the context has left ("max tokens reached")
      await stream(req);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'aborted' || abort.signal.aborted) set({ ...answer, stopped: true });
      else if (code === 'context-overflow') {
        set({ ...answer, error: { code, message: 'The conversation no longer fits in what this model can read at once (its context). Start a new chat, or edit an earlier message to continue from there.' } });
      } else {
        const err = toAppError(e);
        set({ ...answer, error: { code: err.code, message: err.message } });
        if (code === 'device-lost') engine.deviceLost(e);
      }
    } finally {
      clearInterval(saver);
      this.streaming = undefined;
      await this.persist(c);
      if (this.current === c) this.updateComplete.then(() => this.querySelector<CriaComposer>('cria-composer')?.focus());
    }
  }

  // ---- settings

  private onSettings(e: CustomEvent<{ sampling: SamplingSettings; systemPrompt: string; answerFormat: AnswerFormat }>) {
    this.sampling = e.detail.sampling;
    saveSampling(this.sampling);
    const format = sanitizeAnswerFormat(e.detail.answerFormat);
    const formatChanged = JSON.stringify(format) !== JSON.stringify(sanitizeAnswerFormat(this.current.answerFormat));
    if (e.detail.systemPrompt !== this.current.systemPrompt || formatChanged) {
      this.current.systemPrompt = e.detail.systemPrompt;
      // plain text is stored as no format, as conversations from before there was a choice
      if (format.kind === 'text' && !format.schemaText) delete this.current.answerFormat;
      else this.current.answerFormat = format;
      this.requestUpdate();
      if (this.current.messages.length > 0) void this.persist(this.current);
    }
  }

  // ---- scrolling: follow the answer unless the user scrolled up to read

  private onScroll = (e: Event) => {
    const el = e.target as HTMLElement;
    this.stickToBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  };

  protected override updated(_: PropertyValues): void {
    if (!this.stickToBottom) return;
    const log = this.querySelector<HTMLElement>('.chat-log');
    if (log) log.scrollTop = log.scrollHeight;
  }

  // ---- rendering

  override render() {
    const c = this.current;
    const info = engine.info;
    const fallback = info !== undefined && !info.hasChatTemplate;
    const streamingHere = this.streaming?.conversation === c ? this.streaming : undefined;
    const lastAssistant = c.messages.at(-1)?.role === 'assistant' ? c.messages.length - 1 : -1;
    const canSend = !!info && !this.streaming && (!fallback || this.useFallback) && !answerFormatProblem(sanitizeAnswerFormat(c.answerFormat));
    const list = this.conversations.some((x) => x.id === c.id) ? this.conversations : c.messages.length ? [c, ...this.conversations] : this.conversations;
    const format = sanitizeAnswerFormat(c.answerFormat);
    return html`<div class="chat-layout" ?data-list-open=${this.listOpen}>
      <aside class="chat-sidebar" id="chat-sidebar">
        <cria-conversation-list
          .conversations=${list}
          .currentId=${c.id}
          @select=${(e: CustomEvent<{ id: string }>) => this.select(e.detail.id)}
          @new=${() => this.newChat()}
          @rename=${(e: CustomEvent<{ id: string; title: string }>) => void this.rename(e.detail.id, e.detail.title)}
          @delete=${(e: CustomEvent<{ id: string }>) => void this.deleteChat(e.detail.id)}
          @close=${() => this.toggleList(false)}
        ></cria-conversation-list>
      </aside>
      ${this.listOpen ? html`<div class="drawer-backdrop" @click=${() => this.toggleList(false)}></div>` : nothing}
      <section class="chat-main" aria-label="Chat">
        <div class="chat-toolbar">
          <button
            type="button"
            class="button small list-toggle"
            aria-controls="chat-sidebar"
            aria-expanded=${this.listOpen ? 'true' : 'false'}
            @click=${() => this.toggleList(!this.listOpen)}
          >
            ${iconList()}<span class="visually-hidden">Conversations</span>
          </button>
          <h2 class="chat-title" tabindex="-1" title=${c.title}>${c.title}</h2>
          ${format.kind === 'text' ? nothing : html`<span class="badge format-badge" title="Answers in this conversation are constrained to this format (Settings)" data-testid="format-badge">${answerFormatLabel(format)}</span>`}
          <button type="button" class="button small settings-button" @click=${() => this.querySelector<CriaChatSettings>('cria-chat-settings')?.open()}>
            ${iconSettings()}<span class="button-text">Settings</span>
          </button>
        </div>
        ${this.banner(fallback)}
        <div class="chat-log" role="log" aria-label="Messages" aria-busy=${streamingHere ? 'true' : 'false'} @scroll=${this.onScroll}>
          ${c.messages.length === 0
            ? this.empty()
            : c.messages.map(
                (m, i) => html`<cria-chat-message
                  .message=${m}
                  .index=${i}
                  .streaming=${streamingHere?.index === i}
                  .canEdit=${m.role === 'user' && !this.streaming && !!info}
                  .canRegenerate=${i === lastAssistant && !this.streaming && canSend}
                  @regenerate=${() => void this.regenerate()}
                  @edit-resend=${(e: CustomEvent<{ index: number; text: string }>) => void this.editResend(e.detail.index, e.detail.text)}
                ></cria-chat-message>`,
              )}
        </div>
        <cria-composer
          ?hidden=${engine.blocked}
          .generating=${!!this.streaming}
          .canSend=${canSend}
          .reason=${this.composerReason(fallback)}
          @send=${(e: CustomEvent<{ text: string }>) => void this.send(e.detail.text)}
          @stop=${() => this.stop()}
        ></cria-composer>
      </section>
      <cria-chat-settings .sampling=${this.sampling} .systemPrompt=${c.systemPrompt} .answerFormat=${format} @settings-change=${this.onSettings}></cria-chat-settings>
    </div>`;
  }

  private composerReason(fallback: boolean): string {
    const m = engine.model;
    if (engine.blocked) return 'WebGPU was chosen on the Device page, and this browser has none (see above).';
    if (engine.holder) return `${engine.holder.label}: chat waits until it ends (stop it on the Eval page).`;
    if (m.kind === 'lost') return 'The GPU was reset: load the model again (above).';
    if (m.kind === 'loading') return `Loading ${m.label}…`;
    if (m.kind !== 'ready') return 'Load a model first (above, or on the Models page).';
    if (fallback && !this.useFallback) return 'This model has no chat template: turn on the plain-text template above to chat with it.';
    if (this.streaming && this.streaming.conversation !== this.current) return 'Another conversation is being answered.';
    const problem = answerFormatProblem(sanitizeAnswerFormat(this.current.answerFormat));
    if (problem) return `This conversation's answer format cannot be used: ${problem} Fix it in Settings.`;
    return '';
  }

  /** what sits above the conversation: problems first, then the model's state */
  private banner(fallback: boolean) {
    const m = engine.model;
    if (engine.blocked) return html`<cria-problem kind="webgpu"></cria-problem>`;
    if (m.kind === 'lost') return html`<cria-problem kind="device-lost" .error=${m.error}></cria-problem>`;
    if (m.kind === 'loading') return html`<cria-load-progress></cria-load-progress>`;
    if (m.kind === 'error') return html`<cria-problem kind="error" .error=${m.error}></cria-problem>`;
    if (m.kind === 'ready' && fallback) {
      return html`<div class="notice warn fallback-notice" role="note" data-testid="fallback-notice">
        <label class="check">
          <input type="checkbox" .checked=${this.useFallback} @change=${(e: Event) => (this.useFallback = (e.target as HTMLInputElement).checked)} />
          <span><strong>${m.label} has no chat template.</strong> Use a plain-text template (“User:” / “Assistant:” lines)</span>
        </label>
        <details>
          <summary>What this means</summary>
          <p class="small">
            Chat models ship a template that lays a conversation out the way they were trained to read it. This one has none, so it was probably not trained for
            conversation and its answers may wander. With the plain-text template, the model sees:
          </p>
          <pre><code>${FALLBACK_EXAMPLE}</code></pre>
        </details>
      </div>`;
    }
    return nothing;
  }

  private empty() {
    const m = engine.model;
    if (m.kind === 'ready') {
      return html`<div class="chat-empty">
        <p class="chat-empty-title">Chat with ${m.label}</p>
        <p class="muted">It runs on this device's ${m.info.backend.kind === 'webgpu' ? 'GPU' : 'CPU'}. Nothing you type leaves this browser.</p>
      </div>`;
    }
    if (m.kind === 'loading' || engine.blocked || m.kind === 'lost') return nothing;
    const last = engine.lastVisit();
    const s = this.suggested;
    const d = this.download;
    return html`<div class="chat-empty">
      <p class="chat-empty-title">No model loaded</p>
      <p class="muted">
        ${s?.embedded
          ? html`Start with ${s.name}: it comes with Cria (${formatBytes(s.approxBytes)}, no download) and writes little stories. For answers to questions, download a real small model: it is kept in this browser.`
          : 'Pick a small model to start. It is downloaded once, kept in this browser, and runs on your device.'}
        Nothing you type leaves it.
      </p>
      <p class="chat-empty-actions">
        ${last ? html`<button type="button" class="button primary" @click=${() => void engine.load({ cached: last.cacheId }, last.label).then((ok) => ok || engine.forgetLastVisit())}>
              Continue with ${last.label}
            </button>` : nothing}
        ${s
          ? html`<button type="button" class=${last ? 'button' : 'button primary'} data-suggested=${s.id} @click=${() => void engine.load(() => modelSource(s), s.name)}>
              ${s.embedded ? `Start with ${s.name} (built in, no download)` : `Load ${s.name} (about ${formatBytes(s.approxBytes)})`}
            </button>`
          : nothing}
        ${d
          ? html`<button type="button" class="button" data-suggested=${d.id} @click=${() => void engine.load(() => modelSource(d), d.name)}>
              Download ${d.name} (about ${formatBytes(d.approxBytes)})
            </button>`
          : nothing}
        <a class="button" href="#/models">All models</a>
      </p>
    </div>`;
  }
}
customElements.define('cria-chat-view', CriaChatView);

declare global {
  interface HTMLElementTagNameMap {
    'cria-chat-view': CriaChatView;
  }
}

/**
 * `<cria-chat>`: a chat box a page embeds with one script tag. It renders in
 * its own shadow root (host styles neither leak in nor out, see styles.ts) and
 * runs its engine in its own Web Worker (engine-worker.ts: started from a blob
 * so it works when widget.js is on another origin than the page).
 *
 *   <cria-chat model="https://…/model.gguf" system="…" placeholder="…" max-tokens="256" temperature="0.7">
 *
 * Scripts: `ask(text)` (an AsyncIterable of text pieces; breaking out of the
 * loop stops the answer), `load(url)`, `reset()`; events `cria-progress`,
 * `cria-ready`, `cria-error`, `cria-token`, `cria-answer` (all bubble and
 * cross the shadow boundary). The model loads as soon as the element is in the
 * page with a `model`; changing `model` loads the new one. `response-schema`
 * (a JSON Schema) or `response-format="json"` make every answer JSON, enforced
 * by the engine at every token; `cria-answer` then carries the parsed value.
 */
import { widgetSource } from './source.ts';
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';
import { createClient, type ChatCompletionRequest, type ChatMessage, type CriaClient, type LoadProgress, type ModelInfo } from '../client/index.ts';
import { AsyncQueue } from '../client/queue.ts';
import { CriaError, type ErrorCode } from '../shared/errors.ts';
import { MarkdownStream } from '../ui/markdown.ts';
import { ENGINE_WORKER_URL, startEngineWorker, workerStarted } from './engine-worker.ts';
import { FALLBACK_STOP, FALLBACK_TEMPLATE } from '../ui/fallback-template.ts';
import { formatBytes, progressFraction, progressText } from './format.ts';
import { designedMessage, type Action } from './messages.ts';
import { widgetResponseFormat } from './response-format.ts';
import type { ResponseFormat } from '../client/index.ts';
import { styles } from './styles.ts';

/** `detail` of `cria-error` */
export interface CriaErrorDetail {
  code: ErrorCode;
  message: string;
  detail?: Record<string, unknown>;
}

/** `detail` of `cria-token`: the new piece, and the answer so far */
export interface CriaTokenDetail {
  text: string;
  answer: string;
}

/**
 * `detail` of `cria-answer`, raised when an answer is complete: its text, how it ended (`length`: cut
 * at max-tokens), and with `response-schema` / `response-format="json"` the parsed JSON (absent when
 * the answer was cut: it is then incomplete JSON)
 */
export interface CriaAnswerDetail {
  text: string;
  finish_reason: 'stop' | 'length';
  json?: unknown;
}

type Status =
  | { kind: 'idle' } // no model attribute yet
  | { kind: 'loading'; progress?: LoadProgress }
  | { kind: 'ready' }
  // the model is not usable: no WebGPU, a failed load, a lost device
  | ({ kind: 'failed' } & CriaErrorDetail);

interface Entry {
  role: 'user' | 'assistant';
  content: string;
  /** sanitized HTML of `content` (assistant entries): while streaming, rendered at most once per interval, not per token */
  md?: MarkdownStream;
  state: 'streaming' | 'done' | 'stopped' | 'error';
  /** the answer ended at its token limit rather than where the model ended it */
  cutShort?: boolean;
  /** asked as JSON (response-schema / response-format): shown as JSON */
  json?: boolean;
  error?: CriaErrorDetail;
}

/** one question and its answer, from ask() or the form */
interface Turn {
  text: string;
  pieces: AsyncQueue<string>;
  abort: AbortController;
  done: Promise<void>;
}

const errorOf = (e: unknown): CriaErrorDetail => {
  const err = e as { code?: unknown; message?: unknown; detail?: Record<string, unknown> };
  return {
    code: (typeof err?.code === 'string' ? err.code : 'internal') as ErrorCode,
    message: typeof err?.message === 'string' ? err.message : String(e),
    ...(err?.detail ? { detail: err.detail } : {}),
  };
};

/** Capability check up front (before downloading anything): a missing API and a missing adapter are told apart. */
async function webgpuProblem(): Promise<string | undefined> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return window.isSecureContext ? 'this browser does not offer WebGPU (navigator.gpu is missing)' : 'WebGPU needs a secure page (https or localhost)';
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'WebGPU is present, but no graphics adapter is available (it may be disabled or blocklisted; see chrome://gpu)';
  } catch (e) {
    return `asking for a WebGPU adapter failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}

/** the model facts' "where": GPU, or CPU with its threads (one, when the host page is not cross-origin isolated) */
export function runsOn(info: ModelInfo): string {
  const b = info.backend;
  if (b.kind === 'webgpu') return 'GPU';
  return `CPU, ${b.threads === 1 ? 'single-threaded' : `${b.threads} threads`}`;
}

export class CriaChat extends LitElement {
  static override styles = styles;
  static override properties = {
    model: { type: String },
    system: { type: String },
    placeholder: { type: String },
    maxTokens: { type: Number, attribute: 'max-tokens' },
    temperature: { type: Number },
    backend: { type: String },
    responseSchema: { type: String, attribute: 'response-schema' },
    responseFormat: { type: String, attribute: 'response-format' },
  };

  /** URL of a GGUF model (relative URLs are relative to the page) */
  declare model: string | undefined;
  /** system prompt for every conversation */
  declare system: string | undefined;
  declare placeholder: string | undefined;
  declare maxTokens: number | undefined;
  declare temperature: number | undefined;
  /**
   * where the model runs: `auto` (default: WebGPU on a hardware GPU, WebAssembly otherwise), `webgpu`
   * or `wasm`. WebAssembly uses threads only when the host page is cross-origin isolated; the model
   * facts in the header say which ran, with how many threads.
   */
  declare backend: 'auto' | 'webgpu' | 'wasm' | undefined;
  /** a JSON Schema (JSON text) every answer follows (README: the widget's attributes) */
  declare responseSchema: string | undefined;
  /** `json`: every answer is a JSON object; `text` (default): free text */
  declare responseFormat: string | undefined;
  /** a Jinja chat template to use instead of the model's own (or of the fallback, for models without one) */
  chatTemplate: string | undefined;

  #status: Status = { kind: 'idle' };
  #info: ModelInfo | undefined;
  #entries: Entry[] = [];
  /** the conversation as the model sees it (finished turns only) */
  #history: ChatMessage[] = [];
  #turn: Turn | undefined;
  /** turns run one after another */
  #turns: Promise<void> = Promise.resolve();
  #client: CriaClient | undefined;
  #started: Promise<CriaClient> | undefined;
  #loading: Promise<ModelInfo> | undefined;
  /** the URL being loaded or loaded, so setting `model` to it again does nothing */
  #modelUrl: string | undefined;
  #loadSeq = 0;
  #terminateTimer: ReturnType<typeof setTimeout> | undefined;
  /** the transcript was scrolled to its end before this update: keep it there */
  #stickToEnd = true;
  /** response-schema / response-format read (willUpdate): the format, or why it cannot be used */
  #format: { value: ResponseFormat | undefined } | { error: CriaErrorDetail } = { value: undefined };

  constructor() {
    super();
    this.model = undefined;
    this.system = undefined;
    this.placeholder = undefined;
    this.maxTokens = undefined;
    this.temperature = undefined;
    this.backend = undefined;
    this.responseSchema = undefined;
    this.responseFormat = undefined;
    this.chatTemplate = undefined;
  }

  // ---- public API ----------------------------------------------------------

  /** what the model said it is, once loaded */
  get modelInfo(): ModelInfo | undefined {
    return this.#info;
  }

  /** true when the model has no chat template and the widget formats the conversation with its plain fallback (shown in the widget too) */
  get usesFallbackTemplate(): boolean {
    return !!this.#info && !this.#info.hasChatTemplate && this.chatTemplate === undefined;
  }

  /** `idle`, `loading`, `ready` or `failed` */
  get state(): Status['kind'] {
    return this.#status.kind;
  }

  /**
   * Load a model (from the network once, then from this site's cache). Also sets `model`.
   * `signal` stops the load (it rejects with code `aborted`; what was downloaded stays cached);
   * a newer load stops an older one the same way.
   */
  load(url: string, opts: { signal?: AbortSignal } = {}): Promise<ModelInfo> {
    const abs = widgetSource(url, document.baseURI).address;
    this.#modelUrl = abs;
    this.model = url;
    const seq = ++this.#loadSeq;
    this.#turn?.abort.abort();
    this.#loadAbort?.abort();
    const ctrl = (this.#loadAbort = new AbortController());
    opts.signal?.addEventListener('abort', () => ctrl.abort(), { once: true });
    if (opts.signal?.aborted) ctrl.abort();
    const p = this.#load(abs, seq, ctrl.signal);
    this.#loading = p;
    return p;
  }

  /**
   * Ask a question as if the user typed it: it appears in the widget and the
   * answer streams there. Iterate the result for the answer's text pieces;
   * breaking out of the loop stops the answer. A question asked while another
   * is answered waits for it. Errors (with a `code`) are thrown by the iterator.
   */
  ask(text: string): AsyncIterable<string> {
    const turn = this.#startTurn(text);
    let taken = false;
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<string> => {
        if (taken) throw new CriaError('bad-argument', 'the stream returned by ask() can be iterated once');
        taken = true;
        return {
          next: () => turn.pieces.next(),
          return: async () => {
            turn.abort.abort();
            await turn.done;
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  /** Start a new conversation: stops the answer in progress and clears the transcript. */
  reset(): void {
    this.#turn?.abort.abort();
    for (const e of this.#entries) e.md?.dispose();
    this.#entries = [];
    this.#history = [];
    this.requestUpdate();
  }

  // ---- lifecycle -----------------------------------------------------------

  override connectedCallback(): void {
    super.connectedCallback();
    clearTimeout(this.#terminateTimer);
    // back in the page after being removed: load the model again (from the cache)
    if (this.hasUpdated && this.model && !this.#modelUrl) this.load(this.model).catch(() => undefined);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // moved within the page (disconnected, then connected in the same task): keep the engine
    this.#terminateTimer = setTimeout(() => {
      if (!this.isConnected) this.#shutDown();
    }, 0);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('responseSchema') || changed.has('responseFormat')) {
      try {
        this.#format = { value: widgetResponseFormat({ responseSchema: this.responseSchema, responseFormat: this.responseFormat }) };
      } catch (e) {
        // shown in the widget, raised once per bad value, and thrown by ask()
        this.#format = { error: errorOf(e) };
        this.#emit('cria-error', this.#format.error);
      }
    }
    // before rendering, so the loading state is in this very update
    if (changed.has('model') && this.isConnected) {
      const url = this.model ? widgetSource(this.model, document.baseURI).address : undefined;
      if (url && url !== this.#modelUrl) this.load(this.model!).catch(() => undefined); // shown in the widget and as cria-error
    }
    const log = this.renderRoot?.querySelector?.('.log');
    this.#stickToEnd = !log || log.scrollTop + log.clientHeight >= log.scrollHeight - 24;
  }

  protected override updated(): void {
    if (this.#stickToEnd) {
      const log = this.renderRoot.querySelector('.log');
      if (log) log.scrollTop = log.scrollHeight;
    }
  }

  #shutDown(): void {
    this.#turn?.abort.abort();
    this.#client?.terminate();
    this.#client = undefined;
    this.#started = undefined;
    this.#loading = undefined;
    this.#modelUrl = undefined;
    this.#info = undefined;
    this.#status = { kind: 'idle' };
  }

  // ---- engine --------------------------------------------------------------

  #engine(): Promise<CriaClient> {
    if (!this.#started) {
      const worker = startEngineWorker();
      const client = createClient(worker);
      this.#client = client;
      this.#started = workerStarted(worker, () => client.stats(), ENGINE_WORKER_URL).then(() => client);
      this.#started.catch(() => {
        // a worker that never started is of no use; the next load makes a new one
        client.terminate();
        if (this.#client === client) {
          this.#client = undefined;
          this.#started = undefined;
        }
      });
    }
    return this.#started;
  }

  #loadAbort?: AbortController;

  async #load(url: string, seq: number, signal: AbortSignal): Promise<ModelInfo> {
    const current = () => seq === this.#loadSeq;
    this.#info = undefined;
    this.#setStatus({ kind: 'loading' });
    // progress comes through its own message port: a last event may arrive after the load has settled
    let settled = false;
    try {
      const backend = this.backend ?? 'auto';
      if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'wasm') throw new CriaError('bad-argument', `backend="${String(backend)}": use auto, webgpu or wasm`, { attribute: 'backend' });
      // WebGPU asked for: a missing one is said before anything downloads (auto runs on WebAssembly then)
      const problem = backend === 'webgpu' ? await webgpuProblem() : undefined;
      if (problem) throw new CriaError('webgpu-unavailable', `${problem}. This widget was set to run on WebGPU (backend="webgpu"): use a recent Chrome or Edge on desktop, or backend="auto" to run on the processor.`);
      const client = await this.#engine();
      // a GGUF's URL, an ONNX model (a .onnx file's URL, or a repository's base URL ending in /), or mlc:<id> (src/widget/source.ts)
      const info = await client.load(
        widgetSource(url, document.baseURI).source,
        {
          backend,
          signal,
          onProgress: (p) => {
            if (!current() || settled) return;
            this.#setStatus({ kind: 'loading', progress: p });
            this.#emit('cria-progress', p);
          },
        },
      );
      settled = true;
      if (current()) {
        this.#info = info;
        this.#setStatus({ kind: 'ready' });
        this.#emit('cria-ready', info);
      }
      return info;
    } catch (e) {
      settled = true;
      const err = errorOf(e);
      if (current()) {
        this.#setStatus({ kind: 'failed', ...err });
        this.#emit('cria-error', err);
      }
      throw e;
    }
  }

  /** the loaded model, waiting for a load in progress */
  async #ready(): Promise<CriaClient> {
    // asked right after `model` was set, before the element had its first update
    if (this.#status.kind === 'idle' && this.model && this.isConnected && !this.#modelUrl) this.load(this.model).catch(() => undefined);
    if (this.#status.kind === 'loading' && this.#loading) await this.#loading.catch(() => undefined);
    const s = this.#status;
    if (s.kind === 'failed') throw new CriaError(s.code, s.message, s.detail);
    if (s.kind !== 'ready' || !this.#client) throw new CriaError('bad-argument', 'no model is loaded: set the model attribute of <cria-chat> or call load(url)');
    return this.#client;
  }

  // ---- a question and its answer ----------------------------------------------

  #startTurn(text: string): Turn {
    const turn: Turn = { text, pieces: new AsyncQueue<string>(), abort: new AbortController(), done: Promise.resolve() };
    const previous = this.#turns;
    turn.done = previous.then(() => this.#runTurn(turn));
    this.#turns = turn.done;
    return turn;
  }

  async #runTurn(turn: Turn): Promise<void> {
    if (turn.abort.signal.aborted) return turn.pieces.end();
    this.#turn = turn;
    const user: Entry = { role: 'user', content: turn.text, state: 'done' };
    const format = this.#format;
    const answer: Entry = { role: 'assistant', content: '', state: 'streaming', md: new MarkdownStream(() => this.requestUpdate()), ...('value' in format && format.value ? { json: true } : {}) };
    this.#entries = [...this.#entries, user, answer];
    this.requestUpdate();
    const history = this.#history;
    try {
      if ('error' in format) throw new CriaError(format.error.code, format.error.message, format.error.detail);
      const client = await this.#ready();
      if (turn.abort.signal.aborted) throw new CriaError('aborted', 'stopped before the answer started');
      const messages: ChatMessage[] = [...(this.system ? [{ role: 'system' as const, content: this.system }] : []), ...history, { role: 'user', content: turn.text }];
      const req: ChatCompletionRequest & { stream: true } = { messages, stream: true };
      if (this.maxTokens !== undefined && Number.isFinite(this.maxTokens)) req.max_tokens = this.maxTokens;
      if (this.temperature !== undefined && Number.isFinite(this.temperature)) req.temperature = this.temperature;
      if (format.value) req.response_format = format.value;
      if (this.chatTemplate !== undefined) req.chat_template = this.chatTemplate;
      else if (this.usesFallbackTemplate) {
        req.chat_template = FALLBACK_TEMPLATE;
        req.stop = FALLBACK_STOP;
      }
      for await (const chunk of client.chat.completions.create(req, { signal: turn.abort.signal })) {
        if (chunk.choices[0]?.finish_reason === 'length') answer.cutShort = true;
        const piece = chunk.choices[0]?.delta.content;
        if (!piece) continue;
        answer.content += piece;
        turn.pieces.push(piece);
        this.#emit('cria-token', { text: piece, answer: answer.content } satisfies CriaTokenDetail);
        this.requestUpdate();
      }
      const done: CriaAnswerDetail = { text: answer.content, finish_reason: answer.cutShort ? 'length' : 'stop' };
      // a constrained answer that finished is whole JSON (the engine enforced it); one cut short is not
      if (answer.json && !answer.cutShort) {
        try {
          done.json = JSON.parse(answer.content);
        } catch {
          throw new CriaError('internal', 'the answer should be JSON but does not parse (please report this)');
        }
      }
      answer.state = 'done';
      turn.pieces.end();
      this.#emit('cria-answer', done);
    } catch (e) {
      const err = errorOf(e);
      if (turn.abort.signal.aborted || err.code === 'aborted') {
        answer.state = 'stopped';
        turn.pieces.end();
      } else {
        answer.state = 'error';
        answer.error = err;
        // the model went with the device: the whole widget says so, and offers to load it again
        if (err.code === 'device-lost') this.#setStatus({ kind: 'failed', ...err });
        this.#emit('cria-error', err);
        turn.pieces.fail(e);
      }
    } finally {
      // a stopped answer stays in the conversation as far as it got; a failed one is dropped
      if (answer.state === 'done' || (answer.state === 'stopped' && answer.content)) {
        if (this.#history === history) this.#history = [...history, { role: 'user', content: turn.text }, { role: 'assistant', content: answer.content }];
      }
      if (this.#turn === turn) this.#turn = undefined;
      this.requestUpdate();
    }
  }

  // ---- events and rendering -----------------------------------------------------

  #emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #setStatus(s: Status): void {
    this.#status = s;
    this.requestUpdate();
  }

  #onSubmit(ev: Event): void {
    ev.preventDefault();
    const input = this.renderRoot.querySelector('textarea');
    const text = input?.value.trim();
    if (!input || !text || this.#turn || this.#status.kind !== 'ready' || 'error' in this.#format) return;
    input.value = '';
    // the answer and any error show in the widget; nobody reads the pieces
    this.#startTurn(text);
  }

  #onKeydown(ev: KeyboardEvent): void {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      this.#onSubmit(ev);
    }
  }

  #act(kind: Action): void {
    if (kind === 'reset') this.reset();
    else if (this.model) this.load(this.model).catch(() => undefined);
  }

  protected override render(): TemplateResult {
    const s = this.#status;
    const info = this.#info;
    const generating = !!this.#turn;
    const formatError = 'error' in this.#format ? this.#format.error : undefined;
    return html`<div class="frame" part="frame">
      <header>
        <span class="title">Assistant</span>
        <span class="model" title=${info ? `${info.id}: ${info.backend.reason}` : ''}>${info ? `${info.id} · ${formatBytes(info.weightBytes)} · ${runsOn(info)}` : ''}</span>
        <span class="local">Runs on this device</span>
      </header>
      ${this.usesFallbackTemplate
        ? html`<p class="notice" data-notice="fallback-template">
            This model has no chat template, so the conversation is written as plain “User: … / Assistant: …” text. Answers may not follow it well.
          </p>`
        : nothing}
      ${s.kind === 'failed' ? this.#card(s) : formatError ? this.#card(formatError) : nothing}
      <div class="log" role="log" aria-live="polite" aria-label="Conversation">
        ${this.#entries.length === 0 && s.kind !== 'failed'
          ? html`<p class="empty">${s.kind === 'idle' ? 'No model chosen yet.' : 'Ask anything. Answers are written on this device; nothing you type leaves it.'}</p>`
          : this.#entries.map((e) => this.#entry(e))}
      </div>
      ${s.kind === 'loading' ? this.#progress(s.progress) : nothing}
      <form @submit=${this.#onSubmit}>
        <label class="sr-only" for="input">Your message</label>
        <textarea id="input" rows="1" placeholder=${this.placeholder ?? 'Ask a question…'} ?disabled=${s.kind === 'failed' || !!formatError} @keydown=${this.#onKeydown}></textarea>
        ${generating
          ? html`<button type="button" class="stop secondary" @click=${() => this.#turn?.abort.abort()}>Stop</button>`
          : html`<button type="submit" class="send" ?disabled=${s.kind !== 'ready' || !!formatError}>Send</button>`}
      </form>
    </div>`;
  }

  #entry(e: Entry): TemplateResult {
    if (e.role === 'user') return html`<div class="msg user" data-role="user">${e.content}</div>`;
    let state: TemplateResult | typeof nothing = nothing;
    if (e.state === 'stopped') state = html`<span class="state">Stopped.</span>`;
    else if (e.state === 'done' && e.cutShort) state = html`<span class="state">${e.json ? 'Cut at the token limit: incomplete JSON.' : 'The answer reached its length limit.'}</span>`;
    else if (e.state === 'error' && e.error) {
      const d = designedMessage(e.error.code, e.error.detail);
      const s = this.#status;
      // the same error on the widget's card above: say it once
      const onCard = (s.kind === 'failed' && s.code === e.error.code) || ('error' in this.#format && this.#format.error.message === e.error.message);
      state = html`<span class="state" data-error=${e.error.code}
        >Not answered: ${d.title.charAt(0).toLowerCase() + d.title.slice(1)}.
        ${onCard
          ? nothing
          : html`${d.action?.kind === 'reset' ? d.body : ''} <span class="technical">(${e.error.code}: ${e.error.message})</span>
              ${d.action?.kind === 'reset' ? html`<button type="button" class="secondary" @click=${() => this.reset()}>${d.action.label}</button>` : nothing}`}</span
      >`;
    }
    return html`<div class="msg assistant ${e.state}" data-role="assistant" data-state=${e.state} aria-busy=${e.state === 'streaming' ? 'true' : 'false'}>
      ${e.json ? this.#json(e) : html`<div class="content">${unsafeHTML(e.md?.html(e.content, e.state === 'streaming') ?? '')}</div>`}
      ${state}
    </div>`;
  }

  /** a JSON answer: as written while it streams (or when cut or stopped), pretty-printed when whole */
  #json(e: Entry): TemplateResult {
    let text = e.content;
    if (e.state === 'done' && !e.cutShort) {
      try {
        text = JSON.stringify(JSON.parse(e.content), null, 2);
      } catch {
        // shown as written (the answer's error says why)
      }
    }
    return html`<div class="content json" data-json=${e.state === 'done' && !e.cutShort ? 'whole' : 'partial'}><pre><code>${text}</code></pre></div>`;
  }

  #progress(p: LoadProgress | undefined): TemplateResult {
    const f = progressFraction(p);
    return html`<div class="status" data-status="loading" role="status">
      <span class="text">${progressText(p)}</span>
      <span class="bar ${f === undefined ? 'indeterminate' : ''}" role="progressbar" aria-label="Loading the model" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${f === undefined ? nothing : Math.round(f * 100)}>
        <span style=${styleMap(f === undefined ? {} : { width: `${(f * 100).toFixed(1)}%` })}></span>
      </span>
    </div>`;
  }

  #card({ code, message, detail }: CriaErrorDetail): TemplateResult {
    const d = designedMessage(code, detail);
    return html`<div class="card" role="alert" data-error=${code}>
      <h2>${d.title}</h2>
      <p>${d.body}</p>
      <p class="technical">${code}: ${message}</p>
      ${d.action ? html`<button type="button" class="secondary" @click=${() => this.#act(d.action!.kind)}>${d.action.label}</button>` : nothing}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'cria-chat': CriaChat;
  }
  interface HTMLElementEventMap {
    'cria-progress': CustomEvent<LoadProgress>;
    'cria-ready': CustomEvent<ModelInfo>;
    'cria-error': CustomEvent<CriaErrorDetail>;
    'cria-token': CustomEvent<CriaTokenDetail>;
    'cria-answer': CustomEvent<CriaAnswerDetail>;
  }
}

/**
 * <cria-finetune-view>: the Fine-tune page. Pick a cached GGUF base model and a JSON Lines file of
 * examples (Alpaca's {instruction, input, output} or chats), read and checked here (each problem named
 * with its line); settings with Alpaca-LoRA's defaults (rank, alpha, learning rate, epochs, held-out
 * share); Start trains a LoRA adapter in the engine's worker (`client.finetune`, the CPU reference:
 * src/train/), holding the engine as an evaluation does (chat waits, and gets its model back after).
 * Live: step, loss, the held-out loss after each epoch, tokens/s, ETA and the loss curve; the worker
 * checkpoints the job in IndexedDB, so the same job started again (after a closed tab) goes on. Then: save
 * the adapter (a llama.cpp GGUF LoRA file) and use it in chat (the base model loaded, the adapter
 * applied to every answer).
 */
import { listTuned, rememberTuned, setEvalPreset, tunedValue, type TunedModel } from './tuned.ts';
import { html, nothing, svg } from 'lit';
import type { CachedModel, FinetuneEvent, FinetuneOutcome, FinetunePrepared } from '../client/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { toAppError } from './errors.ts';
import { formatBytes } from './format.ts';
import { parseTrainingJsonl, type TrainRecord } from '../train/data.ts';
import { LORA_DEFAULTS } from '../train/defaults.ts';
import './finetune.css';

interface Live {
  prepared?: FinetunePrepared;
  step: number;
  steps: number;
  epoch: number;
  epochs: number;
  loss: number;
  tokensPerS: number;
  etaS: number;
  /** train loss per step */
  curve: number[];
  /** held-out loss after each epoch, at its step */
  heldOut: { step: number; loss: number }[];
}

const SETTINGS = [
  { key: 'rank', label: 'Rank', step: '1', min: '1', help: 'Size of the adapter (LoRA r).' },
  { key: 'alpha', label: 'Alpha', step: 'any', min: '0', help: 'The adapter is scaled by alpha ÷ rank.' },
  { key: 'lr', label: 'Learning rate', step: 'any', min: '0', help: 'Peak, after warm-up; decays to a tenth.' },
  { key: 'epochs', label: 'Epochs', step: '1', min: '1', help: 'Passes over the training examples.' },
  { key: 'heldOut', label: 'Held out (%)', step: '1', min: '0', help: 'Examples kept out to measure the loss on.' },
] as const;
type SettingKey = (typeof SETTINGS)[number]['key'];

export class CriaFinetuneView extends LightElement {
  static override properties = {
    models: { state: true },
    modelId: { state: true },
    records: { state: true },
    fileName: { state: true },
    fileError: { state: true },
    settings: { state: true },
    live: { state: true },
    outcome: { state: true },
    problem: { state: true },
    applied: { state: true },
  };
  declare models: CachedModel[];
  declare modelId: string;
  declare records: TrainRecord[] | undefined;
  declare fileName: string;
  declare fileError: string;
  declare settings: Record<SettingKey, string>;
  declare live: Live | undefined;
  declare outcome: FinetuneOutcome | undefined;
  declare problem: string;
  declare applied: string;
  private data = '';
  private abort?: AbortController;
  private adapterUrl?: string;
  /** this outcome's adapter, once kept in the model cache for the Eval page */
  private tuned?: TunedModel;

  constructor() {
    super();
    this.models = [];
    this.modelId = '';
    this.records = undefined;
    this.fileName = '';
    this.fileError = '';
    this.settings = { rank: String(LORA_DEFAULTS.rank), alpha: String(LORA_DEFAULTS.alpha), lr: String(LORA_DEFAULTS.lr), epochs: '3', heldOut: '10' };
    this.live = undefined;
    this.outcome = undefined;
    this.problem = '';
    this.applied = '';
    new StateController(this, engine);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refreshModels();
    window.addEventListener('hashchange', this.onRoute);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onRoute);
  }

  private onRoute = () => {
    if (location.hash.startsWith('#/finetune')) void this.refreshModels();
  };

  /** the cache's complete GGUF models */
  async refreshModels(): Promise<void> {
    try {
      // (adapters this page kept for the Eval page are in the cache too: not base models)
      const adapters = new Set(listTuned().map((t) => t.adapterId));
      this.models = (await engine.client.cache.list()).filter((m) => m.complete && (m.format ?? 'gguf') === 'gguf' && !adapters.has(m.id)).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      this.models = [];
    }
    const loaded = engine.model.kind === 'ready' ? engine.model.info.cacheId : undefined;
    if (!this.models.some((m) => m.id === this.modelId)) this.modelId = (loaded && this.models.some((m) => m.id === loaded) ? loaded : this.models[0]?.id) ?? '';
  }

  private async readFile(file: File | undefined) {
    this.records = undefined;
    this.fileError = '';
    this.fileName = file?.name ?? '';
    if (!file) return;
    try {
      this.data = await file.text();
      this.records = parseTrainingJsonl(this.data, file.name);
    } catch (e) {
      this.fileError = toAppError(e).message;
    }
  }

  private options(): Record<string, number> | string {
    const num = (k: SettingKey) => Number(this.settings[k]);
    for (const s of SETTINGS) {
      const v = num(s.key);
      if (this.settings[s.key].trim() === '' || !Number.isFinite(v) || v < Number(s.min) || (s.step === '1' && !Number.isInteger(v))) return `${s.label}: ${s.step === '1' ? 'a whole number' : 'a number'} of at least ${s.min}.`;
    }
    if (!(num('lr') > 0)) return 'Learning rate: a number above 0.';
    if (num('heldOut') >= 100) return 'Held out (%): below 100.';
    return { rank: num('rank'), alpha: num('alpha'), lr: num('lr'), epochs: num('epochs'), held_out: num('heldOut') / 100 };
  }

  private start = async (e: SubmitEvent) => {
    e.preventDefault();
    this.problem = '';
    const model = this.models.find((m) => m.id === this.modelId);
    if (!model) return void (this.problem = 'Choose a base model: models come from the cache (download one on the Models page first).');
    if (!this.records) return void (this.problem = this.fileError || 'Choose a file of examples first.');
    const options = this.options();
    if (typeof options === 'string') return void (this.problem = options);
    if (engine.holder) return void (this.problem = `The engine is busy (${engine.holder.label}); wait for it or stop it.`);
    await engine.stopAnswers();
    const abort = (this.abort = new AbortController());
    this.outcome = undefined;
    this.applied = '';
    this.live = { step: 0, steps: 0, epoch: 0, epochs: options.epochs!, loss: NaN, tokensPerS: 0, etaS: 0, curve: [], heldOut: [] };
    const holder = { label: `Fine-tuning ${model.name}`, stop: () => abort.abort() };
    engine.hold(holder);
    try {
      const outcome = await engine.client.finetune(
        { model: { cached: model.id }, data: this.data, options: { ...options, name: `${model.name.replace(/\.gguf$/i, '')}-lora` } },
        { signal: abort.signal, onProgress: (ev) => this.onProgress(ev, holder) },
      );
      // the file to save, made before the result (and its link) is shown
      if (this.adapterUrl) URL.revokeObjectURL(this.adapterUrl);
      this.adapterUrl = URL.createObjectURL(new Blob([outcome.adapter as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      this.outcome = outcome;
      this.tuned = undefined;
    } catch (err) {
      this.problem = toAppError(err).message;
    } finally {
      this.abort = undefined;
      await engine.release();
    }
  };

  private onProgress(ev: FinetuneEvent, holder: { label: string }) {
    const l = this.live;
    if (!l) return;
    if (ev.phase === 'prepared') {
      this.live = { ...l, prepared: ev.prepared, steps: ev.prepared.steps };
      return;
    }
    const heldOut = [...l.heldOut];
    if (ev.held_out_loss !== undefined) heldOut.push({ step: ev.step, loss: ev.held_out_loss });
    this.live = { ...l, step: ev.step, steps: ev.steps, epoch: ev.epoch, epochs: ev.epochs, loss: ev.loss, tokensPerS: ev.tokens_per_s, etaS: ev.eta_s, curve: [...l.curve, ev.loss], heldOut };
    holder.label = `Fine-tuning ${ev.step}/${ev.steps}`;
    engine.holdChanged();
  }

  private stop = () => this.abort?.abort();

  /** the base model in chat, with the adapter applied to every answer */
  private useInChat = async () => {
    const o = this.outcome;
    const model = this.models.find((m) => m.id === this.modelId);
    if (!o || !model) return;
    this.problem = '';
    if (!(await engine.load({ cached: model.id }, model.name))) return void (this.problem = 'The base model could not be loaded; see the Models page.');
    try {
      const info = await engine.client.loadAdapter({ bytes: (o.adapter.buffer as ArrayBuffer).slice(o.adapter.byteOffset, o.adapter.byteOffset + o.adapter.byteLength) }, { id: `tuned-${Date.now().toString(36)}` });
      await engine.client.setAdapters([{ id: info.id, scale: 1 }]);
      this.applied = `${model.name} is loaded with the adapter (${info.matrices} matrices, rank ${info.ranks.join('/')}): every chat answer uses it.`;
    } catch (e) {
      this.problem = toAppError(e).message;
    }
  };

  /** the adapter kept in the model cache and remembered with its base (src/app/tuned.ts), then the Eval page set to base vs tuned */
  private evaluate = async () => {
    const o = this.outcome;
    const model = this.models.find((m) => m.id === this.modelId);
    if (!o || !model) return;
    this.problem = '';
    if (!this.tuned) {
      if (!(await engine.load({ cached: model.id }, model.name))) return void (this.problem = 'The base model could not be loaded; see the Models page.');
      const name = `${model.name.replace(/\.gguf$/i, '')}-lora`;
      try {
        const file = new File([o.adapter as Uint8Array<ArrayBuffer>], `${name}.gguf`, { lastModified: Date.now() });
        const info = await engine.client.loadAdapter({ file, cache: true }, { id: `tuned-${Date.now().toString(36)}` });
        if (!info.cacheId) throw new Error('the adapter could not be kept in the model cache');
        this.tuned = { adapterId: info.cacheId, adapterName: name, baseId: model.id, baseName: model.name, createdAt: Date.now() };
        rememberTuned(this.tuned);
      } catch (e) {
        return void (this.problem = toAppError(e).message);
      }
    }
    setEvalPreset({ tuned: tunedValue(this.tuned) });
    location.hash = '#/eval';
  };

  override render() {
    const l = this.live;
    const running = !!this.abort;
    return html`<section class="page finetune-page">
      <h1 tabindex="-1">Fine-tune</h1>
      <p class="muted">
        Teach a model your task from examples, on this device: a LoRA adapter is trained on the answers in your file, and nothing leaves the browser. Training runs on the processor
        (Cria's reference engine), which suits models of a few million parameters; bigger ones take long.
      </p>
      <form class="card finetune-setup" @submit=${this.start}>
        <label class="field">
          <span class="field-label">Base model</span>
          <select id="finetune-model" .value=${this.modelId} @change=${(e: Event) => (this.modelId = (e.target as HTMLSelectElement).value)} ?disabled=${running}>
            ${this.models.length === 0 ? html`<option value="">No model in the cache</option>` : nothing}
            ${this.models.map((m) => html`<option value=${m.id} ?selected=${m.id === this.modelId}>${m.name} (${formatBytes(m.size)})</option>`)}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Examples (JSON Lines)</span>
          <input id="finetune-file" type="file" accept=".jsonl,.json,.txt,application/json" ?disabled=${running} @change=${(e: Event) => void this.readFile((e.target as HTMLInputElement).files?.[0])} aria-describedby="finetune-file-status" />
          <span class="field-help muted small">One example per line: <code>{"instruction", "input", "output"}</code> (Alpaca) or <code>{"messages": [{"role", "content"}, …]}</code>. The loss is on the answers only.</span>
        </label>
        <p id="finetune-file-status" class=${this.fileError ? 'field-error small' : 'muted small'} role=${this.fileError ? 'alert' : 'status'} data-testid="finetune-file-status">
          ${this.fileError || (this.records ? html`<span class="badge ok">ready</span> ${this.records.length} examples (${this.records[0]!.kind === 'alpaca' ? 'Alpaca' : 'chat'}) in ${this.fileName}` : 'No file chosen.')}
        </p>
        <div class="field-row">
          ${SETTINGS.map(
            (s) => html`<label class="field">
              <span class="field-label">${s.label}</span>
              <input name=${s.key} type="number" inputmode="decimal" step=${s.step} min=${s.min} .value=${this.settings[s.key]} ?disabled=${running} @input=${(e: Event) => (this.settings = { ...this.settings, [s.key]: (e.target as HTMLInputElement).value })} />
              <span class="field-help muted small">${s.help}</span>
            </label>`,
          )}
        </div>
        ${this.problem ? html`<p class="field-error" role="alert" data-testid="finetune-problem">${this.problem}</p>` : nothing}
        <div class="actions">
          ${running ? html`<button type="button" class="button" @click=${this.stop}>Stop</button>` : html`<button type="submit" class="button primary" ?disabled=${!this.records || !this.modelId}>Start</button>`}
        </div>
      </form>
      ${l ? this.progress(l, running) : nothing} ${this.outcome ? this.result(this.outcome) : nothing}
    </section>`;
  }

  private progress(l: Live, running: boolean) {
    const p = l.prepared;
    const eta = `${Math.floor(l.etaS / 60)}:${String(Math.round(l.etaS % 60)).padStart(2, '0')}`;
    return html`<section class="card finetune-live" data-testid="finetune-live" aria-live="polite">
      <h2>${running ? 'Training' : 'Trained'}</h2>
      ${p
        ? html`<p class="muted small" data-testid="finetune-prepared">
            ${p.train} examples to train on, ${p.held_out} held out; ${p.learned_tokens} answer tokens of ${p.train_tokens}${p.truncated ? `; ${p.truncated} cut at ${p.n_ctx} tokens` : ''}; ${p.trainable.toLocaleString()} values to train
            (${p.prompt === 'alpaca' ? "Alpaca's prompt: the model has no chat template" : "the model's chat template"}).
            ${p.resumed_from_step ? html`<strong data-testid="finetune-resumed">Going on from step ${p.resumed_from_step}</strong>, where this fine-tune was checkpointed before.` : nothing}
          </p>`
        : html`<p class="muted small">Reading the model and the examples…</p>`}
      <p data-testid="finetune-progress">
        Step ${l.step} of ${l.steps || '…'} · epoch ${l.epoch || 1} of ${l.epochs}${Number.isFinite(l.loss) ? html` · loss ${l.loss.toFixed(3)}` : nothing}${l.step ? html` · ${l.tokensPerS.toFixed(0)} tokens/s${running ? html` · ${eta} left` : nothing}` : nothing}
      </p>
      ${l.steps ? html`<progress max=${l.steps} .value=${l.step} aria-label="Training progress"></progress>` : nothing} ${this.chart(l)}
      ${l.heldOut.length ? html`<p class="small" data-testid="finetune-heldout">Held-out loss: ${l.heldOut.map((h, i) => `${h.loss.toFixed(3)} after epoch ${i + 1}`).join(' → ')}</p>` : nothing}
    </section>`;
  }

  /** the training loss per step (line) and the held-out loss (points) */
  private chart(l: Live) {
    if (l.curve.length < 2) return nothing;
    const W = 600;
    const H = 160;
    const all = [...l.curve, ...l.heldOut.map((h) => h.loss)];
    const max = Math.max(...all) * 1.05;
    const x = (step: number) => (W * step) / Math.max(1, l.steps);
    const y = (v: number) => H - (H * v) / max;
    const line = l.curve.map((v, i) => `${x(i + 1).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    return html`<svg class="loss-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Loss per step: training ${l.curve[l.curve.length - 1]!.toFixed(3)} at step ${l.curve.length}" preserveAspectRatio="none">
      ${svg`<polyline class="train" points=${line} fill="none" stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke" />`}
      ${l.heldOut.map((h) => svg`<circle class="held-out" cx=${x(h.step)} cy=${y(h.loss)} r="4" />`)}
    </svg>`;
  }

  private result(o: FinetuneOutcome) {
    const model = this.models.find((m) => m.id === this.modelId);
    const name = `${(model?.name ?? 'model').replace(/\.gguf$/i, '')}-lora.gguf`;
    return html`<section class="card finetune-result" data-testid="finetune-result">
      <h2>${o.stopped_early ? 'Stopped: the adapter holds what was trained' : 'Done'}</h2>
      <p>
        ${o.steps} steps in ${o.seconds.toFixed(0)} s. Held-out loss
        <span data-testid="finetune-loss-change">${o.held_out_loss[0] !== null && o.held_out_loss.length > 1 ? `${o.held_out_loss[0]!.toFixed(3)} before training → ${o.held_out_loss[o.held_out_loss.length - 1]!.toFixed(3)} after` : 'not measured (nothing held out)'}</span>.
        The adapter (${formatBytes(o.adapter.byteLength)}, rank ${o.rank}, alpha ${o.alpha}) is a llama.cpp LoRA file: Cria, llama.cpp (<code>--lora</code>) and the API's <code>loadAdapter</code> load it.
      </p>
      <div class="actions">
        <a class="button" href=${this.adapterUrl ?? '#'} download=${name} data-testid="finetune-download">Save the adapter</a>
        <button type="button" class="button primary" @click=${this.useInChat} ?disabled=${engine.busy}>Use it in chat</button>
        <button type="button" class="button" @click=${this.evaluate} ?disabled=${engine.busy} data-testid="finetune-evaluate">Evaluate base vs tuned</button>
      </div>
      <p class="muted small">Evaluate base vs tuned keeps the adapter in this browser's model cache and opens the Eval page with the tuned model chosen: a benchmark runs on both, a judged pairwise task sets them against each other.</p>
      ${this.applied ? html`<p class="small" role="status" data-testid="finetune-applied">${this.applied} <a href="#/chat">Go to chat</a></p>` : nothing}
    </section>`;
  }
}
customElements.define('cria-finetune-view', CriaFinetuneView);

declare global {
  interface HTMLElementTagNameMap {
    'cria-finetune-view': CriaFinetuneView;
  }
}

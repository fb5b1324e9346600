/**
 * <cria-eval-setup>: what to evaluate. A task from the catalogue (downloaded once, then kept)
 * or from files on this device (read at once, so a bad file is named before anything runs), a
 * limit, the model(s) from the model cache (and model B / the judge for judged tasks), and the
 * settings that matter for the kind. Raises `start` with a `StartRequest`.
 */
import { html, nothing } from 'lit';
import { CATALOGUE, catalogueEntry, type Task, type TaskKind } from '../eval/index.ts';
import type { CachedModel } from '../client/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { toAppError } from './errors.ts';
import { formatBytes } from './format.ts';
import { cachedUrls, catalogueTask, FILE_FORMATS, isJudgedKind, limitTask, taskFromFiles, withOptions, type FileFormat, type FileTask, type ModelChoice, type RunModels } from './eval-data.ts';
import { KIND_LABEL, runtimeOfFormat, webllmTaskNote } from './eval-format.ts';
import { availableTuned, takeEvalPreset, tunedLabel, tunedValue, type TunedModel } from './tuned.ts';

export interface StartRequest {
  prepare(signal: AbortSignal, onDownload: (p: { loadedBytes: number; totalBytes?: number }) => void): Promise<Task>;
  models: RunModels;
  /** a second run of the same task once the first is done (base vs tuned: the base model's run) */
  then?: RunModels;
}

type Source = 'catalogue' | 'file';

const positive = (s: string): number | undefined => {
  const n = Number(s);
  return s.trim() !== '' && Number.isInteger(n) && n > 0 ? n : undefined;
};

/** after a model's size in the model choices: what runs it, when it is not Cria's own engine on a GGUF */
const FORMAT_IN_CHOICE: Record<NonNullable<CachedModel['format']>, string> = { gguf: '', onnx: ', ONNX: onnxruntime-web', mlc: ', MLC: WebLLM' };

export class CriaEvalSetup extends LightElement {
  static override properties = {
    disabled: { type: Boolean },
    source: { state: true },
    catalogueName: { state: true },
    downloaded: { state: true },
    fileTask: { state: true },
    fileError: { state: true },
    format: { state: true },
    limit: { state: true },
    models: { state: true },
    modelA: { state: true },
    modelB: { state: true },
    judge: { state: true },
    maxTokens: { state: true },
    judgeMaxTokens: { state: true },
    relative: { state: true },
    constrainVerdict: { state: true },
    nCtx: { state: true },
    problem: { state: true },
    tuned: { state: true },
    alsoBase: { state: true },
  };
  /** a run is in progress */
  declare disabled: boolean;
  declare source: Source;
  declare catalogueName: string;
  declare downloaded: Set<string>;
  declare fileTask: FileTask | undefined;
  declare fileError: string;
  declare format: FileFormat;
  declare limit: string;
  declare models: CachedModel[] | undefined;
  declare modelA: string;
  declare modelB: string;
  declare judge: string;
  declare maxTokens: string;
  declare judgeMaxTokens: string;
  declare relative: boolean;
  /** the judge answers under its verdict's grammar (task option constrain_verdict) */
  declare constrainVerdict: boolean;
  declare nCtx: string;
  declare problem: string;
  /** base + adapter pairs trained on this device, both in the cache (src/app/tuned.ts) */
  declare tuned: TunedModel[];
  /** with a tuned model A (not pairwise): also run the task on its base, for base vs tuned */
  declare alsoBase: boolean;
  private files: File[] = [];
  private lastModelState = '';

  constructor() {
    super();
    this.disabled = false;
    this.source = 'catalogue';
    this.catalogueName = 'hellaswag';
    this.downloaded = new Set();
    this.fileTask = undefined;
    this.fileError = '';
    this.format = 'auto';
    this.limit = '';
    this.models = undefined;
    this.modelA = '';
    this.modelB = '';
    this.judge = '';
    this.maxTokens = '';
    this.judgeMaxTokens = '';
    this.relative = true;
    this.constrainVerdict = true;
    this.nCtx = '';
    this.problem = '';
    this.tuned = [];
    this.alsoBase = true;
    new StateController(this, engine);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refreshModels();
    void this.refreshDownloaded();
  }

  protected override willUpdate(): void {
    // a model loaded elsewhere may just have been cached: list the cache again
    const m = engine.model;
    const key = m.kind === 'ready' ? `ready:${m.info.cacheId ?? m.info.id}` : m.kind;
    if (key !== this.lastModelState) {
      const was = this.lastModelState;
      this.lastModelState = key;
      if (was && m.kind === 'ready') void this.refreshModels();
    }
  }

  /** the model cache's complete models (call when the page is shown again) */
  async refreshModels(): Promise<void> {
    try {
      const list = (await engine.client.cache.list()).filter((m) => m.complete).sort((a, b) => a.name.localeCompare(b.name));
      const cachedIds = new Set(list.map((m) => m.id));
      this.tuned = availableTuned(cachedIds);
      // (a cached adapter is not a model to choose on its own)
      const adapters = new Set(this.tuned.map((t) => t.adapterId));
      this.models = list.filter((m) => !adapters.has(m.id));
      const ids = new Set([...this.models.map((m) => m.id), ...this.tuned.map(tunedValue)]);
      const loaded = engine.model.kind === 'ready' ? engine.model.info.cacheId : undefined;
      const first = (loaded && ids.has(loaded) ? loaded : this.models[0]?.id) ?? '';
      // the Fine-tune page's "evaluate base vs tuned": the tuned model as A, its base as B
      const preset = takeEvalPreset();
      const presetTuned = preset && this.tuned.find((t) => tunedValue(t) === preset.tuned);
      if (presetTuned) {
        this.modelA = tunedValue(presetTuned);
        this.modelB = presetTuned.baseId;
        this.alsoBase = true;
      }
      if (!ids.has(this.modelA)) this.modelA = first;
      if (!ids.has(this.modelB)) this.modelB = this.models.find((m) => m.id !== this.modelA)?.id ?? first;
      if (!ids.has(this.judge)) this.judge = first;
    } catch (e) {
      console.warn('cria: the model cache could not be listed', e);
      this.models = [];
    }
  }

  async refreshDownloaded(): Promise<void> {
    this.downloaded = await cachedUrls(CATALOGUE.flatMap((e) => e.urls));
  }

  private get kind(): TaskKind | undefined {
    return this.source === 'catalogue' ? catalogueEntry(this.catalogueName)?.kind : this.fileTask?.task.kind;
  }

  private async onFiles(input: HTMLInputElement) {
    this.files = [...(input.files ?? [])];
    await this.readFiles();
  }

  private async readFiles() {
    this.fileTask = undefined;
    this.fileError = '';
    this.problem = '';
    if (this.files.length === 0) return;
    try {
      this.fileTask = await taskFromFiles(this.files, this.format);
    } catch (e) {
      // the loaders' messages start with the file's name: keep it as it is written
      this.fileError = e instanceof Error && e.message ? e.message : toAppError(e).message;
    }
  }

  private modelChoice(id: string): ModelChoice | undefined {
    const t = this.tunedOf(id);
    if (t) return { cacheId: t.baseId, label: tunedLabel(t), adapter: { cacheId: t.adapterId, label: t.adapterName } };
    const m = this.models?.find((x) => x.id === id);
    return m ? { cacheId: m.id, label: m.name } : undefined;
  }

  private tunedOf(value: string): TunedModel | undefined {
    return this.tuned.find((t) => tunedValue(t) === value);
  }

  private submit = (e: SubmitEvent) => {
    e.preventDefault();
    this.problem = '';
    const kind = this.kind;
    const limitRaw = this.limit.trim();
    const limit = positive(limitRaw);
    if (limitRaw !== '' && limit === undefined) return this.fail('The limit must be a whole number above 0, or empty for all.', '#eval-limit');
    const A = this.modelChoice(this.modelA);
    if (!A) return this.fail('Choose a model: models come from the cache (download one on the Models page first).', '#eval-model-a');
    const judged = isJudgedKind(kind);
    const B = kind === 'judge-pairwise' ? this.modelChoice(this.modelB) : undefined;
    const judge = judged ? this.modelChoice(this.judge) : undefined;
    if (kind === 'judge-pairwise' && !B) return this.fail('Choose model B.', '#eval-model-b');
    if (judged && !judge) return this.fail('Choose the judge model.', '#eval-judge');
    const nums: Record<string, string> = judged ? { max_tokens: this.maxTokens, judge_max_tokens: this.judgeMaxTokens } : kind === 'perplexity' ? { n_ctx: this.nCtx } : {};
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(nums)) {
      if (v.trim() === '') continue;
      const n = positive(v);
      if (n === undefined) return this.fail('Token counts must be whole numbers above 0 (or empty for the default).', `[name="${k}"]`);
      options[k] = n;
    }
    if (kind === 'judge-pairwise' && !this.relative) options.relative = false;
    if (judged && !this.constrainVerdict) options.constrain_verdict = false;
    let prepare: StartRequest['prepare'];
    if (this.source === 'catalogue') {
      const name = this.catalogueName;
      prepare = async (signal, onDownload) => withOptions(await catalogueTask(name, { limit, signal, onProgress: (p) => onDownload(p) }), options);
    } else {
      const ft = this.fileTask;
      if (!ft) return this.fail(this.fileError || 'Choose a file first.', '#eval-file');
      prepare = async () => withOptions(limitTask(ft.task, limit, ft.limitIsChars), options);
    }
    const base = A.adapter && kind !== 'judge-pairwise' && this.alsoBase ? this.modelChoice(this.tunedOf(this.modelA)!.baseId) : undefined;
    const detail: StartRequest = {
      prepare,
      models: { A, ...(B ? { B } : {}), ...(judge ? { judge } : {}) },
      ...(base ? { then: { A: base, ...(judge ? { judge } : {}) } } : {}),
    };
    this.dispatchEvent(new CustomEvent<StartRequest>('start', { detail, bubbles: true }));
  };

  private fail(message: string, focus?: string) {
    this.problem = message;
    if (focus) this.updateComplete.then(() => this.querySelector<HTMLElement>(focus)?.focus());
  }

  /** the page shows a failure of the task's preparation (a download) here */
  showProblem(message: string): void {
    this.problem = message;
  }

  override render() {
    const kind = this.kind;
    const judged = isJudgedKind(kind);
    const entry = catalogueEntry(this.catalogueName);
    const models = this.models;
    const busy = engine.busy && !engine.holder;
    const unavailable = engine.blocked;
    const canStart = !this.disabled && !busy && !unavailable && !!models?.length && (this.source === 'catalogue' || !!this.fileTask);
    const limitChars = this.source === 'file' ? !!this.fileTask?.limitIsChars : kind === 'perplexity';
    return html`<form class="card eval-setup" @submit=${this.submit} novalidate aria-describedby="eval-setup-problem">
      <fieldset class="eval-fieldset" ?disabled=${this.disabled}>
        <legend class="field-label">Task</legend>
        <div class="segmented" role="radiogroup" aria-label="Where the task comes from">
          ${(['catalogue', 'file'] as const).map(
            (s) => html`<label class="segment">
              <input type="radio" name="eval-source" value=${s} .checked=${this.source === s} @change=${() => ((this.source = s), (this.problem = ''))} />
              <span>${s === 'catalogue' ? 'From the catalogue' : 'From files on this device'}</span>
            </label>`,
          )}
        </div>
        ${this.source === 'catalogue' ? this.catalogue(entry) : this.fileFields()}
        ${this.runtimeNote(kind, judged)}
        <div class="field-row">
          <label class="field">
            <span class="field-label">Limit</span>
            <input id="eval-limit" type="number" min="1" step="1" inputmode="numeric" placeholder="all" .value=${this.limit} @input=${(e: Event) => (this.limit = (e.target as HTMLInputElement).value)} aria-describedby="eval-limit-help" />
            <span id="eval-limit-help" class="field-help muted small">${limitChars ? 'Characters of the text to use; empty for all of it.' : 'The first N items; empty for all of them.'}</span>
          </label>
          ${kind === 'perplexity'
            ? html`<label class="field">
                <span class="field-label">Window (tokens)</span>
                <input name="n_ctx" type="number" min="2" step="1" inputmode="numeric" placeholder="512" .value=${this.nCtx} @input=${(e: Event) => (this.nCtx = (e.target as HTMLInputElement).value)} />
                <span class="field-help muted small">llama-perplexity’s chunk size; at most the model’s context.</span>
              </label>`
            : nothing}
        </div>
      </fieldset>
      <fieldset class="eval-fieldset" ?disabled=${this.disabled}>
        <legend class="field-label">Models</legend>
        ${models === undefined
          ? html`<p class="muted small">Reading the model cache…</p>`
          : models.length === 0
            ? html`<p class="notice small">No model is in this browser’s cache yet. Evaluations use cached models: download one (or open a file with “keep in cache”) on the <a href="#/models">Models page</a>.</p>`
            : html`<div class="field-row">
                ${this.modelSelect('eval-model-a', kind === 'judge-pairwise' ? 'Model A' : 'Model', this.modelA, (v) => (this.modelA = v))}
                ${kind === 'judge-pairwise' ? this.modelSelect('eval-model-b', 'Model B', this.modelB, (v) => (this.modelB = v)) : nothing}
                ${judged ? this.modelSelect('eval-judge', 'Judge', this.judge, (v) => (this.judge = v)) : nothing}
              </div>`}
        ${this.tunedOf(this.modelA) && kind !== 'judge-pairwise'
          ? html`<label class="check">
              <input type="checkbox" name="also_base" .checked=${this.alsoBase} @change=${(e: Event) => (this.alsoBase = (e.target as HTMLInputElement).checked)} />
              Also evaluate the base model, ${this.tunedOf(this.modelA)!.baseName} (base vs tuned: two runs, then compared below)
            </label>`
          : nothing}
        ${judged ? this.judgeFields(kind) : nothing}
      </fieldset>
      ${this.problem ? html`<p id="eval-setup-problem" class="field-error" role="alert">${this.problem}</p>` : html`<p id="eval-setup-problem" hidden></p>`}
      ${engine.answering && !this.disabled ? html`<p class="notice warn small" role="status">A chat answer is being written. Starting stops it (what it wrote so far is kept).</p>` : nothing}
      <p class="eval-start">
        <button type="submit" class="button primary" ?disabled=${!canStart}>${engine.answering ? 'Stop the answer and start' : 'Start'}</button>
        ${busy ? html`<span class="muted small">Wait until ${engine.model.kind === 'loading' ? engine.model.label : 'the model'} has loaded.</span>` : nothing}
        ${this.disabled ? html`<span class="muted small">An evaluation is running (below).</span>` : nothing}
      </p>
    </form>`;
  }

  /**
   * WebLLM scores a token per step: said by the task list when a model the run will use is an MLC model
   * (model A is the loaded model when it is cached, so a loaded MLC model shows it from the start)
   */
  private runtimeNote(kind: TaskKind | undefined, judged: boolean) {
    const chosen = [this.modelA, ...(kind === 'judge-pairwise' ? [this.modelB] : []), ...(judged ? [this.judge] : [])];
    const runtimes = chosen.map((id) => this.models?.find((m) => m.id === id)).map((m) => (m ? runtimeOfFormat(m.format) : undefined));
    const note = webllmTaskNote(runtimes, kind);
    if (!note) return nothing;
    return html`<p class="notice small ${note.slow ? 'warn' : ''}" role="note" data-testid="webllm-note">${note.text}</p>`;
  }

  private modelSelect(id: string, label: string, value: string, set: (v: string) => void) {
    return html`<label class="field">
      <span class="field-label">${label}</span>
      <select id=${id} .value=${value} @change=${(e: Event) => set((e.target as HTMLSelectElement).value)}>
        ${(this.models ?? []).map((m) => html`<option value=${m.id} ?selected=${m.id === value}>${m.name} (${formatBytes(m.size)}${FORMAT_IN_CHOICE[m.format ?? 'gguf']})</option>`)}
        ${this.tuned.length
          ? html`<optgroup label="Tuned on this device (base + adapter)">
              ${this.tuned.map((t) => html`<option value=${tunedValue(t)} ?selected=${tunedValue(t) === value}>${tunedLabel(t)}</option>`)}
            </optgroup>`
          : nothing}
      </select>
    </label>`;
  }

  private catalogue(entry: ReturnType<typeof catalogueEntry>) {
    const kinds = [...new Set(CATALOGUE.map((e) => e.kind))];
    const have = entry ? entry.urls.every((u) => this.downloaded.has(u)) : false;
    return html`<label class="field">
        <span class="field-label">Task</span>
        <select id="eval-catalogue" .value=${this.catalogueName} @change=${(e: Event) => ((this.catalogueName = (e.target as HTMLSelectElement).value), (this.problem = ''))}>
          ${kinds.map(
            (k) => html`<optgroup label=${KIND_LABEL[k]}>
              ${CATALOGUE.filter((e) => e.kind === k).map((e) => html`<option value=${e.name} ?selected=${e.name === this.catalogueName}>${e.title}</option>`)}
            </optgroup>`,
          )}
        </select>
      </label>
      ${entry
        ? html`<div class="catalogue-info small">
            <p>${entry.description}</p>
            <p class="muted">
              ${entry.items ? `${entry.items.toLocaleString('en-US')} items · ` : ''}${entry.license}
              ${entry.homepage ? html` · <a href=${entry.homepage} target="_blank" rel="noopener noreferrer">about the data</a>` : nothing} ·
              ${entry.urls.length === 0
                ? 'nothing to download'
                : have
                  ? html`<span class="badge ok">downloaded</span> kept in this browser`
                  : 'downloaded when you start, then kept in this browser'}
            </p>
          </div>`
        : nothing}`;
  }

  private fileFields() {
    const ft = this.fileTask;
    return html`<div class="file-fields">
      <div class="field-row">
        <div class="field">
          <span class="field-label" id="eval-file-label">Files</span>
          <label class="button file-button">
            Choose files…
            <input
              id="eval-file"
              class="visually-hidden"
              type="file"
              multiple
              accept=".jsonl,.json,.txt,.csv,.lst"
              aria-labelledby="eval-file-label"
              aria-describedby="eval-file-help eval-file-status"
              @change=${(e: Event) => void this.onFiles(e.target as HTMLInputElement)}
            />
          </label>
        </div>
        <label class="field">
          <span class="field-label">Format</span>
          <select id="eval-format" .value=${this.format} @change=${(e: Event) => ((this.format = (e.target as HTMLSelectElement).value as FileFormat), void this.readFiles())}>
            ${FILE_FORMATS.map((f) => html`<option value=${f.value} ?selected=${f.value === this.format}>${f.label}</option>`)}
          </select>
        </label>
      </div>
      <p id="eval-file-help" class="field-help muted small">
        A task you wrote (JSON Lines, as Cria’s docs/eval-format.md describes), HellaSwag, MMLU CSV (several subjects at once), ARC, PIQA (with its labels file), GSM8K,
        MT-bench / Vicuna questions (with FastChat’s judge_prompts.jsonl, and reference answers) or a text file for perplexity. Files are read here; nothing is uploaded.
      </p>
      <p id="eval-file-status" class=${this.fileError ? 'field-error small' : 'muted small'} role=${this.fileError ? 'alert' : 'status'} data-testid="eval-file-status">
        ${this.fileError ? this.fileError : ft ? html`<span class="badge ok">ready</span> ${ft.describe}` : this.files.length ? 'Reading…' : 'No file chosen.'}
      </p>
    </div>`;
  }

  private judgeFields(kind: 'judge-single' | 'judge-pairwise') {
    return html`<div class="field-row">
        <label class="field">
          <span class="field-label">Answer length (tokens)</span>
          <input name="max_tokens" type="number" min="1" step="1" inputmode="numeric" placeholder="1024" .value=${this.maxTokens} @input=${(e: Event) => (this.maxTokens = (e.target as HTMLInputElement).value)} />
          <span class="field-help muted small">At most, per turn (FastChat: 1024).</span>
        </label>
        <label class="field">
          <span class="field-label">Verdict length (tokens)</span>
          <input name="judge_max_tokens" type="number" min="1" step="1" inputmode="numeric" placeholder="2048" .value=${this.judgeMaxTokens} @input=${(e: Event) => (this.judgeMaxTokens = (e.target as HTMLInputElement).value)} />
          <span class="field-help muted small">At most, per verdict (FastChat: 2048).</span>
        </label>
      </div>
      ${kind === 'judge-pairwise'
        ? html`<label class="check small">
            <input type="checkbox" .checked=${this.relative} @change=${(e: Event) => (this.relative = (e.target as HTMLInputElement).checked)} />
            Also grade each answer alone, for the relative score (“A reaches X% of B”)
          </label>`
        : nothing}
      <label class="check small">
        <input type="checkbox" name="constrain_verdict" .checked=${this.constrainVerdict} @change=${(e: Event) => (this.constrainVerdict = (e.target as HTMLInputElement).checked)} />
        Constrain the judge’s verdict to its format (${kind === 'judge-pairwise' ? '[[A]], [[B]] or [[C]]' : '[[1]] to [[10]]'} at the end)
      </label>
      <p class="muted small">The models answer one after another, then the judge reads them: one model is in the GPU at a time. Small judges rarely give a verdict in the expected form on their own, so by default it is enforced token by token, as structured output; unticked, the judge writes freely and verdicts that cannot be read are counted and shown.</p>`;
  }
}
customElements.define('cria-eval-setup', CriaEvalSetup);

declare global {
  interface HTMLElementTagNameMap {
    'cria-eval-setup': CriaEvalSetup;
  }
}

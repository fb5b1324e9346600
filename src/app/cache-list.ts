/**
 * <cria-cache-list>: the models kept in this browser (complete, or a
 * download that stopped and can resume), with size, last use and actions,
 * and the site's storage: used of quota, and whether the browser promised
 * to keep it (persistence). Raises `load-model`, `delete-model` {id},
 * `delete-all`, `persist`.
 */
import { html, nothing } from 'lit';
import type { CachedModel, ModelSource, StorageInfo } from '../client/index.ts';
import { FORMAT_TAG } from './catalogue.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { formatBytes, formatWhen } from './format.ts';
import type { LoadRequest } from './load-request.ts';

/** a cached model's format tag's title, with its file count where it has several */
const FORMAT_TITLE: Record<'gguf' | 'onnx' | 'mlc', (files: number) => string> = {
  gguf: () => FORMAT_TAG.gguf.title,
  onnx: (n) => `an ONNX repository (${n} files), run by onnxruntime-web`,
  mlc: (n) => `an MLC model (${n} weight shard${n === 1 ? '' : 's'}), run by WebLLM`,
};

export class CriaCacheList extends LightElement {
  static override properties = {
    models: { attribute: false },
    storage: { attribute: false },
    error: { type: String },
    confirming: { state: true },
  };
  declare models: CachedModel[];
  declare storage: StorageInfo | undefined;
  declare error: string;
  /** the id awaiting "really delete?", or '*' for all */
  declare confirming: string | undefined;

  constructor() {
    super();
    this.models = [];
    this.storage = undefined;
    this.error = '';
    this.confirming = undefined;
    new StateController(this, engine);
  }

  private emit(type: string, detail?: unknown) {
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, detail }));
  }

  private load(m: CachedModel) {
    // a partial ONNX repository resumes from its base URL (its files are fetched, the stored ones kept);
    // an MLC model from Cria's record of it (WebLLM fetches the shards its cache lacks)
    const resume: ModelSource =
      m.format === 'onnx' ? { onnx: { url: m.url!, name: m.name, ...(m.model ? { model: m.model } : {}) } } : m.format === 'mlc' ? { cached: m.id } : { url: m.url! };
    const detail: LoadRequest = m.complete
      ? { source: { cached: m.id }, label: m.name }
      : { source: resume, label: m.name, bytes: m.size, storedBytes: m.storedBytes, caches: true };
    this.emit('load-model', detail);
  }

  override render() {
    const s = this.storage;
    return html`${this.error ? html`<p class="field-error" role="alert">${this.error}</p>` : nothing}
      ${s ? this.storageSummary(s) : nothing}
      ${this.models.length === 0
        ? html`<p class="muted">No models are kept in this browser yet.</p>`
        : html`<div class="table-wrap">
            <table class="cache-table">
              <caption class="visually-hidden">Models in this browser’s cache</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Size</th>
                  <th scope="col">State</th>
                  <th scope="col">Last used</th>
                  <th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                ${this.models.map((m) => this.row(m))}
              </tbody>
            </table>
          </div>`}
      ${this.models.length > 0
        ? html`<p class="cache-foot">
            ${this.confirming === '*'
              ? html`<span>Delete all ${this.models.length} cached models (${formatBytes(this.models.reduce((a, m) => a + m.storedBytes, 0))})?</span>
                  <button type="button" class="button small danger" @click=${() => ((this.confirming = undefined), this.emit('delete-all'))}>Delete all</button>
                  <button type="button" class="button small" @click=${() => (this.confirming = undefined)}>Keep them</button>`
              : html`<button type="button" class="button small" ?disabled=${engine.busy} @click=${() => (this.confirming = '*')}>Delete all…</button>`}
          </p>`
        : nothing}`;
  }

  private row(m: CachedModel) {
    const pct = m.size > 0 ? Math.floor((100 * m.storedBytes) / m.size) : 0;
    const host = m.url ? safeHost(m.url) : 'local file';
    const format = m.format ?? 'gguf';
    return html`<tr data-cache-id=${m.id}>
      <th scope="row">
        <span class="cache-name">${m.name}</span>
        <span class="muted small cache-source"
          ><span class="format-tag" data-format=${format} title=${FORMAT_TITLE[format](m.files ?? 0)}>${FORMAT_TAG[format].label}</span>
          ${host}${m.files ? (format === 'onnx' ? ` · ${m.files} files` : format === 'mlc' ? ` · ${m.files} weight shard${m.files === 1 ? '' : 's'}` : '') : ''}</span
        >
      </th>
      <td>${formatBytes(m.size)}</td>
      <td>
        ${m.complete
          ? html`<span class="badge ok">complete</span>`
          : html`<span class="badge warn" title="${formatBytes(m.storedBytes)} of ${formatBytes(m.size)} stored">partial, ${pct}%</span>`}
      </td>
      <td>${formatWhen(m.lastUsedAt ?? m.createdAt)}</td>
      <td class="cache-actions">
        ${this.confirming === m.id
          ? html`<button type="button" class="button small danger" @click=${() => ((this.confirming = undefined), this.emit('delete-model', { id: m.id }))}>Delete</button>
              <button type="button" class="button small" @click=${() => (this.confirming = undefined)}>Keep</button>`
          : html`${m.complete || m.url
                ? html`<button type="button" class="button small" ?disabled=${engine.busy} @click=${() => this.load(m)} aria-label="${m.complete ? 'Load' : 'Resume downloading'} ${m.name}">
                    ${m.complete ? 'Load' : 'Resume'}
                  </button>`
                : nothing}
              <button type="button" class="button small ghost" ?disabled=${engine.busy} @click=${() => (this.confirming = m.id)} aria-label="Delete ${m.name} from the cache">Delete</button>`}
      </td>
    </tr>`;
  }

  private storageSummary(s: StorageInfo) {
    const used = s.quota > 0 ? Math.min(1, s.usage / s.quota) : 0;
    return html`<div class="storage" data-testid="storage">
      <p>
        <strong>${formatBytes(s.usage)}</strong> used of about <strong>${formatBytes(s.quota)}</strong> this browser allows this site
        (${formatBytes(s.modelBytes)} of it models; ${formatBytes(Math.max(0, s.quota - s.usage))} free).
      </p>
      <progress max="1" .value=${used} aria-label="Storage used"></progress>
      <p class="small">
        ${s.persisted
          ? html`<span class="badge ok">persistent</span> The browser promised not to clear these models when space runs low.`
          : html`<span class="badge warn">not persistent</span> The browser may clear these models when the device runs low on space.
              <button type="button" class="button small" @click=${() => this.emit('persist')}>Ask to keep them</button>`}
      </p>
    </div>`;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

customElements.define('cria-cache-list', CriaCacheList);

declare global {
  interface HTMLElementTagNameMap {
    'cria-cache-list': CriaCacheList;
  }
}

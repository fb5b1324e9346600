/**
 * <cria-catalogue>: the suggested models (public/models.json, and the MLC
 * models the adapter can run: catalogue-mlc.ts) with their format, their
 * approximate sizes and whether each is already in this browser's cache.
 * Raises `load-model` (see LoadRequest); the models view checks the space
 * and loads.
 */
import { html, nothing } from 'lit';
import type { CachedModel } from '../client/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { formatBytes } from './format.ts';
import { FORMAT_TAG, modelSource, type CatalogueModel } from './catalogue.ts';
import type { LoadRequest } from './load-request.ts';

export class CriaCatalogue extends LightElement {
  static override properties = {
    models: { attribute: false },
    cached: { attribute: false },
  };
  declare models: CatalogueModel[];
  declare cached: CachedModel[];

  constructor() {
    super();
    this.models = [];
    this.cached = [];
    new StateController(this, engine);
  }

  private load(m: CatalogueModel, stored?: CachedModel) {
    const detail: LoadRequest = { source: () => modelSource(m), label: m.name, bytes: stored?.size ?? m.approxBytes, storedBytes: stored?.storedBytes ?? 0, approximate: !stored, caches: true };
    this.dispatchEvent(new CustomEvent('load-model', { bubbles: true, detail }));
  }

  override render() {
    const loadedUrl = engine.model.kind === 'ready' ? engine.model.label : undefined;
    return html`<ul class="catalogue">
      ${this.models.map((m) => {
        const stored = this.cached.find((c) => c.url === m.url);
        const isLoaded = loadedUrl === m.name;
        const action = stored?.complete || m.embedded ? 'Load' : stored ? 'Resume download' : 'Download and load';
        const format = m.format ?? 'gguf';
        return html`<li class="card catalogue-item" data-model=${m.id}>
          <div class="catalogue-head">
            <h3>${m.name}</h3>
            ${m.default ? html`<span class="badge">default</span>` : nothing}
            ${m.embedded ? html`<span class="badge ok" title="ships with Cria: no download, works offline">built in</span>` : nothing}
            ${isLoaded ? html`<span class="badge ok">loaded</span>` : nothing}
            ${stored?.complete
              ? html`<span class="badge ok">in cache</span>`
              : stored
                ? html`<span class="badge warn">${Math.floor((100 * stored.storedBytes) / stored.size)}% downloaded</span>`
                : nothing}
          </div>
          <p class="catalogue-meta muted small">
            <span class="format-tag" data-format=${format} title=${FORMAT_TAG[format].title}>${FORMAT_TAG[format].label}</span> ${m.publisher} · ${m.parameters} parameters · ${m.quant} · <span title="approximate size">≈ ${formatBytes(m.approxBytes)}</span>${m.vramBytes
              ? html` · <span title="GPU memory the model needs, as WebLLM's list states it">needs ≈ ${formatBytes(m.vramBytes)} of GPU memory</span>`
              : nothing} · ${m.license}
          </p>
          <p class="catalogue-desc">${m.description}</p>
          <p class="catalogue-actions">
            <button type="button" class="button ${m.default && !stored ? 'primary' : ''}" ?disabled=${engine.busy} @click=${() => this.load(m, stored)} aria-label="${action} ${m.name}">
              ${action}
            </button>
            ${m.embedded
              ? html`<a class="small" href=${`${import.meta.env.BASE_URL}${m.url}`} download>Download the GGUF</a>`
              : html`<a class="small" href="https://huggingface.co/${m.repo}" target="_blank" rel="noopener noreferrer">Model card</a>`}
          </p>
        </li>`;
      })}
    </ul>`;
  }
}
customElements.define('cria-catalogue', CriaCatalogue);

declare global {
  interface HTMLElementTagNameMap {
    'cria-catalogue': CriaCatalogue;
  }
}

/**
 * <cria-models-view>: the Models page: the model loaded now, the catalogue,
 * adding a model by address or from a file, and the cache with the site's
 * storage. Before a download that will not fit (the model's size against
 * `cache.usage()`'s quota − usage) it warns and asks.
 */
import { html, nothing } from 'lit';
import type { CachedModel, StorageInfo } from '../client/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { loadCatalogue, type Catalogue } from './catalogue.ts';
import { mlcCatalogue } from './catalogue-mlc.ts';
import { toAppError } from './errors.ts';
import { formatBytes } from './format.ts';
import type { LoadRequest } from './load-request.ts';
import type { CriaConfirm } from './confirm-dialog.ts';
import './add-model.ts';
import './cache-list.ts';
import './catalogue-list.ts';
import './confirm-dialog.ts';
import './model-card.ts';
import './problem-card.ts';

export class CriaModelsView extends LightElement {
  static override properties = {
    catalogue: { state: true },
    catalogueError: { state: true },
    cached: { state: true },
    storage: { state: true },
    cacheError: { state: true },
  };
  declare catalogue: Catalogue | undefined;
  declare catalogueError: string;
  declare cached: CachedModel[];
  declare storage: StorageInfo | undefined;
  declare cacheError: string;
  private lastKind = engine.model.kind;

  constructor() {
    super();
    this.catalogue = undefined;
    this.catalogueError = '';
    this.cached = [];
    this.storage = undefined;
    this.cacheError = '';
    new StateController(this, engine);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    engine.addEventListener('change', this.onEngine);
    loadCatalogue().then(
      (c) => (this.catalogue = c),
      (e) => (this.catalogueError = `The model list could not be read (${(e as Error).message}).`),
    );
    void this.refreshCache();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    engine.removeEventListener('change', this.onEngine);
  }

  /** a load that ends (ready or not) changed the cache: read it again */
  private onEngine = () => {
    const kind = engine.model.kind;
    if (kind !== this.lastKind && this.lastKind === 'loading') void this.refreshCache();
    this.lastKind = kind;
  };

  private async refreshCache() {
    try {
      const [cached, storage] = await Promise.all([engine.client.cache.list(), engine.client.cache.usage()]);
      this.cached = cached.sort((a, b) => (b.lastUsedAt ?? b.createdAt) - (a.lastUsedAt ?? a.createdAt));
      this.storage = storage;
      this.cacheError = '';
    } catch (e) {
      this.cacheError = `The cache could not be read: ${toAppError(e).message}`;
    }
  }

  private get confirmEl(): CriaConfirm {
    return this.querySelector('cria-confirm')!;
  }

  /** warn before a download that will not fit in what the browser allows this site */
  private async load(r: LoadRequest) {
    if (r.caches && r.bytes) {
      const need = r.bytes - (r.storedBytes ?? 0);
      let storage = this.storage;
      try {
        storage = await engine.client.cache.usage();
        this.storage = storage;
      } catch {
        /* no estimate: the engine checks again before writing */
      }
      const free = storage ? storage.quota - storage.usage : Infinity;
      if (need > free) {
        const ok = await this.confirmEl.ask({
          title: 'This model may not fit',
          message:
            `${r.label} needs ${r.approximate ? 'about ' : ''}${formatBytes(need)} more, but this browser allows this site only about ${formatBytes(Math.max(0, free))} more. ` +
            'The download will probably stop when space runs out. Delete cached models you no longer need, free space on the device, or choose a smaller model.',
          confirm: 'Try anyway',
          cancel: 'Cancel',
        });
        if (!ok) return;
      }
    }
    // the progress shows under "Loaded now", at the top of the page
    this.querySelector('#current-model')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    await engine.load(r.source, r.label);
  }

  private async deleteModel(id: string) {
    try {
      await engine.client.cache.delete(id);
      if (engine.lastVisit()?.cacheId === id) engine.forgetLastVisit();
    } catch (e) {
      this.cacheError = `Could not delete: ${toAppError(e).message}`;
    }
    await this.refreshCache();
  }

  private async deleteAll() {
    try {
      await engine.client.cache.clear();
      engine.forgetLastVisit();
    } catch (e) {
      this.cacheError = `Could not delete: ${toAppError(e).message}`;
    }
    await this.refreshCache();
  }

  private async persist() {
    const granted = await engine.client.cache.persist();
    await this.refreshCache();
    if (!granted) this.cacheError = 'The browser did not grant persistent storage (browsers often grant it only to sites you use often, bookmark, or install).';
  }

  override render() {
    const onLoad = (e: CustomEvent<LoadRequest>) => void this.load(e.detail);
    // WebLLM's MLC builds this adapter runs (WebGPU only; float16 builds only with shader-f16)
    const gpu = engine.webgpu;
    const features = gpu.state === 'available' ? new Set(gpu.features) : undefined;
    const mlcModels = mlcCatalogue(features);
    const mlcNote =
      gpu.state === 'unavailable'
        ? 'MLC models are not listed: WebLLM runs them on WebGPU only, and this browser has none.'
        : features && !features.has('shader-f16')
          ? 'This graphics adapter lacks the WebGPU feature shader-f16, so only the MLC builds that compute in float32 are listed.'
          : '';
    return html`<div class="page models-page" @load-model=${onLoad}>
      <h1 class="page-title" tabindex="-1">Models</h1>
      ${engine.blocked ? html`<cria-problem kind="webgpu" compact></cria-problem>` : nothing}
      <section class="section" aria-labelledby="current-model">
        <h2 id="current-model">Loaded now</h2>
        <cria-model-card></cria-model-card>
      </section>
      <section class="section" aria-labelledby="catalogue-title">
        <h2 id="catalogue-title">Suggested models</h2>
        <p class="muted small">
          Instruction-tuned models from Hugging Face: GGUF files run by Cria’s own engine, ONNX repositories run by onnxruntime-web, and MLC builds run by WebLLM. Sizes are approximate.
          Smaller models are faster and need less memory; larger ones write better. See the Device page for what this device can run well.
        </p>
        ${this.catalogueError ? html`<p class="field-error" role="alert">${this.catalogueError}</p>` : nothing}
        ${this.catalogue ? html`<cria-catalogue .models=${[...this.catalogue.models, ...mlcModels]} .cached=${this.cached}></cria-catalogue>` : this.catalogueError ? nothing : html`<p class="muted">Reading the list…</p>`}
        ${mlcNote ? html`<p class="muted small" data-testid="mlc-note">${mlcNote}</p>` : nothing}
      </section>
      <section class="section" aria-labelledby="add-title">
        <h2 id="add-title">Add a model</h2>
        <cria-add-model></cria-add-model>
      </section>
      <section class="section" aria-labelledby="cache-title">
        <h2 id="cache-title">In this browser</h2>
        <cria-cache-list
          .models=${this.cached}
          .storage=${this.storage}
          .error=${this.cacheError}
          @delete-model=${(e: CustomEvent<{ id: string }>) => void this.deleteModel(e.detail.id)}
          @delete-all=${() => void this.deleteAll()}
          @persist=${() => void this.persist()}
        ></cria-cache-list>
      </section>
      <cria-confirm></cria-confirm>
    </div>`;
  }
}
customElements.define('cria-models-view', CriaModelsView);

declare global {
  interface HTMLElementTagNameMap {
    'cria-models-view': CriaModelsView;
  }
}

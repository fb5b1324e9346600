/**
 * <cria-add-model>: a model that is not in the catalogue: by its address
 * (any https URL of a .gguf file whose server allows CORS, such as a Hugging
 * Face `resolve` link; or an ONNX model: a Hugging Face repository id, its
 * page, a repository's base URL or a .onnx file's URL: src/app/address.ts),
 * or a .gguf file from this device (file picker or drag and drop), optionally
 * kept in the cache. Raises `load-model`.
 */
import { html, nothing } from 'lit';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { parseModelAddress } from './address.ts';
import type { LoadRequest } from './load-request.ts';

export class CriaAddModel extends LightElement {
  static override properties = {
    dragging: { state: true },
    urlError: { state: true },
    keep: { state: true },
  };
  declare dragging: boolean;
  declare urlError: string;
  declare keep: boolean;

  constructor() {
    super();
    this.dragging = false;
    this.urlError = '';
    this.keep = false;
    new StateController(this, engine);
  }

  private emit(detail: LoadRequest) {
    this.dispatchEvent(new CustomEvent('load-model', { bubbles: true, detail }));
  }

  private submitUrl = (e: SubmitEvent) => {
    e.preventDefault();
    const input = this.querySelector<HTMLInputElement>('#model-url')!;
    const r = parseModelAddress(input.value);
    if ('error' in r) {
      this.urlError = r.error;
      return;
    }
    this.urlError = '';
    this.emit({ source: r.source, label: r.label, caches: true });
  };

  private openFile(file: File | undefined) {
    if (!file) return;
    this.emit({ source: { file, cache: this.keep }, label: file.name, bytes: file.size, caches: this.keep });
  }

  private onDrop = (e: DragEvent) => {
    e.preventDefault();
    this.dragging = false;
    const file = [...(e.dataTransfer?.files ?? [])].find((f) => /\.gguf$/i.test(f.name)) ?? e.dataTransfer?.files[0];
    this.openFile(file);
  };

  override render() {
    const busy = engine.busy;
    return html`<div class="add-model">
      <form class="card add-url" @submit=${this.submitUrl} novalidate>
        <h3>By address</h3>
        <label class="field">
          <span class="field-label">Address of a .gguf file, or an ONNX model's repository, or a WebLLM model's id</span>
          <input
            id="model-url"
            type="text"
            inputmode="url"
            autocomplete="off"
            spellcheck="false"
            placeholder="https://huggingface.co/…/resolve/main/model-Q4_K_M.gguf, or onnx-community/…"
            aria-invalid=${this.urlError ? 'true' : 'false'}
            aria-describedby="model-url-help"
            required
          />
        </label>
        <p id="model-url-help" class=${this.urlError ? 'field-error small' : 'muted small'} role=${this.urlError ? 'alert' : nothing}>
          ${this.urlError ||
          'A GGUF runs on Cria’s own engine; an ONNX model (a Hugging Face repository id like onnx-community/SmolLM2-135M-Instruct, or a repository’s address ending in /) runs on onnxruntime-web; a model of WebLLM’s prebuilt list (its id, like SmolLM2-135M-Instruct-q0f32-MLC) runs on WebLLM, with WebGPU only. Each is downloaded into this browser once, then loads with no network. The server must allow cross-origin requests, as Hugging Face does.'}
        </p>
        <p><button type="submit" class="button" ?disabled=${busy}>Download and load</button></p>
      </form>
      <div
        class="card add-file drop-zone"
        ?data-dragging=${this.dragging}
        @dragenter=${(e: DragEvent) => (e.preventDefault(), (this.dragging = true))}
        @dragover=${(e: DragEvent) => e.preventDefault()}
        @dragleave=${(e: DragEvent) => !this.contains(e.relatedTarget as Node | null) && (this.dragging = false)}
        @drop=${this.onDrop}
      >
        <h3>From this device</h3>
        <p class="muted small">Drop a .gguf file here, or choose one. It is read where it is; nothing is uploaded anywhere.</p>
        <p class="file-row">
          <label class="button file-button" aria-disabled=${busy ? "true" : "false"}>
            Choose a .gguf file…
            <input
              id="model-file"
              class="visually-hidden"
              type="file"
              accept=".gguf"
              ?disabled=${busy}
              @change=${(e: Event) => {
                const input = e.target as HTMLInputElement;
                this.openFile(input.files?.[0]);
                input.value = '';
              }}
            />
          </label>
        </p>
        <label class="check small">
          <input type="checkbox" .checked=${this.keep} @change=${(e: Event) => (this.keep = (e.target as HTMLInputElement).checked)} />
          Keep a copy in this browser’s cache, so it loads next time without the file
        </label>
        ${this.dragging ? html`<p class="drop-hint" aria-hidden="true">Drop to load</p>` : nothing}
      </div>
    </div>`;
  }
}
customElements.define('cria-add-model', CriaAddModel);

declare global {
  interface HTMLElementTagNameMap {
    'cria-add-model': CriaAddModel;
  }
}

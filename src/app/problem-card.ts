/**
 * <cria-problem>: the designed message for what stops Cria from working:
 * no WebGPU (what browser to use, what to switch on), a GPU reset under the
 * model (reload it, with a button), or any other error (its title, its
 * message, and what to try). Never a blank page.
 */
import { html, nothing } from 'lit';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { HOW_TO_GET_WEBGPU } from './webgpu.ts';
import type { AppError } from './errors.ts';

export type ProblemKind = 'webgpu' | 'device-lost' | 'error';

export class CriaProblem extends LightElement {
  static override properties = {
    kind: { type: String, reflect: true },
    error: { attribute: false },
    compact: { type: Boolean },
  };
  declare kind: ProblemKind;
  declare error: AppError | undefined;
  declare compact: boolean;

  constructor() {
    super();
    this.kind = 'error';
    this.error = undefined;
    this.compact = false;
    new StateController(this, engine);
  }

  override render() {
    if (this.kind === 'webgpu') return this.webgpu();
    if (this.kind === 'device-lost') return this.deviceLost();
    const e = this.error;
    if (!e) return nothing;
    return html`<section class="problem" role="alert" data-code=${e.code}>
      <h2 class="problem-title">${e.title}</h2>
      <p>${e.message}</p>
    </section>`;
  }

  private webgpu() {
    const reason = engine.webgpu.state === 'unavailable' ? engine.webgpu.reason : (this.error?.message ?? '');
    return html`<section class="problem problem-webgpu" role="alert" data-code="webgpu-unavailable">
      <h2 class="problem-title">WebGPU is not available</h2>
      <p>You chose to run models on the graphics chip, through WebGPU, and this browser cannot. ${reason}</p>
      <p>Cria also runs on the processor (WebAssembly): slower, just as private.</p>
      ${this.compact
        ? nothing
        : html`<h3>What to do</h3>
            <ol class="problem-steps">
              ${HOW_TO_GET_WEBGPU.map((s) => html`<li>${s}</li>`)}
            </ol>`}
      <p class="problem-actions">
        <button type="button" class="button primary" @click=${() => void engine.setBackend('auto')}>Run on the processor instead</button>
        <button type="button" class="button" @click=${() => location.reload()}>Check again</button>
      </p>
    </section>`;
  }

  private deviceLost() {
    const loading = engine.model.kind === 'loading';
    return html`<section class="problem problem-lost" role="alert" data-code="device-lost">
      <h2 class="problem-title">The GPU was reset</h2>
      <p>
        The browser or the graphics driver reset the GPU (after sleep, a driver update, or when memory ran short), and the model went with it. Your conversation is
        safe. Load the model again to continue.
      </p>
      ${this.error ? html`<p class="muted small">${this.error.message}</p>` : nothing}
      <p class="problem-actions">
        ${engine.canReload
          ? html`<button type="button" class="button primary" ?disabled=${loading} @click=${() => void engine.reload()}>${loading ? 'Loading…' : 'Reload the model'}</button>`
          : html`<a class="button primary" href="#/models">Choose a model</a>`}
      </p>
    </section>`;
  }
}
customElements.define('cria-problem', CriaProblem);

declare global {
  interface HTMLElementTagNameMap {
    'cria-problem': CriaProblem;
  }
}

/**
 * <cria-load-progress>: the model being loaded: which phase, bytes of the
 * total, download rate and time left, with a Cancel button (a download
 * resumes where it stopped next time).
 */
import { html, nothing } from 'lit';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { formatBytes, formatDuration, formatRate } from './format.ts';
import type { LoadProgress } from '../client/index.ts';

const PHASES: Record<LoadProgress['phase'], string> = {
  open: 'Opening',
  download: 'Downloading',
  verify: 'Checking the download of',
  repair: 'Repairing a damaged cached piece',
  upload: 'Loading into the GPU',
  compile: 'Preparing the GPU programs',
  ready: 'Ready',
};

export class CriaLoadProgress extends LightElement {
  constructor() {
    super();
    new StateController(this, engine);
  }

  override render() {
    const m = engine.model;
    if (m.kind !== 'loading') return nothing;
    const p = m.progress;
    const fraction = p && p.totalBytes > 0 ? Math.min(1, p.loadedBytes / p.totalBytes) : undefined;
    const detail =
      p?.phase === 'download'
        ? `${formatBytes(p.loadedBytes)} of ${formatBytes(p.totalBytes)} · ${formatRate(p.bytesPerSecond)} · ${formatDuration(p.etaSeconds)} left${p.resumedBytes ? ` · resumed at ${formatBytes(p.resumedBytes)}` : ''}${p.restarted ? ` · started over: ${p.restarted}` : ''}`
        : p && p.totalBytes > 0
          ? `${formatBytes(p.loadedBytes)} of ${formatBytes(p.totalBytes)}`
          : '';
    return html`<div class="load-progress" role="status" aria-live="polite" data-phase=${p?.phase ?? 'open'}>
      <div class="load-progress-head">
        <strong>${PHASES[p?.phase ?? 'open']} ${m.label}</strong>
        <button type="button" class="button small" @click=${() => engine.cancelLoad()}>Cancel</button>
      </div>
      ${fraction === undefined ? html`<progress aria-label="Loading ${m.label}"></progress>` : html`<progress max="1" .value=${fraction} aria-label="Loading ${m.label}"></progress>`}
      <div class="load-progress-detail muted small">${detail || '\u00a0'}</div>
    </div>`;
  }
}
customElements.define('cria-load-progress', CriaLoadProgress);

declare global {
  interface HTMLElementTagNameMap {
    'cria-load-progress': CriaLoadProgress;
  }
}

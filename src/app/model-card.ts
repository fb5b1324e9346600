/**
 * <cria-model-card>: the model in the engine now: loading (progress),
 * ready (what it is, how big, how long it took, whether it has a chat
 * template), or why it failed.
 */
import { html, nothing } from 'lit';
import type { ModelInfo } from '../client/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { formatBytes, formatCount, formatMs } from './format.ts';
import './load-progress.ts';
import './problem-card.ts';

/** "the GPU (WebGPU)" or "the processor (WebAssembly, 2 threads)" */
export function backendLabel(b: ModelInfo['backend']): string {
  if (b.kind === 'webgpu') return 'the GPU (WebGPU)';
  if (b.kind === 'wasm') return `the processor (WebAssembly, ${b.threads} thread${b.threads === 1 ? '' : 's'})`;
  return 'the processor (TypeScript reference)';
}

/** the model's format and what runs it: "GGUF, run by Cria’s own engine", "ONNX, run by onnxruntime-web", "MLC, run by WebLLM" */
export function formatLabel(runtime: ModelInfo['runtime']): string {
  return runtime === 'onnx' ? 'ONNX, run by onnxruntime-web' : runtime === 'webllm' ? 'MLC, run by WebLLM' : 'GGUF, run by Cria’s own engine';
}

const SOURCES = { network: 'downloaded now', cache: 'from this browser’s cache', file: 'from a local file', memory: 'from memory' } as const;

export class CriaModelCard extends LightElement {
  constructor() {
    super();
    new StateController(this, engine);
  }

  override render() {
    const m = engine.model;
    if (m.kind === 'loading') return html`<cria-load-progress></cria-load-progress>`;
    if (m.kind === 'lost') return html`<cria-problem kind="device-lost" .error=${m.error}></cria-problem>`;
    if (m.kind === 'error') {
      return m.error.code === 'webgpu-unavailable' ? html`<cria-problem kind="webgpu"></cria-problem>` : html`<cria-problem kind="error" .error=${m.error}></cria-problem>`;
    }
    if (m.kind === 'none') return html`<p class="muted">No model is loaded. Choose one below, add one by its address, or open a file from this device.</p>`;
    const i = m.info;
    const types = Object.entries(i.tensorTypes)
      .sort((a, b) => b[1] - a[1])
      .map(([t]) => t)
      .join(', ');
    return html`<div class="model-ready" data-testid="model-ready">
      <p class="model-ready-title"><span class="dot ok" aria-hidden="true"></span><strong>${m.label}</strong> is ready</p>
      <dl class="facts">
        <div><dt>Name in the file</dt><dd>${i.id}</dd></div>
        <div><dt>Architecture</dt><dd>${i.architecture}</dd></div>
        <div><dt>Parameters</dt><dd>${formatCount(i.parameters)}</dd></div>
        <div><dt>Runs on</dt><dd data-testid="runs-on" title=${i.backend.reason}>${backendLabel(i.backend)}</dd></div>
        <div><dt>Format</dt><dd data-testid="runtime" title=${i.backend.detail}>${formatLabel(i.runtime)}</dd></div>
        <div><dt>Weights</dt><dd>${formatBytes(i.weightBytes)} (${types})</dd></div>
        <div><dt>Context</dt><dd title=${i.nCtxReason}>${i.nCtx.toLocaleString()} tokens${i.nCtx < i.contextLength ? ` (trained for ${i.contextLength.toLocaleString()})` : ''}</dd></div>
        <div><dt>Memory</dt><dd>${formatBytes(i.memory.totalBytes)} of a ${formatBytes(i.memory.budgetBytes)} budget (weights ${formatBytes(i.memory.weightBytes)}, KV cache ${formatBytes(i.memory.kvCacheBytes)})</dd></div>
        <div><dt>Loaded</dt><dd>in ${formatMs(i.loadMs)}, ${SOURCES[i.source]}${i.downloadedBytes ? ` (${formatBytes(i.downloadedBytes)})` : ''}</dd></div>
        <div>
          <dt>Chat template</dt>
          <dd>${i.hasChatTemplate ? 'its own' : html`<span class="badge warn">none: the chat uses a plain-text template</span>`}</dd>
        </div>
      </dl>
      <p><a class="button primary" href="#/chat">Chat with it</a></p>
    </div>`;
  }
}
customElements.define('cria-model-card', CriaModelCard);

declare global {
  interface HTMLElementTagNameMap {
    'cria-model-card': CriaModelCard;
  }
}

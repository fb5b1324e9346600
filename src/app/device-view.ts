/**
 * <cria-device-view>: the Device page: the engine to run models on (Automatic, WebGPU or
 * WebAssembly: `engine.setBackend`) and what runs the loaded model (backend, threads, why);
 * then the GPU adapter the engine uses (or the WebAssembly engine's build and threads), its
 * features and limits, whether f16 shaders are available, and a Measure
 * button (`measureDevice()`: memory bandwidth and compute) with what the
 * measurement means for the catalogue's models and, when a model is loaded,
 * its roofline: the decode ceiling (bandwidth ÷ the weight bytes every token
 * reads) beside the last decode speed measured (the latest chat answer of
 * that model, or a short greedy run from this page).
 */
import { html, nothing } from 'lit';
import type { DeviceInfo, DeviceMeasurement, ModelInfo } from '../client/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { loadCatalogue, type CatalogueModel } from './catalogue.ts';
import { toAppError, type AppError } from './errors.ts';
import { formatBytes, formatMs } from './format.ts';
import { listConversations } from './conversations.ts';
import { DECODE_EFFICIENCY, estimateTokensPerSecond, verdict, VERDICT_LABEL } from './speed-estimate.ts';
import { BACKEND_CHOICES, type BackendChoice } from './engine-state.ts';
import { backendLabel } from './model-card.ts';

const CHOICE_TEXT: Record<BackendChoice, [string, string]> = {
  auto: ['Automatic', 'the graphics chip through WebGPU when it is a real one; the processor through WebAssembly when there is no WebGPU or only a software emulation of a GPU'],
  webgpu: ['The graphics chip (WebGPU)', 'always; on a software adapter this is slower than the processor'],
  wasm: ['The processor (WebAssembly)', 'SIMD, and threads when the page is cross-origin isolated'],
};
import './problem-card.ts';

/** the limits that decide which models fit and how kernels are shaped, shown first */
const KEY_LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage'];
const BYTE_LIMITS = new Set(['maxBufferSize', 'maxStorageBufferBindingSize', 'maxUniformBufferBindingSize', 'maxComputeWorkgroupStorageSize']);
/** tokens of the decode measurement on this page (greedy, end-of-text ignored) */
const DECODE_TOKENS = 32;

/** a decode speed of the loaded model: from its latest chat answer, or measured on this page */
interface DecodeSpeed {
  model: string;
  tokensPerS: number;
  from: 'chat' | 'measured';
}

/** The latest chat answer of `label` with a decode speed (at least 2 tokens), if any. */
async function lastChatSpeed(label: string): Promise<DecodeSpeed | undefined> {
  let best: { at: number; tps: number } | undefined;
  for (const c of await listConversations()) {
    for (const m of c.messages) {
      if (m.role !== 'assistant' || m.model !== label || !m.stats || m.stats.completionTokens < 2 || !(m.stats.decodeTokensPerS > 0)) continue;
      if (!best || m.at > best.at) best = { at: m.at, tps: m.stats.decodeTokensPerS };
    }
  }
  return best && { model: label, tokensPerS: best.tps, from: 'chat' };
}

export class CriaDeviceView extends LightElement {
  static override properties = {
    info: { state: true },
    infoError: { state: true },
    measuring: { state: true },
    measurement: { state: true },
    measureError: { state: true },
    models: { state: true },
    decode: { state: true },
    decodeMeasuring: { state: true },
    decodeError: { state: true },
  };
  declare info: DeviceInfo | undefined;
  declare infoError: AppError | undefined;
  declare measuring: boolean;
  declare measurement: DeviceMeasurement | undefined;
  declare measureError: AppError | undefined;
  declare models: CatalogueModel[];
  declare decode: DecodeSpeed | undefined;
  declare decodeMeasuring: boolean;
  declare decodeError: AppError | undefined;
  /** the model whose chat speed was looked up */
  private decodeLookedUp?: string;
  /** the backend the device information was read for ('none' before a model) */
  private infoFor?: string;

  constructor() {
    super();
    this.info = undefined;
    this.infoError = undefined;
    this.measuring = false;
    this.measurement = undefined;
    this.measureError = undefined;
    this.models = [];
    this.decode = undefined;
    this.decodeMeasuring = false;
    this.decodeError = undefined;
    new StateController(this, engine);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.readInfo();
    loadCatalogue().then(
      (c) => (this.models = c.models),
      () => undefined,
    );
  }

  private async readInfo() {
    this.infoFor = engine.info?.backend.kind ?? 'none';
    // without WebGPU there is no adapter to describe, unless a model runs on WebAssembly
    if (engine.webgpu.state === 'unavailable' && engine.info?.backend.kind !== 'wasm') return;
    try {
      this.info = await engine.client.deviceInfo();
      this.infoError = undefined;
    } catch (e) {
      this.infoError = toAppError(e);
    }
  }

  private async measure() {
    this.measuring = true;
    this.measureError = undefined;
    try {
      this.measurement = await engine.client.measureDevice();
    } catch (e) {
      this.measureError = toAppError(e);
    } finally {
      this.measuring = false;
    }
  }

  /** a short greedy run on the loaded model: its decode tokens/s */
  private async measureDecode(label: string) {
    this.decodeMeasuring = true;
    this.decodeError = undefined;
    try {
      const c = await engine.client.completions.create({ prompt: 'Once upon a time', max_tokens: DECODE_TOKENS, temperature: 0, ignore_eos: true });
      this.decode = { model: label, tokensPerS: c.usage.decode_tokens_per_s, from: 'measured' };
    } catch (e) {
      this.decodeError = toAppError(e);
    } finally {
      this.decodeMeasuring = false;
    }
  }

  override willUpdate(): void {
    // the backend changed (a model loaded on another one): describe what runs now
    if (this.isConnected && this.infoFor !== undefined && (engine.info?.backend.kind ?? 'none') !== this.infoFor && engine.model.kind !== 'loading') {
      this.info = undefined;
      this.infoError = undefined;
      void this.readInfo();
    }
    // the loaded model changed: look up its latest chat answer's speed
    const label = engine.info && engine.model.kind === 'ready' ? engine.model.label : undefined;
    if (label === this.decodeLookedUp) return;
    this.decodeLookedUp = label;
    if (this.decode?.model !== label) this.decode = undefined;
    if (!label) return;
    lastChatSpeed(label).then(
      (d) => {
        if (d && this.decodeLookedUp === label && !this.decode) this.decode = d;
      },
      () => undefined,
    );
  }

  override render() {
    const noGpu = engine.webgpu.state === 'unavailable' || this.infoError?.code === 'webgpu-unavailable';
    return html`<div class="page device-page">
      <h1 class="page-title" tabindex="-1">Device</h1>
      ${this.engineSection()}
      ${this.info?.backend === 'wasm' ? this.wasmDetails(this.info) : nothing}
      ${engine.blocked
        ? html`<cria-problem kind="webgpu" .error=${this.infoError}></cria-problem>`
        : this.info?.backend === 'wasm' && !noGpu
          ? nothing
          : noGpu
            ? html`<section class="section" aria-labelledby="adapter-title">
                <h2 id="adapter-title">Graphics adapter</h2>
                <p class="notice" role="status" data-testid="no-webgpu">
                  <strong>No WebGPU here.</strong> ${engine.webgpu.state === 'unavailable' ? engine.webgpu.reason : (this.infoError?.message ?? '')} Models run on the processor (WebAssembly).
                </p>
              </section>`
            : this.infoError
              ? html`<cria-problem kind="error" .error=${this.infoError}></cria-problem>`
              : this.info
                ? this.details(this.info)
                : html`<p class="muted" role="status">Asking the GPU…</p>`}
    </div>`;
  }

  /** the choice of backend, and what runs the loaded model */
  private engineSection() {
    const info = engine.info;
    const label = engine.model.kind === 'ready' ? engine.model.label : undefined;
    return html`<section class="section" aria-labelledby="engine-title">
      <h2 id="engine-title">Engine</h2>
      <div class="card">
        <fieldset class="backend-choice" data-testid="backend-choice">
          <legend>Run models on</legend>
          ${BACKEND_CHOICES.map(
            (c) => html`<label class="check">
              <input type="radio" name="backend" value=${c} .checked=${engine.backend === c} ?disabled=${engine.busy} @change=${() => void engine.setBackend(c)} />
              <span><strong>${CHOICE_TEXT[c][0]}</strong> <span class="muted small">${CHOICE_TEXT[c][1]}</span></span>
            </label>`,
          )}
        </fieldset>
        ${engine.backendFromAddress ? html`<p class="muted small">Chosen by the page's address (<code>?backend=${engine.backend}</code>) for this visit.</p>` : nothing}
        ${info && label
          ? html`<dl class="facts" data-testid="backend-facts">
              <div><dt>${label} runs on</dt><dd data-testid="backend-kind">${backendLabel(info.backend)}</dd></div>
              <div><dt>How</dt><dd>${info.backend.detail}</dd></div>
              <div class="wide"><dt>Why</dt><dd data-testid="backend-reason">${info.backend.reason}</dd></div>
            </dl>`
          : html`<p class="muted small">Load a model to see which engine runs it, and why.</p>`}
        <p class="muted small" data-testid="isolation">
          ${globalThis.crossOriginIsolated
            ? 'This page is cross-origin isolated: the WebAssembly engine can use several threads.'
            : 'This page is not cross-origin isolated: the WebAssembly engine runs on one thread.'}
        </p>
      </div>
    </section>`;
  }

  /** the WebAssembly engine: its build, threads and memory */
  private wasmDetails(i: DeviceInfo) {
    return html`<section class="section" aria-labelledby="wasm-title">
      <h2 id="wasm-title">Processor (WebAssembly)</h2>
      <div class="card">
        <dl class="facts" data-testid="wasm-facts">
          <div><dt>Build</dt><dd>${i.description}</dd></div>
          <div><dt>Threads</dt><dd>${i.threads ?? 1}</dd></div>
          <div><dt>Features</dt><dd>${i.features.join(', ')}</dd></div>
          <div><dt>Memory it can hold</dt><dd>${formatBytes(i.limits.memoryBytes ?? 0)}</dd></div>
          <div><dt>Logical cores</dt><dd>${navigator.hardwareConcurrency || '—'}</dd></div>
        </dl>
      </div>
    </section>`;
  }

  private details(i: DeviceInfo) {
    const name = i.description || [i.vendor, i.architecture, i.device].filter(Boolean).join(' ') || 'Unnamed adapter';
    const otherLimits = Object.keys(i.limits)
      .filter((k) => !KEY_LIMITS.includes(k))
      .sort();
    return html`<section class="section" aria-labelledby="adapter-title">
        <h2 id="adapter-title">Graphics adapter</h2>
        <div class="card">
          <p class="adapter-name"><strong>${name}</strong></p>
          <dl class="facts">
            <div><dt>Vendor</dt><dd>${i.vendor || '—'}</dd></div>
            <div><dt>Architecture</dt><dd>${i.architecture || '—'}</dd></div>
            ${i.device ? html`<div><dt>Device</dt><dd>${i.device}</dd></div>` : nothing}
            <div>
              <dt>16-bit floats (shader-f16)</dt>
              <dd>${i.f16 ? html`<span class="badge ok">available</span>` : html`<span class="badge">not available</span> <span class="muted small">(Cria works without it)</span>`}</dd>
            </div>
            <div class="wide">
              <dt>Kind</dt>
              <dd>
                ${i.isFallbackAdapter
                  ? html`<span class="badge warn">software (fallback) adapter</span> <span class="muted small">It runs on the CPU: expect a few tokens per second at best.</span>`
                  : 'hardware'}
              </dd>
            </div>
          </dl>
        </div>
      </section>
      <section class="section" aria-labelledby="measure-title">
        <h2 id="measure-title">Speed</h2>
        <div class="card">
          <p>
            Measure how fast this GPU reads memory and computes. Writing each token reads the whole model once, so memory bandwidth sets the speed: roughly
            <em>tokens per second ≈ bandwidth ÷ model size</em>.
          </p>
          <p>
            <button type="button" class="button primary" ?disabled=${this.measuring || engine.busy} @click=${() => void this.measure()}>
              ${this.measuring ? 'Measuring…' : this.measurement ? 'Measure again' : 'Measure'}
            </button>
            ${engine.busy ? html`<span class="muted small">(after the model has loaded)</span>` : nothing}
          </p>
          ${this.measureError
            ? this.measureError.code === 'not-implemented'
              ? html`<p class="notice" role="status">Measuring is not available in this version of Cria yet. ${this.measureError.message}</p>`
              : html`<p class="notice warn" role="alert"><strong>${this.measureError.title}.</strong> ${this.measureError.message}</p>`
            : nothing}
          ${this.measurement ? this.results(this.measurement) : nothing}
          ${this.measurement ? this.roofline(this.measurement) : nothing}
        </div>
      </section>
      <section class="section" aria-labelledby="features-title">
        <h2 id="features-title">Features</h2>
        ${i.features.length
          ? html`<ul class="chips">
              ${[...i.features].sort().map((f) => html`<li class="chip">${f}</li>`)}
            </ul>`
          : html`<p class="muted">None beyond core WebGPU.</p>`}
      </section>
      <section class="section" aria-labelledby="limits-title">
        <h2 id="limits-title">Limits</h2>
        <div class="table-wrap">
          <table class="limits-table">
            <caption class="visually-hidden">The adapter's most important limits</caption>
            <tbody>
              ${KEY_LIMITS.filter((k) => k in i.limits).map((k) => this.limitRow(k, i.limits[k]))}
            </tbody>
          </table>
        </div>
        <details class="more-limits">
          <summary>All ${Object.keys(i.limits).length} limits</summary>
          <div class="table-wrap">
            <table class="limits-table">
              <tbody>
                ${otherLimits.map((k) => this.limitRow(k, i.limits[k]))}
              </tbody>
            </table>
          </div>
        </details>
      </section>`;
  }

  private limitRow(k: string, v: number) {
    return html`<tr>
      <th scope="row"><code>${k}</code></th>
      <td>${BYTE_LIMITS.has(k) ? `${formatBytes(v)} (${v.toLocaleString()})` : v.toLocaleString()}</td>
    </tr>`;
  }

  /** the loaded model under the measured bandwidth: its decode ceiling and its last measured speed */
  private roofline(m: DeviceMeasurement) {
    const info: ModelInfo | undefined = engine.info;
    const label = engine.model.kind === 'ready' ? engine.model.label : undefined;
    if (!info || !label) {
      return html`<p class="muted small roofline-empty">Load a model to see how fast it could decode on this GPU beside how fast it does.</p>`;
    }
    const ceiling = (m.readGBps * 1e9) / info.weightBytes;
    const d = this.decode?.model === label ? this.decode : undefined;
    const tps = (v: number) => (v >= 10 ? v.toFixed(0) : v.toFixed(1));
    return html`<h3 class="roofline-title">The loaded model's roofline</h3>
      <p class="muted small">Every generated token reads all of the model's weights once, so the bandwidth measured above caps its decode speed.</p>
      <dl class="facts roofline" data-testid="roofline">
        <div><dt>Model</dt><dd>${label}</dd></div>
        <div><dt>Weights read per token</dt><dd>${formatBytes(info.weightBytes)}</dd></div>
        <div><dt>Ceiling (bandwidth ÷ weights)</dt><dd><strong data-testid="ceiling">${tps(ceiling)} tokens/s</strong></dd></div>
        <div>
          <dt>Decode speed measured</dt>
          <dd>
            ${d
              ? html`<strong data-testid="decode-speed">${tps(d.tokensPerS)} tokens/s</strong>
                  <span class="muted small">(${Math.round((100 * d.tokensPerS) / ceiling)}% of the ceiling; ${d.from === 'chat' ? 'latest chat answer' : `${DECODE_TOKENS} tokens just now`})</span>`
              : html`<span class="muted">not yet</span>`}
          </dd>
        </div>
      </dl>
      <p>
        <button type="button" class="button" ?disabled=${this.decodeMeasuring || engine.busy || engine.answering} @click=${() => void this.measureDecode(label)}>
          ${this.decodeMeasuring ? 'Measuring decode…' : 'Measure decode speed'}
        </button>
        <span class="muted small">${DECODE_TOKENS} tokens, greedy</span>
      </p>
      ${this.decodeError ? html`<p class="notice warn" role="alert"><strong>${this.decodeError.title}.</strong> ${this.decodeError.message}</p>` : nothing}`;
  }

  private results(m: DeviceMeasurement) {
    // the estimates are of Cria's own engine (its bytes read per token): GGUF entries only (ONNX and MLC ones run on onnxruntime-web and WebLLM)
    const models = this.models.filter((c) => (c.format ?? 'gguf') === 'gguf').sort((a, b) => a.approxBytes - b.approxBytes);
    return html`<dl class="facts measurement" data-testid="measurement">
        <div><dt>Memory bandwidth</dt><dd><strong>${m.readGBps.toFixed(1)} GB/s</strong></dd></div>
        <div><dt>Compute (f32)</dt><dd><strong>${m.fmaGflops.toFixed(0)} GFLOP/s</strong></dd></div>
        <div><dt>Measured</dt><dd>${formatBytes(m.bytes)} read, ${formatMs(m.ms)} in all</dd></div>
      </dl>
      ${models.length
        ? html`<h3>What that means for the suggested models</h3>
            <p class="muted small">
              Estimated writing speed, assuming ${Math.round(DECODE_EFFICIENCY * 100)}% of the measured bandwidth (a rough guide: reading a long prompt, and a long
              conversation, take extra time).
            </p>
            <div class="table-wrap">
              <table class="estimate-table">
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Size</th>
                    <th scope="col">≈ tokens/s</th>
                    <th scope="col">Verdict</th>
                  </tr>
                </thead>
                <tbody>
                  ${models.map((x) => {
                    const tps = estimateTokensPerSecond(m.readGBps, x.approxBytes);
                    const v = verdict(tps);
                    return html`<tr data-verdict=${v}>
                      <th scope="row">${x.name}</th>
                      <td>≈ ${formatBytes(x.approxBytes)}</td>
                      <td>${tps >= 10 ? tps.toFixed(0) : tps.toFixed(1)}</td>
                      <td><span class="badge ${v === 'good' ? 'ok' : v === 'usable' ? '' : 'warn'}">${VERDICT_LABEL[v]}</span></td>
                    </tr>`;
                  })}
                </tbody>
              </table>
            </div>`
        : nothing}`;
  }
}
customElements.define('cria-device-view', CriaDeviceView);

declare global {
  interface HTMLElementTagNameMap {
    'cria-device-view': CriaDeviceView;
  }
}

/**
 * The app's one engine (a client of the worker) and what the UI needs to
 * know about it: WebGPU availability, the model being loaded (progress) or
 * loaded (info), a load error, and device loss. Components subscribe with
 * `StateController`, which re-renders them on every change.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { createClient, type CriaClient, type LoadProgress, type ModelInfo, type ModelSource } from '../client/index.ts';
import { toAppError, type AppError } from './errors.ts';
import { detectWebGpu, type WebGpuStatus } from './webgpu.ts';

export type ModelState =
  | { kind: 'none' }
  | { kind: 'loading'; label: string; progress?: LoadProgress }
  | { kind: 'ready'; label: string; info: ModelInfo }
  | { kind: 'error'; label: string; error: AppError }
  /** the GPU was reset under the model: it must be loaded again */
  | { kind: 'lost'; label: string; error: AppError };

/** what to load the same model again from (after a device loss or a reload of the page) */
interface Remembered {
  label: string;
  source: ModelSource;
}

const LAST_KEY = 'cria-last-model';

export class AppEngine extends EventTarget {
  client: CriaClient;
  webgpu: WebGpuStatus = { state: 'checking' };
  model: ModelState = { kind: 'none' };
  private last?: Remembered;
  /** bumps on every load, so an abandoned load cannot overwrite a newer state */
  private generation = 0;

  constructor(private readonly makeClient: () => CriaClient = () => createClient()) {
    super();
    this.client = makeClient();
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }

  async checkWebGpu(): Promise<void> {
    this.webgpu = await detectWebGpu();
    this.changed();
  }

  get busy(): boolean {
    return this.model.kind === 'loading';
  }

  get info(): ModelInfo | undefined {
    return this.model.kind === 'ready' ? this.model.info : undefined;
  }

  /** Load a model; resolves true when it is ready. Errors become state, never throws. */
  async load(source: ModelSource, label: string): Promise<boolean> {
    const gen = ++this.generation;
    this.model = { kind: 'loading', label };
    this.changed();
    try {
      const info = await this.client.load(source, {
        onProgress: (progress) => {
          if (gen !== this.generation) return;
          this.model = { kind: 'loading', label, progress };
          this.changed();
        },
      });
      if (gen !== this.generation) return false;
      this.model = { kind: 'ready', label, info };
      // reloading later (device loss, next visit): from the cache when the model is in it
      this.last = { label, source: info.cacheId ? { cached: info.cacheId } : source };
      rememberLast(info.cacheId ? { label, cacheId: info.cacheId } : undefined);
      this.changed();
      return true;
    } catch (e) {
      if (gen !== this.generation) return false;
      const error = toAppError(e);
      if (error.code === 'webgpu-unavailable') this.webgpu = { state: 'unavailable', reason: error.message };
      this.model = { kind: 'error', label, error };
      this.changed();
      return false;
    }
  }

  /**
   * Stop a load in progress. A load cannot be aborted inside the worker, so
   * the worker is replaced: what a download had stored stays in the cache
   * and resumes next time.
   */
  cancelLoad(): void {
    if (this.model.kind !== 'loading') return;
    this.generation++;
    this.client.terminate();
    this.client = this.makeClient();
    this.model = { kind: 'none' };
    this.changed();
  }

  /** a request failed with `device-lost`: the model is gone until loaded again */
  deviceLost(e: unknown): void {
    const label = this.model.kind === 'ready' || this.model.kind === 'lost' ? this.model.label : 'the model';
    this.model = { kind: 'lost', label, error: toAppError(e) };
    this.changed();
  }

  /** load the last model again (after a device loss) */
  async reload(): Promise<boolean> {
    if (!this.last) return false;
    return this.load(this.last.source, this.last.label);
  }

  get canReload(): boolean {
    return this.last !== undefined;
  }

  /** the model loaded on an earlier visit, if it was cached */
  lastVisit(): { label: string; cacheId: string } | undefined {
    try {
      const v = JSON.parse(localStorage.getItem(LAST_KEY) ?? 'null') as { label?: unknown; cacheId?: unknown } | null;
      return v && typeof v.label === 'string' && typeof v.cacheId === 'string' ? { label: v.label, cacheId: v.cacheId } : undefined;
    } catch {
      return undefined;
    }
  }

  forgetLastVisit(): void {
    rememberLast(undefined);
  }
}

function rememberLast(v: { label: string; cacheId: string } | undefined): void {
  try {
    if (v) localStorage.setItem(LAST_KEY, JSON.stringify(v));
    else localStorage.removeItem(LAST_KEY);
  } catch {
    /* private mode */
  }
}

/** Re-render a component whenever the engine state changes. */
export class StateController implements ReactiveController {
  private readonly onChange = () => this.host.requestUpdate();
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly target: EventTarget,
  ) {
    host.addController(this);
  }
  hostConnected(): void {
    this.target.addEventListener('change', this.onChange);
  }
  hostDisconnected(): void {
    this.target.removeEventListener('change', this.onChange);
  }
}

/** the app's engine, shared by every view */
export const engine = new AppEngine();

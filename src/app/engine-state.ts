/**
 * The app's one engine (a client of the worker) and what the UI needs to
 * know about it: WebGPU availability, the backend the user chose (Automatic,
 * WebGPU or WebAssembly: `backend`, kept in localStorage, `?backend=` in the
 * address for one visit), the model being loaded (progress) or loaded (info,
 * with the backend it runs on and why), a load error, and device loss.
 * Without WebGPU the app runs on WebAssembly; it is `blocked` only when the
 * user asked for WebGPU and there is none. Components subscribe with
 * `StateController`, which re-renders them on every change.
 *
 * The engine holds one model at a time, and two kinds of work use it:
 * - chat answers, streamed: tracked here (`answering`), so an evaluation can
 *   stop them before it starts (`stopAnswers()`);
 * - an evaluation (eval-run.ts), which loads the models it needs one after
 *   another: it `hold()`s the engine while it runs. Meanwhile `info` is
 *   undefined (chat waits), a load asked for elsewhere (Models page, chat)
 *   stops the evaluation first (it can be resumed) and a Cancel of the load in
 *   progress stops it too. When it ends, `release()` loads back the model
 *   that was loaded before, so chat continues where it was.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { createClient, type ChatCompletionChunk, type ChatCompletionRequest, type CriaClient, type LoadProgress, type ModelInfo, type ModelSource, type RequestOptions, type Stream } from '../client/index.ts';
import { toAppError, type AppError } from './errors.ts';
import { notify } from './notices.ts';
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
const BACKEND_KEY = 'cria-backend';

/** Which engine the loads ask for: `auto` (WebGPU on a hardware GPU, else WebAssembly), or one of them. */
export type BackendChoice = 'auto' | 'webgpu' | 'wasm';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];
const isChoice = (v: unknown): v is BackendChoice => typeof v === 'string' && (BACKEND_CHOICES as readonly string[]).includes(v);

/** `?backend=` in the address (this visit only), else the stored choice, else `auto` */
function initialBackend(): { choice: BackendChoice; fromAddress: boolean } {
  const fromUrl = typeof location === 'undefined' ? null : new URLSearchParams(location.search).get('backend');
  if (isChoice(fromUrl)) return { choice: fromUrl, fromAddress: true };
  try {
    const stored = localStorage.getItem(BACKEND_KEY);
    if (isChoice(stored)) return { choice: stored, fromAddress: false };
  } catch {
    // storage blocked: the default
  }
  return { choice: 'auto', fromAddress: false };
}

/** Who holds the engine besides chat (an evaluation), and how to make it let go. */
export interface EngineHolder {
  /** what the header shows, e.g. "Evaluating hellaswag 3/10" (kept current with `holdChanged`) */
  label: string;
  /** stop; the holder calls `release()` once it has stopped */
  stop(): void;
}

interface Hold {
  holder: EngineHolder;
  /** the model loaded when the hold began, to load back afterwards */
  before?: Remembered & { info: ModelInfo };
  /** someone asked for another model (or cancelled a load): do not load `before` back */
  superseded: boolean;
  released: Promise<void>;
  resolve: () => void;
}

export class AppEngine extends EventTarget {
  client: CriaClient;
  webgpu: WebGpuStatus = { state: 'checking' };
  /** the backend loads ask for (see BackendChoice) */
  backend: BackendChoice;
  /** `backend` came from the address (`?backend=`): not stored */
  readonly backendFromAddress: boolean;
  model: ModelState = { kind: 'none' };
  private last?: Remembered;
  /** bumps on every load, so an abandoned load cannot overwrite a newer state */
  private generation = 0;
  private holding?: Hold;
  /** streamed chat answers in flight */
  private answers = new Set<AbortController>();
  private answersEnded: (() => void)[] = [];

  constructor(private readonly makeClient: () => CriaClient = () => createClient()) {
    super();
    this.client = this.tracked(makeClient());
    const b = initialBackend();
    this.backend = b.choice;
    this.backendFromAddress = b.fromAddress;
  }

  /** Nothing can run: the user asked for WebGPU and this browser has none (Automatic and WebAssembly always run). */
  get blocked(): boolean {
    return this.webgpu.state === 'unavailable' && this.backend === 'webgpu';
  }

  /**
   * Choose the backend for the next loads (kept for the next visits). A model that is loaded
   * on another backend is loaded again on this one (not during an evaluation: it picks the
   * choice up with its next model).
   */
  async setBackend(choice: BackendChoice): Promise<void> {
    if (choice === this.backend) return;
    this.backend = choice;
    try {
      localStorage.setItem(BACKEND_KEY, choice);
    } catch {
      // storage blocked: this visit only
    }
    this.changed();
    const m = this.model;
    if (m.kind === 'ready' && !this.holding && this.last) await this.load(this.last.source, this.last.label);
  }

  /**
   * The client with its streamed chat answers tracked: each gets an AbortController of its own
   * (linked to the caller's signal), so `stopAnswers()` can end them as the Stop button would.
   */
  private tracked(c: CriaClient): CriaClient {
    const create = c.chat.completions.create;
    const answers = this.answers;
    const ended = (ac: AbortController) => {
      if (!answers.delete(ac)) return;
      if (answers.size === 0) for (const f of this.answersEnded.splice(0)) f();
      this.changed();
    };
    const wrapped = ((req: ChatCompletionRequest, opts: RequestOptions = {}) => {
      if (!req.stream) return create(req as ChatCompletionRequest & { stream?: false }, opts);
      const ac = new AbortController();
      const outer = opts.signal;
      if (outer?.aborted) ac.abort(outer.reason);
      else outer?.addEventListener('abort', () => ac.abort(outer.reason), { once: true });
      const s = create(req as ChatCompletionRequest & { stream: true }, { signal: ac.signal });
      const out: Stream<ChatCompletionChunk> = {
        requestId: s.requestId,
        [Symbol.asyncIterator]: () => {
          const it = s[Symbol.asyncIterator]();
          answers.add(ac);
          this.changed();
          return {
            next: async () => {
              try {
                const r = await it.next();
                if (r.done) ended(ac);
                return r;
              } catch (e) {
                ended(ac);
                throw e;
              }
            },
            return: async (v?: unknown) => {
              try {
                return (await it.return?.(v)) ?? { done: true as const, value: undefined };
              } finally {
                ended(ac);
              }
            },
          };
        },
      };
      return out;
    }) as CriaClient['chat']['completions']['create'];
    return { ...c, chat: { completions: { create: wrapped } } };
  }

  /** a chat answer is being written */
  get answering(): boolean {
    return this.answers.size > 0;
  }

  /** stop every chat answer being written (as its Stop button does); resolves when they have ended */
  stopAnswers(): Promise<void> {
    if (this.answers.size === 0) return Promise.resolve();
    const done = new Promise<void>((r) => this.answersEnded.push(r));
    for (const ac of this.answers) ac.abort();
    return done;
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

  /** the loaded model, for chat: undefined while an evaluation holds the engine */
  get info(): ModelInfo | undefined {
    return this.model.kind === 'ready' && !this.holding ? this.model.info : undefined;
  }

  /** who holds the engine (an evaluation), if anyone */
  get holder(): EngineHolder | undefined {
    return this.holding?.holder;
  }

  /** Take the engine for an evaluation. Stop chat answers first (`stopAnswers`). */
  hold(holder: EngineHolder): void {
    if (this.holding) throw new Error('the engine is already held');
    const m = this.model;
    let resolve!: () => void;
    const released = new Promise<void>((r) => (resolve = r));
    this.holding = { holder, superseded: false, released, resolve, ...(m.kind === 'ready' && this.last ? { before: { ...this.last, label: m.label, info: m.info } } : {}) };
    this.changed();
  }

  /** the holder's label changed */
  holdChanged(): void {
    this.changed();
  }

  /**
   * The evaluation has ended: chat gets the engine back, with the model loaded before it
   * (loaded again when the evaluation left another one), unless a load asked for meanwhile
   * follows, or the GPU was lost.
   */
  async release(): Promise<void> {
    const h = this.holding;
    if (!h) return;
    this.holding = undefined;
    h.resolve();
    this.changed();
    const before = h.before;
    // (a load the evaluation began and left is simply superseded by this one: loads run in order)
    if (h.superseded || !before || this.model.kind === 'lost') return;
    const now = this.model.kind === 'ready' ? this.model.info : undefined;
    if (now && sameModel(now, before.info)) {
      this.model = { kind: 'ready', label: before.label, info: now };
      this.changed();
      return;
    }
    await this.load(before.source, before.label);
  }

  /**
   * Load a model; resolves true when it is ready. Errors become state, never throws. `source` may be
   * a function that makes it (an embedded model read from the app's files: catalogue.ts `modelSource`).
   */
  async load(source: ModelSource | (() => Promise<ModelSource>), label: string): Promise<boolean> {
    const h = this.holding;
    if (h) {
      // the user asked for this model: the evaluation stops (it can be resumed), then it loads
      h.superseded = true;
      notify({ text: `The evaluation was stopped to load ${label}. Resume it on the Eval page.` });
      h.holder.stop();
      await h.released;
    }
    try {
      await this.loadModel(source, label, true);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Load a model for the evaluation holding the engine: the same states (the header shows the
   * progress) but errors are thrown, and the model is not remembered for the next visit.
   */
  async loadHeld(source: ModelSource, label: string): Promise<ModelInfo> {
    if (!this.holding) throw new Error('loadHeld() needs hold() first');
    // the model asked for is the one loaded: nothing to do
    if ('cached' in source && this.model.kind === 'ready' && this.model.info.cacheId === source.cached) return this.model.info;
    return this.loadModel(source, label, false);
  }

  private async loadModel(make: ModelSource | (() => Promise<ModelSource>), label: string, forChat: boolean): Promise<ModelInfo> {
    const gen = ++this.generation;
    this.model = { kind: 'loading', label };
    this.changed();
    // progress comes through its own message port, so a last event can arrive after the load has resolved
    let settled = false;
    try {
      const source = typeof make === 'function' ? await make() : make;
      const info = await this.client.load(source, {
        backend: this.backend,
        onProgress: (progress) => {
          if (gen !== this.generation || settled) return;
          this.model = { kind: 'loading', label, progress };
          this.changed();
        },
      });
      settled = true;
      if (gen !== this.generation) throw Object.assign(new Error('another model was loaded meanwhile'), { code: 'aborted' });
      this.model = { kind: 'ready', label, info };
      // reloading later (device loss, next visit): from the cache when the model is in it
      const again = { label, source: info.cacheId ? { cached: info.cacheId } : source };
      if (forChat) {
        this.last = again;
        rememberLast(info.cacheId ? { label, cacheId: info.cacheId } : undefined);
      } else if (!this.holding?.before) {
        // nothing to load back after the evaluation: its model stays, and reloads after a GPU reset
        this.last = again;
      }
      this.changed();
      return info;
    } catch (e) {
      settled = true;
      if (gen !== this.generation) throw e;
      const error = toAppError(e);
      if (error.code === 'webgpu-unavailable' && this.backend === 'webgpu') this.webgpu = { state: 'unavailable', reason: error.message };
      this.model = { kind: 'error', label, error };
      this.changed();
      throw e;
    }
  }

  /**
   * Stop a load in progress. A load cannot be aborted inside the worker, so
   * the worker is replaced: what a download had stored stays in the cache
   * and resumes next time.
   */
  cancelLoad(): void {
    if (this.model.kind !== 'loading') return;
    if (this.holding) {
      // a model the evaluation asked for: the evaluation stops too (it can be resumed)
      this.holding.superseded = true;
      this.holding.holder.stop();
    }
    this.generation++;
    this.client.terminate();
    this.client = this.tracked(this.makeClient());
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

/** the same model file (by cache id when both have one) */
function sameModel(a: ModelInfo, b: ModelInfo): boolean {
  if (a.cacheId && b.cacheId) return a.cacheId === b.cacheId;
  return a.id === b.id && a.parameters === b.parameters && JSON.stringify(a.tensorTypes) === JSON.stringify(b.tensorTypes);
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

/**
 * Running evaluations from the app: one at a time per tab, through the app's one engine.
 *
 * A run holds the engine (engine-state.ts `hold`): chat waits, a model load asked for elsewhere
 * stops the run first, and when the run ends the model loaded before it is loaded back. The
 * library (src/eval) stores every result as soon as it exists, so a run stopped by the Stop
 * button, a reload, a crash or a lost GPU resumes where it was: the task and the models it used
 * are kept with it (eval-data.ts), and the runs list tells a run that is running here, in another
 * tab (a Web Lock per run, `cria-eval-run:<id>`, held while it runs) or nowhere ("interrupted").
 */
import { fromClient, IdbEvalStore, runTask, type EvalProgress, type EvalTarget, type ModelRole, type Run, type Task } from '../eval/index.ts';
import { engine } from './engine-state.ts';
import { toAppError, type AppError } from './errors.ts';
import { getRunTask, saveRunTask, type ModelChoice, type RunModels } from './eval-data.ts';

export const LOCK_PREFIX = 'cria-eval-run:';

/** A run in progress in this tab. */
export interface LiveRun {
  runId?: string;
  task: Pick<Task, 'name' | 'kind'> & { items: number };
  models: RunModels;
  /** preparing: reading or downloading the task */
  phase: EvalProgress['phase'] | 'preparing';
  role?: ModelRole;
  /** units of the phase: done (stored ones included) and total */
  done: number;
  total: number;
  /** bytes of the task download (preparing) */
  download?: { loadedBytes: number; totalBytes?: number };
  /** units per second in this phase, in this tab, and the seconds left in the phase */
  rate?: number;
  etaSeconds?: number;
  stopping: boolean;
  resumed: boolean;
}

/** How the last run in this tab ended. */
export interface RunEnd {
  runId?: string;
  status: 'done' | 'stopped' | 'failed';
  error?: AppError;
}

/** The state of a stored run as the list shows it. */
export type RunState = 'done' | 'stopped' | 'failed' | 'running' | 'elsewhere' | 'interrupted';

function aborted(): Error {
  return Object.assign(new Error('the evaluation was stopped'), { code: 'aborted' });
}

/** reject as soon as the signal fires (a model load cannot be aborted inside the worker) */
function orAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Take the Web Lock of a run unless someone holds it; resolves with its release, or null. */
function takeLock(runId: string): Promise<(() => void) | null> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(() => undefined);
  return new Promise((resolve) => {
    void locks
      .request(LOCK_PREFIX + runId, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        return new Promise<void>((release) => resolve(release));
      })
      .catch(() => resolve(() => undefined));
  });
}

/** ids of the runs whose lock someone holds (this tab or another) */
export async function lockedRuns(): Promise<Set<string>> {
  try {
    const q = await navigator.locks.query();
    return new Set((q.held ?? []).map((l) => l.name ?? '').filter((n) => n.startsWith(LOCK_PREFIX)).map((n) => n.slice(LOCK_PREFIX.length)));
  } catch {
    return new Set();
  }
}

export function runState(run: Run, locked: Set<string>, liveId: string | undefined): RunState {
  if (run.status !== 'running') return run.status;
  if (run.id === liveId) return 'running';
  return locked.has(run.id) ? 'elsewhere' : 'interrupted';
}

const PHASE_WORDS: Record<LiveRun['phase'], string> = {
  preparing: 'Preparing',
  load: 'Loading',
  items: 'Evaluating',
  answers: 'Answering',
  judging: 'Judging',
};

export class EvalController extends EventTarget {
  live?: LiveRun;
  lastEnd?: RunEnd;
  private abort?: AbortController;
  private store?: Promise<IdbEvalStore>;
  private phaseStart?: { phase: string; role?: ModelRole; at: number; done: number };

  openStore(): Promise<IdbEvalStore> {
    this.store ??= IdbEvalStore.open();
    return this.store;
  }

  private changed(): void {
    if (this.live) {
      const l = this.live;
      const what = l.phase === 'load' ? `${l.task.name}: loading ${l.role === 'judge' ? 'the judge' : l.role === 'B' ? 'model B' : 'the model'}` : `${l.task.name} ${l.done}/${l.total}`;
      const holder = engine.holder;
      if (holder) {
        holder.label = `${PHASE_WORDS[l.phase]} ${what}`;
        engine.holdChanged();
      }
    }
    this.dispatchEvent(new Event('change'));
  }

  /** The page asks to stop: the request in flight is aborted, and the run is stored as stopped. */
  stop(): void {
    if (!this.live || this.live.stopping) return;
    this.live = { ...this.live, stopping: true };
    this.abort?.abort();
    this.changed();
  }

  /**
   * Start a run (or resume one: `resume` is its id, and `prepare` is then not called; the stored
   * task is used). `prepare` reads or downloads the task. Resolves when the run has ended, with
   * how it ended (also in `lastEnd`); never throws.
   */
  async start(o: { prepare?: (signal: AbortSignal, onDownload: (p: { loadedBytes: number; totalBytes?: number }) => void) => Promise<Task>; models?: RunModels; resume?: string }): Promise<RunEnd> {
    if (this.live || engine.holder) return { status: 'failed', error: { code: 'busy', title: 'An evaluation is running', message: 'Wait for it to end, or stop it first.' } };
    const abort = (this.abort = new AbortController());
    const signal = abort.signal;
    let release: (() => void) | null = null;
    let runId = o.resume;
    let task: Task | undefined;
    let models = o.models;
    this.lastEnd = undefined;
    this.live = { task: { name: '…', kind: 'multiple-choice', items: 0 }, models: models ?? { A: { cacheId: '', label: '' } }, phase: 'preparing', done: 0, total: 0, stopping: false, resumed: !!o.resume, ...(runId ? { runId } : {}) };
    this.phaseStart = undefined;
    engine.hold({ label: 'Evaluating', stop: () => this.stop() });
    this.changed();
    let end: RunEnd;
    try {
      // a chat answer being written ends first (the page asked the user)
      await engine.stopAnswers();
      if (runId) {
        const saved = await getRunTask(runId);
        if (!saved) throw Object.assign(new Error('the task of this run was not kept, so it cannot be resumed; start it again'), { code: 'bad-argument' });
        task = saved.task;
        models = saved.models;
        release = await takeLock(runId);
        if (!release) throw Object.assign(new Error('this run is running in another tab'), { code: 'busy' });
      } else {
        if (!o.prepare || !models) throw new Error('start() needs a task and models');
        task = await o.prepare(signal, (d) => {
          if (this.live) this.live = { ...this.live, download: d };
          this.changed();
        });
      }
      this.live = { ...this.live, task: { name: task.name, kind: task.kind, items: task.items.length }, models: models!, download: undefined };
      this.changed();
      const store = await this.openStore();
      const chosen = models!;
      let saving: Promise<void> | undefined;
      const outcome = await runTask({
        task,
        store,
        signal,
        ...(o.resume ? { resume: o.resume } : {}),
        loadModel: async (role: ModelRole): Promise<EvalTarget> => {
          // a new run: its task and models are stored before the run record is (so it can always be resumed)
          await saving;
          const m = role === 'A' ? chosen.A : role === 'B' ? chosen.B : chosen.judge;
          if (!m) throw Object.assign(new Error(`no model was chosen as ${role === 'B' ? 'model B' : 'the judge'}`), { code: 'bad-argument' });
          await orAbort(engine.loadHeld({ cached: m.cacheId }, m.label), signal);
          await applyAdapter(m, signal);
          return fromClient(engine.client);
        },
        onProgress: (p) => {
          if (!runId) {
            runId = p.runId;
            saving = (async () => {
              release = await takeLock(p.runId);
              await saveRunTask(p.runId, task!, chosen);
            })();
          }
          this.progress(p);
        },
      });
      end = { runId: outcome.run.id, status: 'done' };
    } catch (e) {
      const err = toAppError(e);
      const stopped = err.code === 'aborted' || signal.aborted;
      if (err.code === 'device-lost') engine.deviceLost(e);
      end = { ...(runId ? { runId } : {}), status: stopped ? 'stopped' : 'failed', ...(stopped ? {} : { error: err }) };
    } finally {
      (release as (() => void) | null)?.();
      this.live = undefined;
      this.abort = undefined;
    }
    this.lastEnd = end;
    this.changed();
    // chat gets the engine back (with its model loaded again when the run used others)
    void engine.release();
    return end;
  }

  private progress(p: EvalProgress): void {
    const l = this.live;
    if (!l) return;
    const now = performance.now();
    const ps = this.phaseStart;
    if (p.phase === 'load') {
      this.live = { ...l, runId: p.runId, phase: 'load', role: p.role, rate: undefined, etaSeconds: undefined };
    } else {
      if (!ps || ps.phase !== p.phase || ps.role !== p.role) this.phaseStart = { phase: p.phase, role: p.role, at: now, done: p.done };
      const start = this.phaseStart!;
      const n = p.done - start.done;
      const seconds = (now - start.at) / 1000;
      const rate = n > 0 && seconds > 0 ? n / seconds : undefined;
      this.live = { ...l, runId: p.runId, phase: p.phase, role: p.role, done: p.done, total: p.total, rate, etaSeconds: rate ? (p.total - p.done) / rate : undefined };
    }
    this.changed();
  }
}

/** the app's evaluations */
export const evals = new EvalController();

/**
 * The adapters a run's model is evaluated with: its tuned adapter (from the model cache), or none (a
 * model kept loaded from the chat may still carry one there: a base model's run must not).
 */
async function applyAdapter(m: ModelChoice, signal: AbortSignal): Promise<void> {
  // the engine's facts now (a model kept loaded may have had adapters set since it loaded)
  const info = await orAbort(engine.client.modelInfo(), signal);
  if (!info) return;
  if (!m.adapter) {
    if (info.adapters?.some((a) => a.scale !== null)) await orAbort(engine.client.setAdapters([]), signal);
    return;
  }
  const id = `eval:${m.adapter.cacheId}`;
  if (!info.adapters?.some((a) => a.id === id)) await orAbort(engine.client.loadAdapter({ cached: m.adapter.cacheId }, { id, signal }), signal);
  await orAbort(engine.client.setAdapters([{ id, scale: 1 }]), signal);
}

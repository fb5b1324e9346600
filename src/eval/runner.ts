/**
 * Running a task: load the model(s), run every unit not yet stored, store each result as soon as
 * it is done, report progress, stop on an AbortSignal. A run that stopped (reload, crash, device
 * loss, abort) continues with `resume: runId`: stored units are skipped, and for judged tasks a
 * contestant whose answers are all stored is not even loaded.
 *
 * Models are loaded one after another through the caller's `loadModel(which)` (one engine holds
 * one model): "A" (the evaluated model; every kind), then for judged kinds "B" (judge-pairwise's
 * second contestant) and "judge", on the same device. The identity of each (id, cache id,
 * architecture, parameters, tensor types) is recorded with the run; resuming with a different
 * model is refused.
 *
 * An item whose prompt is longer than the model's context gets that error stored as its result
 * and counted in the report; anything else (aborted, device lost, out of memory) stops the run
 * with status "stopped" or "failed" and is rethrown. Malformed items are refused before the
 * first one runs.
 */
import { CriaError, isCriaError } from '../shared/errors.ts';
import { aggregate, isJudged, itemKinds, judgedKinds } from './kinds/index.ts';
import { answerQuestion, judgePrompts, pickPrompt, type Answers, type Contestant, type JudgeContext, type ModelRole } from './kinds/judge-common.ts';
import { checkItems, errorOf, isItemError, throwIfAborted, type KindContext } from './kinds/kind.ts';
import { buildReport } from './report.ts';
import type { EvalStore } from './store.ts';
import type { EvalReport, EvalTarget, ItemResult, JudgeItem, Run, RunIdentity, Task } from './types.ts';
import { ENGINE_VERSION } from './version.ts';

export type { ModelRole };

export interface EvalProgress {
  runId: string;
  /** load: a model is being loaded; items: units of a non-judged task; answers: a contestant answering; judging */
  phase: 'load' | 'items' | 'answers' | 'judging';
  role?: ModelRole;
  /** units done in this phase (stored ones included) and the phase's total */
  done: number;
  total: number;
  /** the result just stored */
  result?: ItemResult;
}

export interface RunOptions {
  task: Task;
  store: EvalStore;
  /**
   * Load a model and return it as a target: "A" the evaluated model, "B" the second contestant
   * (judge-pairwise), "judge" the judge (judged kinds). Called only for models still needed, one
   * at a time; e.g. `async (which) => { await client.load(sources[which]); return fromClient(client); }`.
   */
  loadModel(which: ModelRole): Promise<EvalTarget>;
  /** continue this stored run instead of starting a new one */
  resume?: string;
  /** seed of sampled answers (judged kinds); default 1. A resumed run keeps its own. */
  seed?: number;
  signal?: AbortSignal;
  onProgress?(p: EvalProgress): void;
}

export interface RunOutcome {
  run: Run;
  /** in task order */
  results: ItemResult[];
  report: EvalReport;
}

let counter = 0;
export function newRunId(): string {
  return `run-${Date.now().toString(36)}-${(counter++).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** What a loaded model is, for the run's identity. */
export async function modelIdentity(target: EvalTarget): Promise<RunIdentity['model']> {
  const info = await target.modelInfo();
  if (!info) throw new CriaError('bad-argument', 'loadModel returned a target with no model loaded');
  const adapters = (info.adapters ?? []).filter((a) => a.scale !== null).map((a) => ({ name: a.name ?? a.id, ...(a.cacheId ? { cacheId: a.cacheId } : {}), scale: a.scale! }));
  return {
    id: info.id,
    contentHash: info.contentHash,
    ...(info.cacheId ? { cacheId: info.cacheId } : {}),
    architecture: info.architecture,
    parameters: info.parameters,
    tensorTypes: info.tensorTypes,
    nCtx: info.nCtx,
    runtime: info.runtime ?? 'cria',
    ...(adapters.length ? { adapters } : {}),
  };
}

/**
 * A run resumes only with the model it was made with: the same content (`contentHash`, over the
 * header and every weight), not merely the same name and shape. Runs stored before content
 * hashes cannot prove it and are refused.
 */
function checkSameModel(role: ModelRole, stored: RunIdentity['model'] | undefined, loaded: RunIdentity['model']): void {
  if (!stored) return;
  const as = role === 'A' ? 'the evaluated model' : role === 'B' ? 'contestant B' : 'the judge';
  if (stored.contentHash === undefined) {
    throw new CriaError('bad-argument', `this run was stored before Cria recorded models by content, so it cannot tell whether "${loaded.id}" is the model ${as} was; start a new run`);
  }
  const adapters = (m: RunIdentity['model']) => JSON.stringify((m.adapters ?? []).map((a) => [a.name, a.cacheId ?? null, a.scale]));
  if (stored.contentHash === loaded.contentHash && adapters(stored) !== adapters(loaded)) {
    const names = (m: RunIdentity['model']) => (m.adapters?.length ? m.adapters.map((a) => `${a.name} at ${a.scale}`).join(', ') : 'no adapter');
    throw new CriaError('bad-argument', `this run was made with "${stored.id}" and ${names(stored)} as ${as}, but ${names(loaded)} is applied now; apply the same adapters to resume, or start a new run`);
  }
  if (stored.contentHash !== loaded.contentHash) {
    const same = stored.id === loaded.id ? ` (same name, different content: its weights or metadata differ)` : '';
    throw new CriaError('bad-argument', `this run was made with model "${stored.id}" as ${as}, content ${stored.contentHash.slice(0, 12)}…, but "${loaded.id}" was loaded, content ${loaded.contentHash?.slice(0, 12)}…${same}; load the same model to resume, or start a new run`, {
      stored: stored.contentHash,
      loaded: loaded.contentHash,
    });
  }
}

/** The options recorded with a run: everything but the judge prompts' text (their names stand for them). */
export function identityOptions(task: Task): Record<string, unknown> | undefined {
  if (!task.options) return undefined;
  const { judge_prompts, ...rest } = task.options;
  return Array.isArray(judge_prompts) ? { ...rest, judge_prompts: judge_prompts.map((p) => (p as { name?: string }).name) } : rest;
}

async function identify(task: Task, target: EvalTarget, seed: number): Promise<RunIdentity> {
  const stats = await target.stats();
  let device: RunIdentity['device'];
  try {
    const d = await target.deviceInfo?.();
    if (d) device = { vendor: d.vendor, architecture: d.architecture, description: d.description, f16: d.f16 };
  } catch {
    // the CPU reference has no device
  }
  return {
    model: await modelIdentity(target),
    engine: { name: 'cria', version: ENGINE_VERSION, backend: stats.backend },
    ...(device ? { device } : {}),
    seed,
    task: { name: task.name, version: task.version, kind: task.kind, source: task.source, items: task.items.length, ...(task.options ? { options: identityOptions(task) } : {}) },
  };
}

function checkSameTask(run: Run, task: Task): void {
  const t = run.identity.task;
  if (t.name !== task.name || t.version !== task.version || t.kind !== task.kind || t.items !== task.items.length) {
    throw new CriaError('bad-argument', `run ${run.id} is of task ${t.name} v${t.version} (${t.kind}, ${t.items} items), not ${task.name} v${task.version} (${task.kind}, ${task.items.length} items); resume it with the same task`);
  }
  if (JSON.stringify(t.options ?? {}) !== JSON.stringify(identityOptions(task) ?? {})) {
    throw new CriaError('bad-argument', `run ${run.id} used the options ${JSON.stringify(t.options ?? {})}, not ${JSON.stringify(identityOptions(task) ?? {})}; resume it with the same task options`);
  }
}

/** Run (or resume) a task. Rejects with code "aborted" when the signal fires; the run is then "stopped" and can be resumed. */
export async function runTask(o: RunOptions): Promise<RunOutcome> {
  const { task, store } = o;
  let run: Run | undefined;
  if (o.resume !== undefined) {
    run = await store.getRun(o.resume);
    if (!run) throw new CriaError('bad-argument', `there is no stored run "${o.resume}" to resume`);
    checkSameTask(run, task);
  }
  const runId = run?.id ?? newRunId();
  const progress = (p: Omit<EvalProgress, 'runId'>) => o.onProgress?.({ runId, ...p });
  const seed = run?.identity.seed ?? o.seed ?? 1;

  /** load a model; on a new run, the first load creates the run record */
  const load = async (role: ModelRole): Promise<{ target: EvalTarget; loadMs: number }> => {
    throwIfAborted(o.signal);
    progress({ phase: 'load', role, done: 0, total: 1 });
    const t0 = performance.now();
    const target = await o.loadModel(role);
    const info = await target.modelInfo();
    const loadMs = info?.loadMs || performance.now() - t0;
    const model = await modelIdentity(target);
    if (!run) {
      if (role !== 'A') throw new CriaError('internal', 'internal error: a new run must load model A first (please report this)');
      const now = Date.now();
      run = { id: runId, createdAt: now, updatedAt: now, status: 'running', identity: await identify(task, target, seed), done: 0, total: task.items.length };
    } else {
      const key = role === 'A' ? 'model' : role === 'B' ? 'modelB' : 'judge';
      checkSameModel(role, run.identity[key], model);
      run.identity = { ...run.identity, [key]: model };
    }
    run.status = 'running';
    run.updatedAt = Date.now();
    await store.putRun(run);
    progress({ phase: 'load', role, done: 1, total: 1 });
    return { target, loadMs };
  };

  try {
    const results = isJudged(task.kind) ? await runJudged(o, runId, seed, load, () => run!, progress) : await runItems(o, runId, seed, load, () => run!, progress);
    const done = run!;
    done.status = 'done';
    done.updatedAt = Date.now();
    await store.putRun(done);
    return { run: done, results, report: buildReport(done, results) };
  } catch (e) {
    if (run) {
      run.status = isCriaError(e, 'aborted') || o.signal?.aborted ? 'stopped' : 'failed';
      run.updatedAt = Date.now();
      await store.putRun(run);
    }
    throw e;
  }
}

type Loader = (role: ModelRole) => Promise<{ target: EvalTarget; loadMs: number }>;
type Progress = (p: Omit<EvalProgress, 'runId'>) => void;

/** Run one unit, timing it and counting the forward tokens it cost; item-level errors become the result. */
async function timed(id: string, category: string | undefined, target: EvalTarget, fn: () => Promise<Omit<ItemResult, 'ms'>>): Promise<ItemResult> {
  const before = (await target.stats()).tokensEvaluated;
  const t0 = performance.now();
  let r: Omit<ItemResult, 'ms'>;
  try {
    r = await fn();
  } catch (e) {
    if (!isItemError(e)) throw e;
    r = { id, ...(category !== undefined ? { category } : {}), error: errorOf(e) };
  }
  const ms = performance.now() - t0;
  return { ...r, ms, tokensEvaluated: (await target.stats()).tokensEvaluated - before };
}

async function runItems(o: RunOptions, runId: string, seed: number, load: Loader, run: () => Run, progress: Progress): Promise<ItemResult[]> {
  const kind = itemKinds[o.task.kind as keyof typeof itemKinds];
  if (!kind) throw new CriaError('bad-argument', `unknown task kind "${o.task.kind}"`);
  const { target, loadMs } = await load('A');
  const units = await kind.units(o.task, target);
  const stored = new Map((await o.store.getResults(runId)).map((r) => [r.id, r]));
  const r = run();
  r.total = units.length;
  r.done = units.filter((u) => stored.has(u.id)).length;
  await o.store.putRun(r);
  const ctx: KindContext = { target, task: o.task, seed, signal: o.signal, loadMs };
  progress({ phase: 'items', done: r.done, total: r.total });
  for (const unit of units) {
    if (stored.has(unit.id)) continue;
    throwIfAborted(o.signal);
    const result = await timed(unit.id, unit.category, target, () => kind.run(unit, ctx));
    await o.store.putResult(runId, result);
    stored.set(unit.id, result);
    r.done++;
    r.updatedAt = Date.now();
    await o.store.putRun(r);
    progress({ phase: 'items', done: r.done, total: r.total, result });
  }
  return units.map((u) => stored.get(u.id)!);
}

async function runJudged(o: RunOptions, runId: string, seed: number, load: Loader, run: () => Run, progress: Progress): Promise<ItemResult[]> {
  const kind = judgedKinds[o.task.kind as keyof typeof judgedKinds];
  const items = o.task.items as JudgeItem[];
  // well-formed items, and every judge prompt they need, before any model is loaded
  checkItems<JudgeItem>(items, o.task.kind, (i) => (Array.isArray(i.turns) && i.turns.length > 0 && i.turns.every((t) => typeof t === 'string') ? (typeof i.category === 'string' ? undefined : 'it has no category') : 'it needs turns (a list of user messages)'));
  const prompts = judgePrompts(o.task);
  for (const item of items) for (let t = 0; t < item.turns.length; t++) pickPrompt(prompts, kind === judgedKinds['judge-single'] ? 'single' : 'pairwise', item, t);
  const finals = new Map((await o.store.getResults(runId)).map((r) => [r.id, r]));
  const pending = items.filter((i) => !finals.has(i.id));
  const answers: Record<Contestant, Map<string, Answers>> = { A: new Map(), B: new Map() };
  for (const who of kind.contestants) {
    for (const r of await o.store.getResults(runId, `answer-${who}`)) answers[who].set(r.id, { answers: r.judge?.answers ?? [], errors: r.judge?.errors ?? [] });
  }

  for (const who of kind.contestants) {
    const need = pending.filter((i) => !answers[who].has(i.id));
    if (need.length === 0) continue;
    const { target } = await load(who);
    const ctx: JudgeContext = { target, task: o.task, seed, signal: o.signal };
    let done = pending.length - need.length;
    progress({ phase: 'answers', role: who, done, total: pending.length });
    for (const item of need) {
      throwIfAborted(o.signal);
      let got: Answers | undefined;
      const result = await timed(item.id, item.category, target, async () => {
        got = await answerQuestion(item, who, ctx);
        return { id: item.id, category: item.category, judge: { answers: got.answers, verdicts: [], errors: got.errors } };
      });
      await o.store.putResult(runId, result, `answer-${who}`);
      answers[who].set(item.id, got!);
      progress({ phase: 'answers', role: who, done: ++done, total: pending.length, result });
    }
  }

  const r = run();
  r.total = items.length;
  r.done = items.length - pending.length;
  if (pending.length > 0) {
    const { target } = await load('judge');
    const ctx: JudgeContext = { target, task: o.task, seed, signal: o.signal };
    progress({ phase: 'judging', role: 'judge', done: r.done, total: r.total });
    for (const item of pending) {
      throwIfAborted(o.signal);
      const result = await timed(item.id, item.category, target, () => kind.judge(item, { A: answers.A.get(item.id), B: answers.B.get(item.id) }, ctx));
      await o.store.putResult(runId, result);
      finals.set(item.id, result);
      r.done++;
      r.updatedAt = Date.now();
      await o.store.putRun(r);
      progress({ phase: 'judging', role: 'judge', done: r.done, total: r.total, result });
    }
  }
  return items.map((i) => finals.get(i.id)!);
}

export { aggregate };

/**
 * `cria eval --engine cpu|reference`: the same harness (runTask, fromClient) in Node, on the
 * WebAssembly backend or the TypeScript reference. The engine is wrapped in the client's shape so evaluation goes through `fromClient`
 * exactly as in the browser; runs live in memory (nothing to resume: use the webgpu engine with
 * --cache for that). It is the exact reference the WebGPU results are compared with, and cheap
 * for tiny models.
 */
import type { CriaClient, Stream } from '../client/index.ts';
import { Engine } from '../engine/engine.ts';
import { fromClient, runTask, type EvalProgress, type EvalStore, type ItemResult, type ModelRole, type ResultPhase, type Run, type RunOutcome, type Task } from '../eval/index.ts';
import type { LoadProgress } from '../protocol/api.ts';
import { CriaError } from '../shared/errors.ts';
import { localModelSource, nodeEngineOptions } from './cpu-engine.ts';
import type { ModelLocation } from './model-source.ts';

/** Runs and results in memory, deep-copied as IndexedDB would. */
export class MemoryEvalStore implements EvalStore {
  private readonly runs = new Map<string, Run>();
  private readonly results = new Map<string, ItemResult>();

  async putRun(run: Run): Promise<void> {
    this.runs.set(run.id, structuredClone(run));
  }
  async getRun(id: string): Promise<Run | undefined> {
    const r = this.runs.get(id);
    return r && structuredClone(r);
  }
  async listRuns(): Promise<Run[]> {
    return [...this.runs.values()].sort((a, b) => b.createdAt - a.createdAt).map((r) => structuredClone(r));
  }
  async deleteRun(id: string): Promise<void> {
    this.runs.delete(id);
    for (const k of [...this.results.keys()]) if (k.startsWith(`${id}|`)) this.results.delete(k);
  }
  async putResult(runId: string, result: ItemResult, phase: ResultPhase = 'result'): Promise<void> {
    this.results.set(`${runId}|${phase}|${result.id}`, structuredClone(result));
  }
  async getResults(runId: string, phase: ResultPhase = 'result'): Promise<ItemResult[]> {
    const prefix = `${runId}|${phase}|`;
    return [...this.results.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => structuredClone(v));
  }
}

let seq = 0;
const rid = () => `cli-cpu-${seq++}`;

/** Run `p` as request `id`; an AbortSignal aborts it in the engine. */
function withSignal<T>(engine: Engine, id: string, p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  const onAbort = () => void engine.abort(id);
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  return p.finally(() => signal.removeEventListener('abort', onAbort));
}

function notStreaming(): never {
  throw new CriaError('not-implemented', 'the CPU engine client of cria eval does not stream');
}

/** The engine in the client's shape (non-streaming requests only: all evaluation needs). */
export function engineClient(engine: Engine): CriaClient {
  return {
    load: (source, opts = {}) => {
      const { onProgress, signal, ...loadOpts } = opts;
      const id = rid();
      return withSignal(engine, id, engine.load(source, onProgress, { ...loadOpts, requestId: id }), signal);
    },
    unload: () => engine.unload(),
    chat: {
      completions: {
        create: ((req, opts = {}) => {
          if (req.stream) return notStreaming();
          const id = req.request_id ?? rid();
          return withSignal(engine, id, engine.chatCompletion({ ...req, request_id: id }), opts.signal);
        }) as CriaClient['chat']['completions']['create'],
      },
    },
    completions: {
      create: ((req, opts = {}) => {
        if (req.stream) return notStreaming() as Stream<never>;
        const id = req.request_id ?? rid();
        return withSignal(engine, id, engine.completion({ ...req, request_id: id }), opts.signal);
      }) as CriaClient['completions']['create'],
    },
    score: (req, opts = {}) => {
      const id = req.request_id ?? rid();
      return withSignal(engine, id, engine.score({ ...req, request_id: id }), opts.signal);
    },
    abort: (id) => engine.abort(id),
    tokenize: (t, o) => engine.tokenize(t, o),
    detokenize: (ids) => engine.detokenize(ids),
    applyChatTemplate: (m, a) => engine.applyChatTemplate(m, a),
    deviceInfo: () => engine.deviceInfo(),
    measureDevice: () => engine.measureDevice(),
    modelInfo: () => engine.modelInfo(),
    loadAdapter: (source, opts = {}) => {
      const id = rid();
      return withSignal(engine, id, engine.loadAdapter(source, { ...(opts.id !== undefined ? { id: opts.id } : {}), request_id: id }, opts.onProgress), opts.signal);
    },
    setAdapters: (list) => engine.setAdapters(list),
    finetune: (req, opts = {}) => {
      const id = rid();
      return withSignal(engine, id, engine.finetune({ ...req, request_id: id }, opts.onProgress), opts.signal);
    },
    stats: () => engine.stats(),
    cache: {
      list: () => engine.listCachedModels(),
      delete: (id) => engine.deleteCachedModel(id),
      clear: () => engine.deleteAllCachedModels(),
      usage: () => engine.storageInfo(),
      persist: async () => false,
    },
    terminate: () => undefined,
  };
}

export interface CpuEvalOptions {
  /** the backend: WebAssembly (`cpu`) or the TypeScript reference */
  kind: 'cpu' | 'reference';
  threads?: number;
  task: Task;
  models: Partial<Record<ModelRole, ModelLocation>>;
  seed?: number;
  signal?: AbortSignal;
  onProgress?(p: EvalProgress): void;
  onLoadProgress?(p: LoadProgress): void;
}

/** One CPU engine; each role's model loaded into it in turn (a local file read lazily, a URL read with Range requests). */
export async function runEvalOnCpu(o: CpuEvalOptions): Promise<RunOutcome> {
  const engine = new Engine(nodeEngineOptions(o.kind, o.threads));
  const client = engineClient(engine);
  try {
    return await runTask({
      task: o.task,
      store: new MemoryEvalStore(),
      seed: o.seed,
      signal: o.signal,
      onProgress: o.onProgress,
      loadModel: async (role) => {
        const l = o.models[role];
        if (!l) throw new CriaError('bad-argument', `this task needs a model for ${role === 'B' ? 'contestant B (--model-b)' : role === 'judge' ? 'the judge (--judge)' : 'A (--model)'}`);
        await client.load(await localModelSource(l), { onProgress: o.onLoadProgress });
        return fromClient(client);
      },
    });
  } finally {
    // the engine's backend holds worker threads (WebAssembly with --threads > 1): a finished run lets the process exit
    await engine.unload();
  }
}

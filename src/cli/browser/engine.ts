/**
 * The `cria` CLI's page: the engine worker behind the client, exactly as the
 * app uses it, with plain functions on `window.criaCli` for the CLI to call
 * (see page-api.ts for the contract).
 */
import { createClient, createEngineWorker } from '../../client/index.ts';
import { fromClient, IdbEvalStore, runTask, type EvalStore, type ModelRole, type Run, type Task } from '../../eval/index.ts';
import { identityOptions } from '../../eval/runner.ts';
import { serializeError } from '../../protocol/errors.ts';
import { CriaError } from '../../shared/errors.ts';
import type { ChatCompletion } from '../../protocol/api.ts';
import { pageSource, type CliPage, type PageCompletion, type PageEvalOutcome, type PageEvalProgress, type PageEvalRequest, type PageResult, type ResumeMatch } from './page-api.ts';

const worker = createEngineWorker();
const client = createClient(worker);

// A worker that fails to start (e.g. a module that does not load) would leave every call pending.
const workerFailed = new Promise<never>((_, reject) => {
  worker.addEventListener('error', (e) => reject(new CriaError('internal', `the engine worker failed: ${e.message || 'it did not start (see the browser console with CRIA_DEBUG=1)'}`)));
});
workerFailed.catch(() => undefined);

async function result<T>(f: () => Promise<T>): Promise<PageResult<T>> {
  try {
    return { ok: await Promise.race([f(), workerFailed]) };
  } catch (e) {
    return { error: serializeError(e) };
  }
}

function base64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** the running completion or chat, for `abort` */
let running: AbortController | undefined;
function track(): AbortSignal {
  running = new AbortController();
  return running.signal;
}

async function complete(req: Parameters<CliPage['complete']>[0], streamText: boolean): Promise<PageCompletion> {
  const out: PageCompletion = { tokens: [], text: '', finish_reason: 'length', usage: undefined!, prompt_logits_base64: undefined };
  for await (const chunk of client.completions.create({ ...req, stream: true }, { signal: track() })) {
    const c = chunk.choices[0];
    out.tokens.push(...c.token_ids);
    out.text += c.text;
    if (streamText && c.text) await window.criaCliText?.(c.text);
    if (c.finish_reason) out.finish_reason = c.finish_reason;
    if (chunk.usage) out.usage = chunk.usage;
    if (chunk.prompt_logits) out.prompt_logits_base64 = base64(chunk.prompt_logits);
  }
  if (!out.usage) throw new CriaError('internal', 'the completion stream ended without its last chunk');
  return out;
}

/** A chat completion streamed (text to the CLI as it comes), returned whole. */
async function chat(req: Parameters<CliPage['chat']>[0], streamText: boolean): Promise<ChatCompletion> {
  let id = '';
  let created = 0;
  let model = '';
  let content = '';
  let finish: ChatCompletion['choices'][0]['finish_reason'] = 'length';
  let usage: ChatCompletion['usage'] | undefined;
  const logprobs: NonNullable<ChatCompletion['choices'][0]['logprobs']>['content'] = [];
  for await (const chunk of client.chat.completions.create({ ...req, stream: true }, { signal: track() })) {
    ({ id, created, model } = chunk);
    const c = chunk.choices[0];
    if (c.delta.content) {
      content += c.delta.content;
      if (streamText) await window.criaCliText?.(c.delta.content);
    }
    if (c.logprobs) logprobs.push(...c.logprobs.content);
    if (c.finish_reason) finish = c.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  if (!usage) throw new CriaError('internal', 'the chat stream ended without its last chunk');
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: req.logprobs ? { content: logprobs } : null, finish_reason: finish }],
    usage,
  };
}

/**
 * The newest unfinished run of the same task (name, version, kind, items, options, source) whose
 * recorded models agree with the models given now (name, architecture, parameters, tensor types),
 * or undefined. runTask checks the models again when it loads them.
 */
export async function findResumable(store: EvalStore, task: Task, match: ResumeMatch): Promise<Run | undefined> {
  const options = JSON.stringify(identityOptions(task) ?? {});
  const key = { A: 'model', B: 'modelB', judge: 'judge' } as const;
  for (const run of await store.listRuns()) {
    const t = run.identity.task;
    if (run.status === 'done' || t.name !== task.name || t.version !== task.version || t.kind !== task.kind || t.items !== task.items.length || t.source !== task.source) continue;
    if (JSON.stringify(t.options ?? {}) !== options) continue;
    const same = Object.entries(match.models).every(([role, want]) => {
      const had = run.identity[key[role as ModelRole]];
      if (!had || !want) return true;
      return (want.name === null || want.name === had.id) && want.architecture === had.architecture && want.parameters === had.parameters && JSON.stringify(Object.entries(want.tensorTypes).sort()) === JSON.stringify(Object.entries(had.tensorTypes).sort());
    });
    if (same) return run;
  }
  return undefined;
}

let evalAbort: AbortController | undefined;
/** a stop that came before the evaluation started (the CLI may ask while runEval is on its way) */
let stopRequested = false;

async function runEval(req: PageEvalRequest): Promise<PageEvalOutcome> {
  if (evalAbort) throw new CriaError('bad-argument', 'an evaluation is already running in this page');
  const abort = (evalAbort = new AbortController());
  if (stopRequested) abort.abort();
  const store = await IdbEvalStore.open();
  try {
    const resume = req.resume ? (await findResumable(store, req.task, req.resume))?.id : undefined;
    let errors = 0;
    const computed: Record<string, number> = {};
    let last = 0;
    let lastPhase = '';
    const send = (p: PageEvalProgress) => void window.criaCliEvalProgress?.(p);
    const { run, report } = await runTask({
      task: req.task,
      store,
      resume,
      seed: req.seed,
      signal: abort.signal,
      loadModel: async (role) => {
        const m = req.models[role];
        if (!m) throw new CriaError('bad-argument', `this task needs a model for ${role === 'B' ? 'contestant B (--model-b)' : role === 'judge' ? 'the judge (--judge)' : 'A (--model)'}`);
        await client.load(pageSource(m), { backend: 'webgpu', onProgress: (p) => void window.criaCliProgress?.(p) });
        return fromClient(client);
      },
      onProgress: (p) => {
        if (p.result?.error) errors++;
        if (p.result) {
          const k = p.phase === 'answers' ? `answers ${p.role}` : p.phase;
          computed[k] = (computed[k] ?? 0) + 1;
        }
        const phase = `${p.phase}:${p.role ?? ''}`;
        const now = performance.now();
        if (phase !== lastPhase || p.done === p.total || now - last >= 250) {
          last = now;
          lastPhase = phase;
          send({ runId: p.runId, phase: p.phase, ...(p.role ? { role: p.role } : {}), done: p.done, total: p.total, errors });
        }
      },
    });
    return { run, report, ...(resume ? { resumed: resume } : {}), computed };
  } finally {
    store.close();
    evalAbort = undefined;
  }
}

window.criaCli = {
  load: (model, opts = {}) => result(() => client.load(pageSource(model), { ...opts, onProgress: (p) => void window.criaCliProgress?.(p) })),
  loadAdapter: (model, id) => result(() => client.loadAdapter({ url: model.url, cache: model.cache }, { id })),
  tokenize: (text, opts) => result(() => client.tokenize(text, opts)),
  complete: (req, streamText) => result(() => complete(req, streamText)),
  chat: (req, streamText) => result(() => chat(req, streamText)),
  abort: async () => running?.abort(),
  score: (req) => result(() => client.score(req)),
  deviceInfo: () => result(() => client.deviceInfo()),
  stats: () => result(() => client.stats()),
  runEval: (req) => result(() => runEval(req)),
  stopEval: async () => {
    stopRequested = true;
    evalAbort?.abort();
  },
} satisfies CliPage;

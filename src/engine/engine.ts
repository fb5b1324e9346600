/**
 * The engine: one loaded model behind the `EngineApi` (src/protocol/api.ts).
 * It is backend-agnostic: the worker builds it with the WebGPU backend,
 * Node tests and the CLI with the CPU reference. It never imports comlink.
 *
 * Requests run one at a time (one model, one KV cache); the session keeps
 * the longest common prefix between requests, so a chat turn or a batch of
 * multiple-choice options over one context only pays for what is new.
 */
import { CriaError } from '../shared/errors.ts';
import { readGguf, type GgufFile } from '../formats/gguf.ts';
import type { Backend } from '../model/backend.ts';
import { summarize } from '../model/inspect.ts';
import { Model, planModel } from '../model/model.ts';
import { chooseContext, type ContextChoice } from '../model/memory.ts';
import { logSoftmax, topIds } from '../sampling/sampler.ts';
import { parseChatRequest, parseCompletionRequest, parseScoreRequest, type ParsedSampling } from './request.ts';
import { createTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import type {
  DeviceMeasurement,
  CachedModel,
  StorageInfo,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  Completion,
  CompletionChunk,
  CompletionRequest,
  DeviceInfo,
  EngineApi,
  EngineStats,
  FinishReason,
  BackendInfo,
  BackendKind,
  LoadOptions,
  LoadProgress,
  ModelInfo,
  ModelSource,
  ScoreRequest,
  ScoreResult,
  TokenizeOptions,
  TokenLogprob,
  Usage,
} from '../protocol/api.ts';
import { generate, type GenerateResult } from './generate.ts';
import { Session } from './session.ts';
import { openModelSource } from './open-source.ts';
import type { StorageEstimator } from '../storage/download.ts';
import type { ModelStore } from '../storage/store.ts';

/** What a load asks of the backend factory. */
export interface BackendRequest {
  backend: BackendKind;
  threads?: number;
}

/** A backend and why the factory chose it (for `auto`). */
export interface ChosenBackend {
  backend: Backend;
  reason: string;
}

export interface EngineOptions {
  /**
   * a fresh backend for each load (after a device loss, a new device): the one asked for, or for `auto`
   * the environment's pick, with its reason. A factory that has one kind of backend returns it
   * (the CPU reference in tests) and refuses another one asked for by name.
   */
  createBackend(req: BackendRequest): Promise<Backend | ChosenBackend>;
  /** what runs the model (the loaded model's backend, when there is one): the GPU adapter, or the WebAssembly engine */
  deviceInfo?(backend?: Backend): Promise<DeviceInfo>;
  /** the adapter's bandwidth and compute (the worker wires the GPU microbenchmarks here) */
  measureDevice?(): Promise<DeviceMeasurement>;
  /** default context size cap (default 4096, at most the model's training context; a load may ask for another) */
  nCtx?: number;
  /**
   * bytes a model may take in all (weights + KV cache + scratch), checked before anything is
   * allocated (src/model/memory.ts); a load may ask for another. Default: half of
   * `navigator.deviceMemory` where the browser says, else 2 GiB.
   */
  memoryBudgetBytes?: number;
  fetch?: typeof fetch;
  /** the model cache (IndexedDB in the worker); without it, URLs are read directly */
  openStore?(): Promise<ModelStore>;
  /** navigator.storage: quota estimates and persistence */
  storage?: StorageEstimator & { persisted?(): Promise<boolean> };
  /** navigator.locks: one download per model across tabs */
  locks?: LockManager;
  /** an HTTP read that receives no byte for this long fails with `network` (default 30 s; tests lower it) */
  idleTimeoutMs?: number;
}

interface Loaded {
  file: GgufFile;
  model: Model;
  tokenizer: Tokenizer;
  session: Session;
  info: ModelInfo;
}


/** Let queued messages (e.g. an abort) run between tokens without timer clamping. */
function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}

let counter = 0;
const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}${(counter++).toString(36)}`;

export class Engine implements EngineApi {
  private loaded?: Loaded;
  private backend?: Backend;
  private readonly requests = new Map<string, AbortController>();
  private queue: Promise<unknown> = Promise.resolve();
  private tokensEvaluated = 0;
  /** set when the device was lost under the loaded model; cleared by the next load */
  private lostReason?: string;

  constructor(private readonly opts: EngineOptions) {}

  /** Run `fn` after every earlier request, with an abort signal registered under `requestId`. */
  private exclusive<T>(requestId: string | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ctrl = new AbortController();
    const id = requestId ?? newId('req');
    if (this.requests.has(id)) return Promise.reject(new CriaError('bad-argument', `request id ${id} is already in use`));
    this.requests.set(id, ctrl);
    const run = this.queue.then(async () => {
      if (ctrl.signal.aborted) throw new CriaError('aborted', 'the request was aborted before it started');
      return fn(ctrl.signal);
    });
    this.queue = run.catch(() => undefined);
    return run.finally(() => this.requests.delete(id));
  }

  private need(): Loaded {
    if (this.lostReason !== undefined) {
      throw new CriaError('device-lost', `the GPU device was lost (${this.lostReason || 'no reason given'}), and the model with it; load the model again`);
    }
    if (!this.loaded) throw new CriaError('bad-argument', 'no model is loaded; call load() first');
    return this.loaded;
  }

  async load(source: ModelSource, onProgress?: (p: LoadProgress) => void, opts: LoadOptions = {}): Promise<ModelInfo> {
    return this.exclusive(opts.requestId, async (signal) => {
      try {
        return await this.loadNow(source, onProgress, opts, signal);
      } catch (e) {
        await this.dropModel(); // nothing half-loaded stays on the device
        throw e;
      }
    });
  }

  private async loadNow(source: ModelSource, onProgress: ((p: LoadProgress) => void) | undefined, opts: LoadOptions, signal: AbortSignal): Promise<ModelInfo> {
    const t0 = performance.now();
    await this.dropModel();
    onProgress?.({ phase: 'open', loadedBytes: 0, totalBytes: 0 });
    // the device first: without one, downloading a model would only waste the user's time
    const requested: BackendRequest = { backend: opts.backend ?? 'auto', ...(opts.threads !== undefined ? { threads: opts.threads } : {}) };
    if (!['auto', 'webgpu', 'wasm'].includes(requested.backend)) throw new CriaError('bad-argument', `backend must be auto, webgpu or wasm, got ${JSON.stringify(requested.backend)}`);
    const made = await this.opts.createBackend(requested);
    const backend = (this.backend = 'reason' in made ? made.backend : made);
    const backendInfo = describeBackend(backend, 'reason' in made ? made.reason : requested.backend === 'auto' ? 'the only backend of this engine' : 'asked for');
    const asked = opts.memoryBudgetBytes ?? this.opts.memoryBudgetBytes ?? defaultMemoryBudget();
    if (!(Number.isFinite(asked) && asked > 0)) throw new CriaError('bad-argument', `memoryBudgetBytes must be a positive number of bytes, got ${asked}`);
    const budgetBytes = Math.min(asked, backend.memoryLimitBytes ?? Infinity);
    // everything that can be known from the header is checked before the weights are fetched or uploaded
    const budgetNote = budgetBytes < asked ? ` (${backend.name === 'wasm' ? "WebAssembly's 4 GiB address space" : `what the ${backend.name} backend can hold`})` : '';
    const check = (file: GgufFile) => checkModel(file, backend, { budgetBytes, budgetNote, nCtx: opts.nCtx, cap: this.opts.nCtx ?? DEFAULT_CONTEXT });
    const opened = await openModelSource(source, {
      store: await this.store(),
      storage: this.opts.storage,
      locks: this.opts.locks,
      fetch: this.opts.fetch,
      signal,
      onProgress,
      inspectHeader: (file) => void check(file),
      ...(this.opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}),
    });
    const src = opened.src;
    const file = opened.header ?? (await readGguf(src));
    const { tokenizer, context } = check(file);
    this.lostReason = undefined;
    backend.lost?.then((reason) => {
      if (this.backend === backend) {
        this.backend = undefined;
        this.loaded = undefined;
        this.lostReason = reason;
      }
    });
    const model = await Model.load(file, backend, {
      signal,
      contentHash: true,
      onProgress: (p) => onProgress?.({ phase: 'upload', loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, tensor: p.tensor }),
    });
    const nCtx = context.nCtx;
    const session = new Session(model, { nCtx, nBatch: N_BATCH });
    onProgress?.({ phase: 'compile', loadedBytes: model.weightBytes, totalBytes: model.weightBytes });
    await this.warmUp(session);
    const s = summarize(file);
    const info: ModelInfo = {
      id: s.name ?? src.name.split('/').pop() ?? 'model',
      architecture: s.architecture,
      parameters: s.parameters,
      contextLength: model.config.nCtxTrain,
      nCtx,
      nCtxReason: context.reason,
      backend: backendInfo,
      contentHash: model.contentHash!,
      memory: context.memory,
      tensorTypes: s.tensor_types,
      vocabSize: tokenizer.vocabSize,
      hasChatTemplate: tokenizer.chatTemplate !== undefined,
      weightBytes: model.weightBytes,
      activations: backend.activations ?? 'f32',
      loadMs: performance.now() - t0,
      source: opened.source,
      cacheId: opened.cacheId,
      downloadedBytes: opened.downloadedBytes,
    };
    this.loaded = { file, model, tokenizer, session, info };
    onProgress?.({ phase: 'ready', loadedBytes: model.weightBytes, totalBytes: model.weightBytes });
    return info;
  }

  /**
   * Compile the pipelines of a typical prompt batch (8 tokens, the widest token blocking of the
   * matrix kernels) and of a decode step now, so the first request is not slow. A backend that
   * records before running (the GPU) compiles the batch without computing it (on a CPU adapter such
   * as SwiftShader computing it took seconds); the decode step runs for real, so a model this device
   * cannot run fails here, at load. Other prompt lengths may still compile a variant or two on first use.
   */
  private async warmUp(session: Session): Promise<void> {
    const n = Math.min(8, session.nCtx - 1);
    const backend = session.model.backend;
    const batch = await session.forward(new Array(n).fill(0));
    if (backend.compileRecorded) await backend.compileRecorded();
    else await backend.argmax(batch);
    session.truncate(0);
    await backend.argmax(await session.forward([0]));
    session.truncate(0);
  }

  private async dropModel(): Promise<void> {
    this.loaded = undefined;
    this.backend?.dispose();
    this.backend = undefined;
  }

  async unload(): Promise<void> {
    return this.exclusive(undefined, () => this.dropModel());
  }

  private storePromise?: Promise<ModelStore | undefined>;
  private store(): Promise<ModelStore | undefined> {
    this.storePromise ??= this.opts.openStore ? this.opts.openStore() : Promise.resolve(undefined);
    return this.storePromise;
  }

  private async needStore(): Promise<ModelStore> {
    const s = await this.store();
    if (!s) throw new CriaError('not-implemented', 'this engine has no model cache');
    return s;
  }

  async listCachedModels(): Promise<CachedModel[]> {
    const s = await this.store();
    return s ? s.list() : [];
  }

  async deleteCachedModel(id: string): Promise<void> {
    // not while that model is downloading in this engine: deletes wait for running requests
    return this.exclusive(undefined, async () => (await this.needStore()).delete(id));
  }

  async deleteAllCachedModels(): Promise<void> {
    return this.exclusive(undefined, async () => (await this.needStore()).clear());
  }

  async storageInfo(): Promise<StorageInfo> {
    const est = (await this.opts.storage?.estimate()) ?? {};
    const models = await this.listCachedModels();
    return {
      usage: est.usage ?? 0,
      quota: est.quota ?? 0,
      persisted: (await this.opts.storage?.persisted?.()) ?? false,
      modelBytes: models.reduce((a, m) => a + m.storedBytes, 0),
    };
  }

  async abort(requestId: string): Promise<void> {
    this.requests.get(requestId)?.abort();
  }

  async modelInfo(): Promise<ModelInfo | null> {
    return this.loaded?.info ?? null;
  }

  async deviceInfo(): Promise<DeviceInfo> {
    if (!this.opts.deviceInfo) throw new CriaError('not-implemented', 'this engine has no device information (CPU reference)');
    return this.opts.deviceInfo(this.backend);
  }

  async measureDevice(): Promise<DeviceMeasurement> {
    if (!this.opts.measureDevice) throw new CriaError('not-implemented', 'this engine cannot measure its device (CPU reference)');
    return this.exclusive(undefined, () => this.opts.measureDevice!());
  }

  async stats(): Promise<EngineStats> {
    const b = this.backend;
    const s = b?.stats() ?? { dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0 };
    return { backend: b?.name ?? 'none', ...s, tokensEvaluated: this.tokensEvaluated };
  }

  async tokenize(text: string, opts: TokenizeOptions = {}): Promise<number[]> {
    return this.need().tokenizer.encode(text, { addSpecial: opts.add_special ?? true, parseSpecial: opts.parse_special ?? false });
  }

  async detokenize(ids: number[]): Promise<string> {
    return this.need().tokenizer.decode(ids);
  }

  async applyChatTemplate(messages: ChatMessage[], addGenerationPrompt = true): Promise<string> {
    return this.need().tokenizer.applyChatTemplate(messages.map((x) => ({ role: x.role, content: x.content })), { addGenerationPrompt });
  }

  /** Chat prompt → ids: the template's markup with special tokens parsed, message contents as plain text, BOS once. */
  private chatPrompt(m: Loaded, messages: ChatMessage[], template?: string): number[] {
    if (!Array.isArray(messages) || messages.length === 0) throw new CriaError('bad-argument', 'messages must be a non-empty array of {role, content}');
    for (const msg of messages) {
      if (!msg || typeof msg.content !== 'string' || !['system', 'user', 'assistant'].includes(msg.role)) {
        throw new CriaError('bad-argument', `each message needs a role (system, user or assistant) and string content; got ${JSON.stringify(msg)?.slice(0, 80)}`);
      }
    }
    // message contents are text: only the template's own markup becomes control tokens
    return m.tokenizer.encodeChat(
      messages.map((x) => ({ role: x.role, content: x.content })),
      { addGenerationPrompt: true, ...(template !== undefined ? { template } : {}) },
    );
  }

  async chatCompletion(req: ChatCompletionRequest, onChunk?: (c: ChatCompletionChunk) => void): Promise<ChatCompletion> {
    const p = parseChatRequest(req);
    return this.exclusive(p.requestId, async (signal) => {
      const m = this.need();
      const prompt = this.chatPrompt(m, p.messages, p.chatTemplate);
      const id = newId('chatcmpl');
      const created = Math.floor(Date.now() / 1000);
      const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: FinishReason | null, logprobs: TokenLogprob[] | null, usage?: Usage): ChatCompletionChunk => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: m.info.id,
        choices: [{ index: 0, delta, logprobs: logprobs ? { content: logprobs } : null, finish_reason: finish }],
        ...(usage ? { usage } : {}),
      });
      const stream = p.stream && onChunk ? onChunk : undefined;
      stream?.(chunk({ role: 'assistant', content: '' }, null, null));
      const r = await this.run(m, prompt, p, signal, (text, lp) => stream?.(chunk({ content: text }, null, lp)));
      // awaited: through comlink, chunks travel on the callback's own port, and the result must not overtake the last one
      await stream?.(chunk({}, r.result.finishReason, r.rest.logprobs, r.usage));
      return {
        id,
        object: 'chat.completion',
        created,
        model: m.info.id,
        choices: [{ index: 0, message: { role: 'assistant', content: r.result.text }, logprobs: r.logprobs ? { content: r.logprobs } : null, finish_reason: r.result.finishReason }],
        usage: r.usage,
      };
    });
  }

  async completion(req: CompletionRequest, onChunk?: (c: CompletionChunk) => void): Promise<Completion> {
    const p = parseCompletionRequest(req);
    return this.exclusive(p.requestId, async (signal) => {
      const m = this.need();
      const prompt = typeof p.prompt === 'string' ? m.tokenizer.encode(p.prompt, { addSpecial: true, parseSpecial: false }) : checkIds(p.prompt, m.tokenizer.vocabSize);
      const id = newId('cmpl');
      const created = Math.floor(Date.now() / 1000);
      let promptLogits: Float32Array | undefined;
      const chunk = (text: string, ids: number[], finish: FinishReason | null, lp: TokenLogprob[] | null, usage?: Usage): CompletionChunk => ({
        id,
        object: 'text_completion',
        created,
        model: m.info.id,
        choices: [{ index: 0, text, token_ids: ids, logprobs: lp ? { content: lp } : null, finish_reason: finish }],
        ...(usage ? { usage } : {}),
        ...(usage && promptLogits ? { prompt_logits: promptLogits } : {}),
      });
      const stream = p.stream && onChunk ? onChunk : undefined;
      const onPromptLogits = p.promptLogits ? (l: Float32Array) => void (promptLogits = l) : undefined;
      const r = await this.run(m, prompt, p, signal, (text, lp, ids) => stream?.(chunk(text, ids, null, lp)), onPromptLogits);
      // the ids (and logprobs) of tokens that released no text, e.g. the one that completed a stop string
      // awaited, as in chatCompletion: the result must not overtake the last chunk
      await stream?.(chunk('', r.rest.ids, r.result.finishReason, r.rest.logprobs, r.usage));
      const done = chunk(r.result.text, r.result.tokens, r.result.finishReason, r.logprobs, r.usage);
      return done as Completion;
    });
  }

  /**
   * Generate from prompt ids; `emit` gets each released piece of text (and the ids since the last emit);
   * `rest` is what no emit carried (tokens after the last piece of text).
   */
  private async run(
    m: Loaded,
    prompt: number[],
    req: ParsedSampling,
    signal: AbortSignal,
    emit: (text: string, logprobs: TokenLogprob[] | null, ids: number[]) => void,
    onPromptLogits?: (logits: Float32Array) => void,
  ): Promise<{ result: GenerateResult; usage: Usage; logprobs: TokenLogprob[] | null; rest: { ids: number[]; logprobs: TokenLogprob[] | null } }> {
    const room = m.session.nCtx - prompt.length;
    if (room < 0 || (room === 0 && req.maxTokens > 0)) {
      throw new CriaError('context-overflow', `the prompt is ${prompt.length} tokens but the context holds ${m.session.nCtx}; shorten the conversation`, { promptTokens: prompt.length, nCtx: m.session.nCtx });
    }
    // max_tokens is a ceiling: at most what the context has room for (the answer then ends with finish_reason "length")
    const maxTokens = Math.min(req.maxTokens, room);
    const { sampling, stop } = req;
    const wantLogprobs = req.logprobs;
    const topN = req.topLogprobs;
    const logprobs: TokenLogprob[] = [];
    let pending: TokenLogprob[] = [];
    let pendingIds: number[] = [];

    const it = generate(m.session, {
      prompt,
      maxTokens,
      sampling,
      stop,
      isEndToken: req.ignoreEos ? undefined : (id) => m.tokenizer.isEog(id),
      decoder: m.tokenizer.decoder(),
      signal,
      onPromptLogits,
      onStepLogits: wantLogprobs
        ? (logits, token) => {
            const ls = logSoftmax(logits);
            const piece = (id: number) => {
              const bytes = Array.from(m.tokenizer.decodeBytes([id], { startOfText: false }));
              return { token: new TextDecoder().decode(Uint8Array.from(bytes)), logprob: ls[id], bytes };
            };
            pending.push({ ...piece(token), top_logprobs: topIds(logits, topN).map(piece) });
          }
        : undefined,
    });
    let step: IteratorResult<{ token: number; text: string }, GenerateResult>;
    while (!(step = await it.next()).done) {
      if (step.value.token >= 0) pendingIds.push(step.value.token);
      if (step.value.text) {
        emit(step.value.text, wantLogprobs ? pending : null, pendingIds);
        logprobs.push(...pending);
        pending = [];
        pendingIds = [];
      }
      await yieldToEventLoop();
    }
    const rest = { ids: pendingIds, logprobs: wantLogprobs && pending.length > 0 ? pending : null };
    logprobs.push(...pending);
    const result = step.value;
    this.tokensEvaluated += result.timings.promptTokens + result.tokens.length;
    const t = result.timings;
    const usage: Usage = {
      prompt_tokens: prompt.length,
      completion_tokens: result.tokens.length,
      total_tokens: prompt.length + result.tokens.length,
      prefill_tokens: t.promptTokens,
      prefill_tokens_per_s: t.promptMs > 0 ? (t.promptTokens / t.promptMs) * 1000 : 0,
      decode_tokens_per_s: t.decodeMs > 0 ? (t.decodeTokens / t.decodeMs) * 1000 : 0,
      time_to_first_token_ms: t.firstTokenMs,
    };
    return { result, usage, logprobs: wantLogprobs ? logprobs : null, rest };
  }

  async score(request: ScoreRequest): Promise<ScoreResult> {
    const req = parseScoreRequest(request);
    return this.exclusive(req.request_id, async (signal) => {
      const m = this.need();
      const { ctx, cont } = scoreTokens(m.tokenizer, req);
      if (ctx.length === 0) throw new CriaError('bad-argument', 'score needs a non-empty context (at least BOS)');
      if (cont.length === 0) throw new CriaError('bad-argument', 'the continuation has no tokens of its own after the context (the two tokenize together into the context\'s tokens); score a longer continuation');
      const s = m.session;
      if (cont.length > s.nCtx) throw new CriaError('context-overflow', `the continuation is ${cont.length} tokens; the context holds ${s.nCtx}`, { continuationTokens: cont.length, nCtx: s.nCtx });
      // lm-evaluation-harness: the last nCtx + 1 tokens of context + continuation, all but the last fed
      const window = [...ctx, ...cont].slice(-(s.nCtx + 1));
      // window[p]'s logits predict the continuation's first token; keep what the cache shares before it
      const p = window.length - 1 - cont.length;
      const keep = Math.min(s.commonPrefix(window), p);
      s.truncate(keep);
      if (keep < p) {
        await s.forward(window.slice(keep, p), undefined, signal);
        await s.model.backend.sync();
      }
      const r = await s.score(window.slice(p), signal);
      this.tokensEvaluated += window.length - 1 - keep;
      return {
        context_tokens: ctx,
        tokens: cont,
        logprobs: r.logprobs,
        sum: r.logprobs.reduce((a, b) => a + b, 0),
        greedy: r.greedy.every(Boolean),
      };
    });
  }
}

/** ModelInfo.backend for a backend (its own description, and the factory's reason). */
function describeBackend(b: Backend, reason: string): BackendInfo {
  const d = b.describe?.() ?? { detail: b.name, threads: 1 };
  const kind = b.name === 'webgpu' || b.name === 'wasm' ? b.name : 'reference';
  return { kind, detail: d.detail, threads: d.threads, reason };
}

const DEFAULT_CONTEXT = 4096;
/** prompt tokens per forward call (Session's nBatch); the scratch estimate depends on it */
const N_BATCH = 256;

/** Half of the device's memory where the browser says (Chrome: `navigator.deviceMemory`, GiB, at most 8), else 2 GiB. */
export function defaultMemoryBudget(): number {
  const gib = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
  return (typeof gib === 'number' && gib > 0 ? gib / 2 : 2) * 2 ** 30;
}

/**
 * What can be known from a model's header, checked before its weights are fetched or uploaded:
 * architecture and tensors (planModel), the tokenizer and its agreement with the embedding, the
 * chat template (rendered once), and memory (src/model/memory.ts: the context size is chosen here).
 */
function checkModel(file: GgufFile, backend: Backend, req: { budgetBytes: number; budgetNote: string; nCtx?: number; cap: number }): { tokenizer: Tokenizer; context: ContextChoice } {
  const { config, tensors } = planModel(file); // architecture and tensors first: the most fundamental problem is the one reported
  for (const t of tensors) {
    if (!backend.supportsType(t.type)) {
      throw new CriaError('unsupported-type', `tensor ${t.name} is ${t.type.name}, which the ${backend.name} backend cannot compute with yet`, { tensor: t.name, type: t.type.name });
    }
  }
  const tokenizer = createTokenizer(file.metadata);
  if (tokenizer.vocabSize !== config.nVocab) {
    throw new CriaError('bad-file', `the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has ${config.nVocab} rows; the file is inconsistent`, { tokens: tokenizer.vocabSize, nVocab: config.nVocab });
  }
  probeChatTemplate(tokenizer);
  const weightBytes = tensors.reduce((a, t) => a + t.byteLength, 0);
  const largest = tensors.reduce((a, t) => Math.max(a, t.byteLength), 0);
  const context = chooseContext(config, weightBytes, largest, { budgetBytes: req.budgetBytes, budgetNote: req.budgetNote, maxBufferBytes: backend.maxWeightBytes, maxHeadDim: backend.maxHeadDim }, { nCtx: req.nCtx, cap: req.cap, nBatch: N_BATCH });
  return { tokenizer, context };
}

/**
 * Render the model's chat template once on a probe conversation, so a template that cannot
 * parse, fails or runs past its budget is a `bad-file` error at load rather than at the first
 * message. A template that rejects the probe by its own rules (`raise_exception`: no system
 * role, roles must alternate, …) is fine: that is a rule about conversations, not a fault.
 */
function probeChatTemplate(tok: Tokenizer): void {
  if (tok.chatTemplate === undefined) return;
  const probe = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Hello!' },
    { role: 'assistant', content: 'Hi! How can I help?' },
    { role: 'user', content: 'Tell me a story.' },
  ];
  for (const messages of [probe, probe.slice(1)]) {
    try {
      tok.encodeChat(messages);
      return;
    } catch (e) {
      if (!(e instanceof CriaError) || e.code !== 'bad-argument') throw e;
    }
  }
}

/**
 * Token ids for a score request, as lm-evaluation-harness makes them (TemplateLM._encode_pair):
 * trailing whitespace of a text context moves to the start of the continuation; the context and
 * the continuation are tokenized together, and the continuation is what follows the first
 * len(tokenize(context)) tokens, while the context stays its own tokenization. Ids are used as
 * given. BOS is added to a text context as the model's metadata says (llama.cpp's convention;
 * lm-eval's HF backend adds it where `add_bos_token` is set).
 */
function scoreTokens(tok: Tokenizer, req: ScoreRequest): { ctx: number[]; cont: number[] } {
  const v = tok.vocabSize;
  if (typeof req.context !== 'string' || typeof req.continuation !== 'string') {
    const ctx = typeof req.context === 'string' ? tok.encode(req.context, { addSpecial: true, parseSpecial: false }) : checkIds(req.context, v);
    const cont = typeof req.continuation === 'string' ? tok.encode(req.continuation, { addSpecial: false, parseSpecial: false }) : checkIds(req.continuation, v);
    return { ctx, cont };
  }
  let context = req.context;
  let continuation = req.continuation;
  const spaces = context.length - context.trimEnd().length;
  if (spaces > 0) {
    continuation = context.slice(-spaces) + continuation;
    context = context.slice(0, -spaces);
  }
  const whole = tok.encode(context + continuation, { addSpecial: true, parseSpecial: false });
  const ctx = tok.encode(context, { addSpecial: true, parseSpecial: false });
  return { ctx, cont: whole.slice(ctx.length) };
}

function checkIds(ids: number[], vocabSize: number): number[] {
  if (!Array.isArray(ids) || ids.some((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize)) {
    throw new CriaError('bad-argument', `token ids must be whole numbers from 0 to ${vocabSize - 1}`);
  }
  return ids;
}

/**
 * The engine: one loaded model behind the `EngineApi` (src/protocol/api.ts).
 * It is the request side, shared by every runtime (src/engine/runtime.ts):
 * request ids, the queue, abort, parsing, chat prompts, stop strings,
 * sampling, logprobs, usage, scoring. What runs the model is a runtime: Cria's
 * own GGUF engine (src/engine/gguf-runtime.ts; the worker builds it with the
 * WebGPU or WebAssembly backend, Node tests and the CLI with the CPU reference
 * or WebAssembly). It never imports comlink.
 *
 * Requests run one at a time (one model, one KV cache); the session keeps
 * the longest common prefix between requests, so a chat turn or a batch of
 * multiple-choice options over one context only pays for what is new.
 */
import { CriaError, isCriaError } from '../shared/errors.ts';
import type { Backend } from '../model/backend.ts';
import { logSoftmax, topIds } from '../sampling/sampler.ts';
import { parseChatRequest, parseCompletionRequest, parseLora, parseScoreRequest, type ParsedLora, type ParsedSampling } from './request.ts';
import { chatTemplateInput, toolFamily, toolFormat, toolSyntax, ToolCallParser, type TemplateInput, type ToolStep } from './tools.ts';
import type { ChatMessage as TokenizerChatMessage } from '../tokenizer/chat-template.ts';
import type {
  FinetuneEvent,
  FinetuneOutcome,
  FinetuneRequest,
  AdapterInfo,
  AdapterSource,
  LoraRef,
  AssistantMessage,
  DeviceMeasurement,
  CachedModel,
  StorageInfo,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatFinishReason,
  ChatMessage,
  Completion,
  CompletionChunk,
  CompletionRequest,
  DeviceInfo,
  EngineApi,
  EngineStats,
  FinishReason,
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
import { generate, type GenerateResult, type TokenConstraint } from './generate.ts';
import { GgufRuntime, type BackendRequest, type ChosenBackend } from './gguf-runtime.ts';
import { openModelSource } from './open-source.ts';
import { checkpointKey, type CheckpointStore } from '../storage/checkpoints.ts';
import { readGguf } from '../formats/gguf.ts';
import type { LoadedModel, Runtime, RuntimeDevice, RuntimeTokenizer } from './runtime.ts';
import type { StorageEstimator } from '../storage/download.ts';
import type { ModelStore } from '../storage/store.ts';

export type { BackendRequest, ChosenBackend } from './gguf-runtime.ts';
export { defaultMemoryBudget } from './gguf-runtime.ts';

export interface EngineOptions {
  /**
   * a fresh backend for each load (after a device loss, a new device): the one asked for, or for `auto`
   * the environment's pick, with its reason. A factory that has one kind of backend returns it
   * (the CPU reference in tests) and refuses another one asked for by name.
   */
  createBackend(req: BackendRequest): Promise<Backend | ChosenBackend>;
  /** what runs the model (the loaded model's backend, when there is one): the GPU adapter, or the WebAssembly engine */
  deviceInfo?(backend?: Backend): Promise<DeviceInfo>;
  /** runtimes besides Cria's own, asked first whether they take a source (the ONNX runtime: `{ onnx }` sources) */
  runtimes?: readonly Runtime[];
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
  /** where fine-tunes keep their checkpoints (IndexedDB in the worker): a job started again goes on from its last one */
  openCheckpoints?(): Promise<CheckpointStore>;
}

type Loaded = LoadedModel;

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
  /** the device of the loaded model, or of the model loading (its stats and facts; a loss concerns it only while it is this one) */
  private device?: RuntimeDevice;
  private readonly gguf: GgufRuntime;
  private readonly requests = new Map<string, AbortController>();
  private queue: Promise<unknown> = Promise.resolve();
  private tokensEvaluated = 0;
  /** set when the device was lost under the loaded model; cleared by the next load */
  private lostReason?: string;
  /**
   * LoRA adapters of the loaded model: those made ready (by id), the current ones (for requests that do
   * not name theirs), and the ones the sequence's KV cache was computed with (a change empties it)
   */
  private lora: { ready: Map<string, Omit<AdapterInfo, 'scale'>>; current: ParsedLora[]; applied: string } = Engine.noLora();
  private static noLora() {
    return { ready: new Map<string, Omit<AdapterInfo, 'scale'>>(), current: [] as ParsedLora[], applied: '[]' };
  }

  constructor(private readonly opts: EngineOptions) {
    this.gguf = new GgufRuntime(opts);
  }

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
      const startedAt = performance.now();
      this.dropModel();
      this.lostReason = undefined; // a loss concerned the model dropped
      onProgress?.({ phase: 'open', loadedBytes: 0, totalBytes: 0 });
      try {
        const loaded = await this.runtimeFor(source).load(source, {
          ...(await this.sources(signal, onProgress)),
          opts,
          startedAt,
          onDevice: (device) => this.watch(device),
        });
        if (this.lostReason !== undefined) {
          loaded.dispose();
          throw new CriaError('device-lost', `the GPU device was lost while the model loaded (${this.lostReason || 'no reason given'}); load the model again`);
        }
        this.loaded = loaded;
        this.lora = Engine.noLora();
        if (opts.adapters?.length) {
          try {
            const list: ParsedLora[] = [];
            for (const a of opts.adapters) {
              const info = await this.addAdapter(loaded, a.source, a.id, signal, onProgress);
              list.push({ id: info.id, scale: a.scale ?? 1 });
            }
            this.setCurrent(loaded, parseLora(list));
          } catch (e) {
            this.dropModel(); // a load that asked for adapters either has them or fails, saying why
            throw e;
          }
        }
        const bytes = loaded.info.weightBytes;
        onProgress?.({ phase: 'ready', loadedBytes: bytes, totalBytes: bytes });
        return this.info(loaded);
      } catch (e) {
        this.device = undefined; // the runtime released what it had made
        throw e;
      }
    });
  }

  /** A new device: the engine describes it from now on, and a loss of it drops the model. */
  private watch(device: RuntimeDevice): void {
    this.device = device;
    this.lostReason = undefined;
    device.lost?.then((reason) => {
      if (this.device !== device) return;
      this.device = undefined;
      this.loaded = undefined;
      this.lostReason = reason;
    });
  }

  /** The runtime that takes this source, by its shape: another one that claims it, else Cria's own. */
  private runtimeFor(source: ModelSource): Runtime {
    if (typeof source !== 'object' || source === null) throw new CriaError('bad-argument', 'load() needs a source: { url }, { file }, { bytes }, { cached } or { onnx }');
    const other = this.opts.runtimes?.find((r) => r.accepts(source));
    if (other) return other;
    if ('onnx' in source) throw new CriaError('not-implemented', 'this engine has no ONNX runtime (onnxruntime-web); load a GGUF model, or use an engine built with it');
    if ('mlc' in source) throw new CriaError('not-implemented', 'this engine has no WebLLM runtime (MLC models need WebGPU in a browser: the app\'s engine worker); load a GGUF model here');
    return this.gguf;
  }

  private dropModel(): void {
    this.lora = Engine.noLora();
    this.device = undefined;
    const l = this.loaded;
    this.loaded = undefined;
    l?.dispose();
  }

  async unload(): Promise<void> {
    return this.exclusive(undefined, async () => this.dropModel());
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

  /** runtimes that keep models in their own storage (WebLLM) */
  private get runtimeCaches() {
    return (this.opts.runtimes ?? []).flatMap((r) => (r.cache ? [r.cache] : []));
  }

  async listCachedModels(): Promise<CachedModel[]> {
    const s = await this.store();
    const own = s ? await s.list() : [];
    const others = await Promise.all(this.runtimeCaches.map((c) => c.list()));
    return [...own, ...others.flat()];
  }

  async deleteCachedModel(id: string): Promise<void> {
    // not while that model is downloading in this engine: deletes wait for running requests
    return this.exclusive(undefined, async () => {
      const other = this.runtimeCaches.find((c) => c.owns(id));
      if (other) {
        if (!(await other.delete(id))) throw new CriaError('bad-argument', `no cached model ${id}`);
        return;
      }
      return (await this.needStore()).delete(id);
    });
  }

  async deleteAllCachedModels(): Promise<void> {
    return this.exclusive(undefined, async () => {
      for (const c of this.runtimeCaches) await c.clear();
      const s = await this.store();
      if (s) await s.clear();
      else if (this.runtimeCaches.length === 0) await this.needStore();
    });
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
    return this.loaded ? this.info(this.loaded) : null;
  }

  /** the loaded model's facts, with its adapters (Cria's own runtime) and their current scales */
  private info(m: Loaded): ModelInfo {
    if (!m.adapters) return m.info;
    const scale = new Map(this.lora.current.map((l) => [l.id, l.scale]));
    return { ...m.info, adapters: [...this.lora.ready.values()].map((a) => ({ ...a, scale: scale.get(a.id) ?? null })) };
  }

  async loadAdapter(source: AdapterSource, opts: { id?: string; request_id?: string } = {}, onProgress?: (p: LoadProgress) => void): Promise<AdapterInfo> {
    return this.exclusive(opts.request_id, async (signal) => {
      const m = this.need();
      const info = await this.addAdapter(m, source, opts.id, signal, onProgress);
      return { ...info, scale: this.lora.current.find((l) => l.id === info.id)?.scale ?? null };
    });
  }

  /** what reading a file needs: the model cache, storage facts, locks, the network, and this request's signal and progress */
  private async sources(signal: AbortSignal, onProgress?: (p: LoadProgress) => void) {
    return {
      signal,
      ...(onProgress ? { onProgress } : {}),
      store: await this.store(),
      storage: this.opts.storage,
      locks: this.opts.locks,
      fetch: this.opts.fetch,
      ...(this.opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.idleTimeoutMs } : {}),
    };
  }

  private async addAdapter(m: Loaded, source: AdapterSource, id: string | undefined, signal: AbortSignal, onProgress?: (p: LoadProgress) => void): Promise<Omit<AdapterInfo, 'scale'>> {
    if (!m.adapters) throw new CriaError('not-implemented', `LoRA adapters run on Cria's own engine (GGUF models); this model runs on ${m.info.runtime}`);
    if (id !== undefined && this.lora.ready.has(id)) throw new CriaError('bad-argument', `an adapter with id "${id}" is already loaded for this model; give another id`, { id });
    const info = await m.adapters.add(source, id, await this.sources(signal, onProgress));
    this.lora.ready.set(info.id, info);
    return info;
  }

  async finetune(req: FinetuneRequest, onProgress?: (e: FinetuneEvent) => void): Promise<FinetuneOutcome> {
    if (typeof req !== 'object' || req === null || typeof req.data !== 'string') throw new CriaError('bad-argument', 'finetune needs { model, data: "JSON Lines of examples" }');
    return this.exclusive(req.request_id, async (signal) => {
      const source = req.model;
      if (typeof source !== 'object' || source === null || 'onnx' in source || 'mlc' in source) throw new CriaError('bad-argument', 'finetune trains a GGUF model: give { cached }, { url }, { file } or { bytes }');
      const { parseTrainingJsonl } = await import('../train/data.ts');
      parseTrainingJsonl(req.data, 'the examples'); // bad data is refused before the model is read
      const opened = await openModelSource(source, await this.sources(signal));
      const file = opened.header ?? (await readGguf(opened.src));
      const { finetune } = await import('../train/finetune.ts');
      const store = await this.opts.openCheckpoints?.().catch((e: unknown) => {
        console.warn('cria: fine-tune checkpoints are off (their store could not be opened)', e);
        return undefined;
      });
      const key = store ? await checkpointKey(opened.cacheId ?? `${opened.src.name}:${opened.src.size}`, req.data, req.options ?? {}) : '';
      const label = `${opened.src.name.split('/').pop()}, ${req.data.length} characters of examples`;
      return finetune(
        file,
        req.data,
        req.options ?? {},
        {
          signal,
          ...(store
            ? {
                checkpoints: {
                  load: async () => (await store.get(key))?.checkpoint,
                  save: (checkpoint) => store.put({ key, label, at: Date.now(), checkpoint }),
                  clear: () => store.delete(key),
                },
              }
            : {}),
          yieldEvery: yieldToEventLoop,
          onPrepared: (prepared) => onProgress?.({ phase: 'prepared', prepared }),
          onProgress: (p) =>
            onProgress?.({
              phase: 'step',
              epoch: p.epoch,
              epochs: p.epochs,
              step: p.step,
              steps: p.steps,
              loss: p.loss,
              lr: p.lr,
              tokens_per_s: p.tokensPerSecond,
              eta_s: p.etaSeconds,
              ...(p.heldOutLoss !== undefined ? { held_out_loss: p.heldOutLoss } : {}),
            }),
        },
        'the examples',
      );
    });
  }

  async setAdapters(list: LoraRef[]): Promise<ModelInfo> {
    const parsed = parseLora(list);
    return this.exclusive(undefined, async () => {
      const m = this.need();
      this.setCurrent(m, parsed);
      return this.info(m);
    });
  }

  /** the adapters for requests that name none (checked: each one ready) */
  private setCurrent(m: Loaded, list: ParsedLora[]): void {
    this.checkLora(m, list);
    this.lora.current = list;
  }

  private checkLora(m: Loaded, list: readonly ParsedLora[]): void {
    if (list.length === 0) return;
    if (!m.adapters) throw new CriaError('not-implemented', `LoRA adapters run on Cria's own engine (GGUF models); this model runs on ${m.info.runtime}`);
    for (const l of list) {
      if (!this.lora.ready.has(l.id)) {
        const ready = [...this.lora.ready.keys()];
        throw new CriaError('bad-argument', `no adapter "${l.id}" is loaded for this model (${ready.length ? `loaded: ${ready.join(', ')}` : 'none is: loadAdapter() first'})`, { id: l.id });
      }
    }
  }

  /**
   * A request's adapters (its own `lora`, else the current ones) applied before it runs; when they
   * differ from those the KV cache was computed with, the cache is emptied (its keys and values
   * belong to the other weights).
   */
  private useLora(m: Loaded, requested: ParsedLora[] | undefined): void {
    const list = requested ?? this.lora.current;
    const key = JSON.stringify(list);
    if (key === this.lora.applied) return;
    this.checkLora(m, list);
    m.adapters?.set(list);
    m.sequence.truncate(0);
    this.lora.applied = key;
  }

  async deviceInfo(): Promise<DeviceInfo> {
    if (!this.opts.deviceInfo) throw new CriaError('not-implemented', 'this engine has no device information (CPU reference)');
    return this.device?.deviceInfo ? this.device.deviceInfo() : this.opts.deviceInfo();
  }

  async measureDevice(): Promise<DeviceMeasurement> {
    if (!this.opts.measureDevice) throw new CriaError('not-implemented', 'this engine cannot measure its device (CPU reference)');
    return this.exclusive(undefined, () => this.opts.measureDevice!());
  }

  async stats(): Promise<EngineStats> {
    const s = this.device?.stats() ?? { backend: 'none', dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0 };
    return { ...s, tokensEvaluated: this.tokensEvaluated };
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

  /**
   * Chat prompt → ids: the template's markup with special tokens parsed, message contents (and tool
   * strings) as plain text, BOS once. Tools and tool messages as the template's family takes them
   * (src/engine/tools.ts); a fallback preamble that a template refuses as a system message goes into
   * the first user message instead.
   */
  private chatPrompt(m: Loaded, input: TemplateInput, template?: string): number[] {
    // TemplateMessage (content null for a call-only answer) is what encodeChat renders; its parameter type says ChatMessage
    const encode = (messages: TemplateInput['messages']) =>
      m.tokenizer.encodeChat(messages as TokenizerChatMessage[], { addGenerationPrompt: true, ...(template !== undefined ? { template } : {}), ...(input.extra ? { extra: input.extra } : {}) });
    try {
      return encode(input.messages);
    } catch (e) {
      if (!input.retry || !isCriaError(e, 'bad-argument')) throw e;
      return encode(input.retry);
    }
  }

  async chatCompletion(req: ChatCompletionRequest, onChunk?: (c: ChatCompletionChunk) => void): Promise<ChatCompletion> {
    const p = parseChatRequest(req);
    return this.exclusive(p.requestId, async (signal) => {
      const m = this.need();
      this.useLora(m, p.lora);
      // tools: the template's family says how they are shown, how a call is written, and what constrains it
      const family = toolFamily(p.chatTemplate ?? m.tokenizer.chatTemplate);
      const prompt = this.chatPrompt(m, chatTemplateInput(family, p.messages, p.tools), p.chatTemplate);
      const syntax = toolSyntax(family, p.tools?.parallel ?? true);
      const format = toolFormat(p.tools, syntax);
      const parser = format && p.tools ? new ToolCallParser(syntax, p.tools.tools.map((t) => t.name)) : undefined;
      const id = newId('chatcmpl');
      const created = Math.floor(Date.now() / 1000);
      const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: ChatFinishReason | null, logprobs: TokenLogprob[] | null, usage?: Usage): ChatCompletionChunk => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: m.info.id,
        choices: [{ index: 0, delta, logprobs: logprobs ? { content: logprobs } : null, finish_reason: finish }],
        ...(usage ? { usage } : {}),
      });
      const stream = p.stream && onChunk ? onChunk : undefined;
      stream?.(chunk({ role: 'assistant', content: '' }, null, null));
      // with tools, the text is read into content and tool-call deltas; logprobs go with the next chunk sent
      let held: TokenLogprob[] | null = null;
      const send = (step: ToolStep, lp: TokenLogprob[] | null) => {
        if (lp) held = [...(held ?? []), ...lp];
        const deltas = [...(step.content ? [{ content: step.content }] : []), ...(step.toolCalls.length ? [{ tool_calls: step.toolCalls }] : [])];
        for (const delta of deltas) {
          stream?.(chunk(delta, null, held));
          held = null;
        }
      };
      const r = await this.run(m, prompt, format ? { ...p, format } : p, signal, (text, lp) => (parser ? send(parser.push(text), lp) : stream?.(chunk({ content: text }, null, lp))));
      if (parser) send(parser.end(), null);
      const tools = parser?.result();
      const calls = tools && tools.toolCalls.length > 0 ? tools.toolCalls : undefined;
      // tool_calls only when every call is whole and the answer ended on its own (not cut by max_tokens)
      const finish: ChatFinishReason = calls && tools!.complete && r.result.finishReason === 'stop' ? 'tool_calls' : r.result.finishReason;
      const restLogprobs = held || r.rest.logprobs ? [...(held ?? []), ...(r.rest.logprobs ?? [])] : null;
      // awaited: through comlink, chunks travel on the callback's own port, and the result must not overtake the last one
      await stream?.(chunk({}, finish, restLogprobs, r.usage));
      const message: AssistantMessage = calls ? { role: 'assistant', content: tools!.content, tool_calls: calls } : { role: 'assistant', content: tools ? (tools.content ?? '') : r.result.text };
      return {
        id,
        object: 'chat.completion',
        created,
        model: m.info.id,
        choices: [{ index: 0, message, logprobs: r.logprobs ? { content: r.logprobs } : null, finish_reason: finish }],
        usage: r.usage,
      };
    });
  }

  async completion(req: CompletionRequest, onChunk?: (c: CompletionChunk) => void): Promise<Completion> {
    const p = parseCompletionRequest(req);
    return this.exclusive(p.requestId, async (signal) => {
      const m = this.need();
      this.useLora(m, p.lora);
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
    const room = m.sequence.nCtx - prompt.length;
    if (room < 0 || (room === 0 && req.maxTokens > 0)) {
      throw new CriaError('context-overflow', `the prompt is ${prompt.length} tokens but the context holds ${m.sequence.nCtx}; shorten the conversation`, { promptTokens: prompt.length, nCtx: m.sequence.nCtx });
    }
    // max_tokens is a ceiling: at most what the context has room for (the answer then ends with finish_reason "length")
    const maxTokens = Math.min(req.maxTokens, room);

    // the output's format, compiled before any token (an unsupported schema is a bad-argument here)
    const constraint = req.format ? await (await import('../grammar/constraint.ts')).compileConstraint(m.tokenizer, m.sequence.nVocab, req.format) : undefined;
    try {
      return await this.generateWith(m, prompt, req, signal, emit, maxTokens, constraint, onPromptLogits);
    } finally {
      constraint?.dispose();
    }
  }

  private async generateWith(
    m: Loaded,
    prompt: number[],
    req: ParsedSampling,
    signal: AbortSignal,
    emit: (text: string, logprobs: TokenLogprob[] | null, ids: number[]) => void,
    maxTokens: number,
    constraint: TokenConstraint | undefined,
    onPromptLogits?: (logits: Float32Array) => void,
  ): Promise<{ result: GenerateResult; usage: Usage; logprobs: TokenLogprob[] | null; rest: { ids: number[]; logprobs: TokenLogprob[] | null } }> {
    const { sampling, stop } = req;
    const wantLogprobs = req.logprobs;
    const topN = req.topLogprobs;
    const logprobs: TokenLogprob[] = [];
    let pending: TokenLogprob[] = [];
    let pendingIds: number[] = [];
    const it = generate(m.sequence, {
      prompt,
      maxTokens,
      sampling,
      stop,
      ...(constraint ? { constraint } : {}),
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
      ...(t.constraintMs !== undefined ? { constraint_ms: t.constraintMs } : {}),
    };
    return { result, usage, logprobs: wantLogprobs ? logprobs : null, rest };
  }

  async score(request: ScoreRequest): Promise<ScoreResult> {
    const req = parseScoreRequest(request);
    return this.exclusive(req.request_id, async (signal) => {
      const m = this.need();
      this.useLora(m, req.lora);
      const { ctx, cont } = scoreTokens(m.tokenizer, req);
      if (ctx.length === 0) throw new CriaError('bad-argument', 'score needs a non-empty context (at least BOS)');
      if (cont.length === 0) throw new CriaError('bad-argument', 'the continuation has no tokens of its own after the context (the two tokenize together into the context\'s tokens); score a longer continuation');
      const s = m.sequence;
      if (cont.length > s.nCtx) throw new CriaError('context-overflow', `the continuation is ${cont.length} tokens; the context holds ${s.nCtx}`, { continuationTokens: cont.length, nCtx: s.nCtx });
      // lm-evaluation-harness: the last nCtx + 1 tokens of context + continuation, all but the last fed
      const window = [...ctx, ...cont].slice(-(s.nCtx + 1));
      // window[p]'s logits predict the continuation's first token; keep what the cache shares before it
      const p = window.length - 1 - cont.length;
      const keep = Math.min(s.commonPrefix(window), p);
      s.truncate(keep);
      if (keep < p) {
        await s.append(window.slice(keep, p), signal);
        await s.sync();
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

/**
 * Token ids for a score request, as lm-evaluation-harness makes them (TemplateLM._encode_pair):
 * trailing whitespace of a text context moves to the start of the continuation; the context and
 * the continuation are tokenized together, and the continuation is what follows the first
 * len(tokenize(context)) tokens, while the context stays its own tokenization. Ids are used as
 * given. BOS is added to a text context as the model's metadata says (llama.cpp's convention;
 * lm-eval's HF backend adds it where `add_bos_token` is set).
 */
function scoreTokens(tok: RuntimeTokenizer, req: ScoreRequest): { ctx: number[]; cont: number[] } {
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

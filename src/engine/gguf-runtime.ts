/**
 * Cria's own runtime: GGUF models on its backends (WebGPU, WebAssembly, the CPU reference), behind
 * the runtime seam (src/engine/runtime.ts). A load asks the backend factory for the device first
 * (without one, downloading a model would only waste the user's time), checks everything the header
 * says (architecture, tensor types, tokenizer, chat template, memory) before any weight is fetched or
 * uploaded, then uploads, warms up and hands the engine one `Session`.
 */
import { CriaError } from '../shared/errors.ts';
import { readGguf, type GgufFile } from '../formats/gguf.ts';
import type { Backend } from '../model/backend.ts';
import { summarize } from '../model/inspect.ts';
import { Model, planModel } from '../model/model.ts';
import { chooseContext, type ContextChoice } from '../model/memory.ts';
import { createTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import type { BackendInfo, BackendKind, DeviceInfo, ModelInfo, ModelSource } from '../protocol/api.ts';
import { Session } from './session.ts';
import { openModelSource } from './open-source.ts';
import { ggufAdapters } from './gguf-adapters.ts';
import type { LoadedModel, Runtime, RuntimeLoadContext } from './runtime.ts';

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

export interface GgufRuntimeOptions {
  /**
   * a fresh backend for each load (after a device loss, a new device): the one asked for, or for `auto`
   * the environment's pick, with its reason. A factory that has one kind of backend returns it
   * (the CPU reference in tests) and refuses another one asked for by name.
   */
  createBackend(req: BackendRequest): Promise<Backend | ChosenBackend>;
  /** what runs the model: the GPU adapter, or the WebAssembly engine */
  deviceInfo?(backend?: Backend): Promise<DeviceInfo>;
  /** default context size cap (default 4096, at most the model's training context; a load may ask for another) */
  nCtx?: number;
  /** bytes a model may take in all (weights + KV cache + scratch); default: defaultMemoryBudget() */
  memoryBudgetBytes?: number;
}

export const DEFAULT_CONTEXT = 4096;
/** prompt tokens per forward call (Session's nBatch); the scratch estimate depends on it */
const N_BATCH = 256;

export class GgufRuntime implements Runtime {
  readonly name = 'cria';

  constructor(private readonly opts: GgufRuntimeOptions) {}

  /** every source but another runtime's (the engine asks the others first) */
  accepts(source: ModelSource): boolean {
    return !('onnx' in source) && !('mlc' in source);
  }

  async load(source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const { opts, onProgress, signal } = ctx;
    const requested: BackendRequest = { backend: opts.backend ?? 'auto', ...(opts.threads !== undefined ? { threads: opts.threads } : {}) };
    if (!['auto', 'webgpu', 'wasm'].includes(requested.backend)) throw new CriaError('bad-argument', `backend must be auto, webgpu or wasm, got ${JSON.stringify(requested.backend)}`);
    const made = await this.opts.createBackend(requested);
    const backend = 'reason' in made ? made.backend : made;
    const deviceInfo = this.opts.deviceInfo;
    ctx.onDevice({
      stats: () => ({ backend: backend.name, ...backend.stats() }),
      ...(deviceInfo ? { deviceInfo: () => deviceInfo(backend) } : {}),
      ...(backend.lost ? { lost: backend.lost } : {}),
    });
    try {
      return await this.loadOn(backend, describeBackend(backend, 'reason' in made ? made.reason : requested.backend === 'auto' ? 'the only backend of this engine' : 'asked for'), source, ctx);
    } catch (e) {
      backend.dispose(); // nothing half-loaded stays on the device
      throw e;
    }
  }

  private async loadOn(backend: Backend, backendInfo: BackendInfo, source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const { opts, onProgress, signal } = ctx;
    const asked = opts.memoryBudgetBytes ?? this.opts.memoryBudgetBytes ?? defaultMemoryBudget();
    if (!(Number.isFinite(asked) && asked > 0)) throw new CriaError('bad-argument', `memoryBudgetBytes must be a positive number of bytes, got ${asked}`);
    const budgetBytes = Math.min(asked, backend.memoryLimitBytes ?? Infinity);
    // everything that can be known from the header is checked before the weights are fetched or uploaded
    const budgetNote = budgetBytes < asked ? ` (${backend.name === 'wasm' ? "WebAssembly's 4 GiB address space" : `what the ${backend.name} backend can hold`})` : '';
    const check = (file: GgufFile) => checkModel(file, backend, { budgetBytes, budgetNote, nCtx: opts.nCtx, cap: this.opts.nCtx ?? DEFAULT_CONTEXT });
    const opened = await openModelSource(source, {
      store: ctx.store,
      storage: ctx.storage,
      locks: ctx.locks,
      fetch: ctx.fetch,
      signal,
      onProgress,
      inspectHeader: (file) => void check(file),
      ...(ctx.idleTimeoutMs !== undefined ? { idleTimeoutMs: ctx.idleTimeoutMs } : {}),
    });
    const src = opened.src;
    const file = opened.header ?? (await readGguf(src));
    const { tokenizer, context } = check(file);
    // a cached model's content hash is recorded at its first load (the chunks it is read from are verified): not hashed again
    const knownHash = opened.manifest?.contentHash;
    const model = await Model.load(file, backend, {
      signal,
      contentHash: knownHash === undefined,
      onProgress: (p) => onProgress?.({ phase: 'upload', loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, tensor: p.tensor }),
    });
    const contentHash = knownHash ?? model.contentHash!;
    // an optimization only: a store that cannot record it (closed, full) costs the next load a hash, nothing else
    if (opened.manifest && knownHash === undefined) await ctx.store?.setContentHash(opened.manifest, contentHash).catch(() => undefined);
    const nCtx = context.nCtx;
    const session = new Session(model, { nCtx, nBatch: N_BATCH });
    onProgress?.({ phase: 'compile', loadedBytes: model.weightBytes, totalBytes: model.weightBytes });
    await warmUp(session);
    const s = summarize(file);
    const info: ModelInfo = {
      id: s.name ?? src.name.split('/').pop() ?? 'model',
      architecture: s.architecture,
      parameters: s.parameters,
      contextLength: model.config.nCtxTrain,
      nCtx,
      nCtxReason: context.reason,
      backend: backendInfo,
      runtime: 'cria',
      contentHash,
      memory: context.memory,
      tensorTypes: s.tensor_types,
      vocabSize: tokenizer.vocabSize,
      hasChatTemplate: tokenizer.chatTemplate !== undefined,
      weightBytes: model.weightBytes,
      activations: backend.activations ?? 'f32',
      loadMs: performance.now() - ctx.startedAt,
      source: opened.source,
      cacheId: opened.cacheId,
      downloadedBytes: opened.downloadedBytes,
    };
    // adapters take what the budget leaves after the model (weights, KV cache, scratch) and earlier adapters
    let adapterBytes = 0;
    const adapters = ggufAdapters(
      model,
      () => budgetBytes - context.memory.totalBytes - adapterBytes,
      (b) => void (adapterBytes += b),
    );
    return { info, tokenizer, sequence: session, adapters, dispose: () => backend.dispose() };
  }
}

/**
 * Compile the pipelines of a typical prompt batch (8 tokens, the widest token blocking of the
 * matrix kernels) and of a decode step now, so the first request is not slow. A backend that
 * records before running (the GPU) compiles the batch without computing it (on a CPU adapter such
 * as SwiftShader computing it took seconds); the decode step runs for real, so a model this device
 * cannot run fails here, at load. Other prompt lengths may still compile a variant or two on first use.
 */
async function warmUp(session: Session): Promise<void> {
  const n = Math.min(8, session.nCtx - 1);
  const backend = session.model.backend;
  const batch = await session.forward(new Array(n).fill(0));
  if (backend.compileRecorded) await backend.compileRecorded();
  else await backend.argmax(batch);
  session.truncate(0);
  await backend.argmax(await session.forward([0]));
  session.truncate(0);
}

/** ModelInfo.backend for a backend (its own description, and the factory's reason). */
function describeBackend(b: Backend, reason: string): BackendInfo {
  const d = b.describe?.() ?? { detail: b.name, threads: 1 };
  const kind = b.name === 'webgpu' || b.name === 'wasm' ? b.name : 'reference';
  return { kind, detail: d.detail, threads: d.threads, reason };
}

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

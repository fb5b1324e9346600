/**
 * The WebLLM runtime: MLC-compiled models run by @mlc-ai/web-llm (pinned to 0.2.79, the newest
 * release that runs the v0_2_48 model libraries; see README), inside Cria's engine worker, behind
 * the runtime seam (src/engine/runtime.ts). Requests are Cria's: the engine tokenizes with the
 * model's tokenizer.json and chat template, and samples from the logits WebLLM computes at each step
 * (./sequence.ts), so chat, completions, sampling, stop, seed, abort, usage, logprobs and scoring mean
 * what they mean for a GGUF.
 *
 * Load order: the model (prebuilt by id, with the build the adapter can run, or custom weights and
 * library: ./catalog.ts), its memory against the budget (before any download), its config, weights
 * index and tokenizer (through WebLLM's cache, so a second load needs no network), then WebLLM's
 * reload: library, weights (download into WebLLM's cache, upload), shaders. WebLLM's progress is
 * mapped onto Cria's (./progress.ts), its errors onto Cria's codes (./errors.ts). The model is listed
 * in Cria's cache list (./cache.ts).
 */
import { MLCEngine, prebuiltAppConfig, type LogitProcessor } from '@mlc-ai/web-llm';
import type { DeviceInfo, MlcSource, ModelInfo, ModelSource } from '../../protocol/api.ts';
import { CriaError } from '../../shared/errors.ts';
import { createHfTokenizer } from '../../tokenizer/hf.ts';
import { formatBytes } from '../../model/memory.ts';
import type { LoadedModel, Runtime, RuntimeLoadContext } from '../../engine/runtime.ts';
import { chooseMlcModel, isMlcSource, mlcBaseUrl, type MlcChoice, type MlcRecord } from './catalog.ts';
import { forgetMlcFiles, mlcCache, readRecord, SCOPES, writeRecord } from './cache.ts';
import { fetchInto } from './download.ts';
import { compareParams, readLibraryMetadata } from '../../formats/mlc/library.ts';
import { mlcError } from './errors.ts';
import { MlcProgress } from './progress.ts';
import { MlcSequence, type MlcStepper } from './sequence.ts';

export const WEBLLM_VERSION = '0.2.79';

export interface WebLlmRuntimeOptions {
  /** bytes a model may take in all (default 2 GiB) */
  memoryBudgetBytes?: number;
  /** WebLLM's prebuilt list (default: the pinned version's) */
  prebuilt?: readonly MlcRecord[];
}

interface NdarrayCache {
  metadata?: { ParamSize?: number; ParamBytes?: number };
  records: { dataPath: string; nbytes: number; records?: { name: string; shape: number[]; dtype: string }[] }[];
}

/** A file of the model: from WebLLM's cache when it has it (offline), else the network (then kept there for WebLLM). */
async function modelFile(scope: string, url: string, ctx: RuntimeLoadContext, optional = false): Promise<Uint8Array | undefined> {
  const cache = typeof caches !== 'undefined' ? await caches.open(scope) : undefined;
  let res = await cache?.match(url);
  if (!res) {
    let net: Response;
    try {
      net = await (ctx.fetch ?? fetch)(url, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) throw new CriaError('aborted', 'the load was aborted');
      throw new CriaError('network', `could not download ${url}: ${(e as Error).message}; check the connection and the URL`, { url });
    }
    if (net.status === 404 && optional) return undefined;
    if (!net.ok) throw new CriaError('network', `${url} answered HTTP ${net.status}`, { url, status: net.status });
    res = net;
    if (cache) {
      try {
        await cache.put(url, res.clone());
      } catch (e) {
        throw mlcError(e, url);
      }
    }
  }
  return new Uint8Array(await res.arrayBuffer());
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error('not an object');
    return j as Record<string, unknown>;
  } catch (e) {
    throw new CriaError('bad-file', `${what} is not a valid JSON object: ${(e as Error).message}`, { file: what });
  }
}

async function sha256Hex(parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The adapter WebLLM will run on (it asks for its own device): its features, for choosing a build, and its facts. */
async function adapterFacts(): Promise<{ features: Set<string>; info: DeviceInfo }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new CriaError('webgpu-unavailable', 'WebLLM runs only on WebGPU, and this browser gives none; run a GGUF model instead (Cria\'s WebAssembly engine needs no GPU)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new CriaError('webgpu-unavailable', 'WebGPU gave no adapter; WebLLM needs one. Run a GGUF model instead (Cria\'s WebAssembly engine needs no GPU)');
  const i = adapter.info;
  const features = new Set<string>([...adapter.features]);
  return {
    features,
    info: {
      backend: 'webgpu',
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      isFallbackAdapter: (i as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      features: [...features],
      limits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize },
      f16: features.has('shader-f16'),
    },
  };
}

/** The `{ mlc }` form of a source, a cached model's from Cria's record of it. */
async function mlcSourceOf(source: ModelSource): Promise<MlcSource> {
  if ('mlc' in source) return source.mlc;
  if ('cached' in source) {
    const rec = await readRecord(source.cached);
    if (!rec) throw new CriaError('bad-argument', `no cached MLC model ${source.cached}; see listCachedModels()`);
    return rec.prebuiltId ? { id: rec.prebuiltId } : { model: rec.model, modelLib: rec.modelLib, name: rec.name };
  }
  throw new CriaError('bad-argument', 'the WebLLM runtime takes { mlc: { id } | { model, modelLib } } or { cached: "mlc:…" }');
}

export class WebLlmRuntime implements Runtime {
  readonly name = 'webllm';
  readonly cache = mlcCache;

  constructor(private readonly opts: WebLlmRuntimeOptions = {}) {}

  accepts(source: ModelSource): boolean {
    return isMlcSource(source);
  }

  async load(source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const spec = await mlcSourceOf(source);
    if (ctx.opts.backend === 'wasm') throw new CriaError('bad-argument', 'WebLLM runs MLC models on WebGPU only; load with backend "auto" or "webgpu" (or run a GGUF model on WebAssembly)');
    ctx.onProgress?.({ phase: 'open', loadedBytes: 0, totalBytes: 0 });
    const { features, info: adapter } = await adapterFacts();
    const choice = chooseMlcModel(spec, this.opts.prebuilt ?? (prebuiltAppConfig.model_list as MlcRecord[]), features);
    const budgetBytes = ctx.opts.memoryBudgetBytes ?? this.opts.memoryBudgetBytes ?? 2 * 2 ** 30;
    const vram = (choice.record.vram_required_MB ?? 0) * 2 ** 20;
    if (vram > budgetBytes) {
      throw new CriaError('out-of-memory', `${choice.record.model_id} needs about ${formatBytes(vram)} of GPU memory (WebLLM's figure), more than the memory budget of ${formatBytes(budgetBytes)}; choose a smaller model or raise the budget`, { needBytes: vram, budgetBytes });
    }
    const prior = await readRecord(choice.cacheId);
    try {
      return await this.loadChosen(choice, adapter, budgetBytes, vram, ctx);
    } catch (e) {
      // files that cannot run, or do not fit, leave nothing of the model behind; an interrupted download
      // (network, aborted) keeps what it stored, to resume; a model that once loaded keeps its files
      const err = mlcError(e, choice.record.model_id);
      if (!prior?.complete && (err.code === 'bad-file' || err.code === 'unsupported-arch' || err.code === 'unsupported-tokenizer' || err.code === 'storage-quota' || err.code === 'out-of-memory')) {
        await forgetMlcFiles(choice.cacheId, choice.record.model_lib).catch(() => undefined);
      }
      throw err;
    }
  }

  private async loadChosen(choice: MlcChoice, adapter: DeviceInfo, budgetBytes: number, vram: number, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const base = mlcBaseUrl(choice.record.model);
    const what = choice.record.model_id;

    // what can be read before the weights: config, weights index, tokenizer (WebLLM's cache first)
    const configBytes = (await modelFile(SCOPES.config, new URL('mlc-chat-config.json', base).href, ctx))!;
    const config = parseJson(configBytes, 'mlc-chat-config.json');
    const indexBytes = (await modelFile(SCOPES.model, new URL('ndarray-cache.json', base).href, ctx))!;
    const index = parseJson(indexBytes, 'ndarray-cache.json') as unknown as NdarrayCache;
    if (!Array.isArray(index.records)) throw new CriaError('bad-file', 'ndarray-cache.json has no records', { file: 'ndarray-cache.json' });
    const files = Array.isArray(config.tokenizer_files) ? (config.tokenizer_files as string[]) : ['tokenizer.json'];
    if (!files.includes('tokenizer.json')) throw new CriaError('unsupported-tokenizer', `${what} comes with ${files.join(', ')} but no tokenizer.json; Cria tokenizes MLC models with their tokenizer.json`);
    const tokBytes = (await modelFile(SCOPES.model, new URL('tokenizer.json', base).href, ctx))!;
    const tokConfigBytes = await modelFile(SCOPES.model, new URL('tokenizer_config.json', base).href, ctx, true);
    const tokenizer = createHfTokenizer({ tokenizer: parseJson(tokBytes, 'tokenizer.json'), config: tokConfigBytes ? parseJson(tokConfigBytes, 'tokenizer_config.json') : undefined });
    const nVocab = typeof config.vocab_size === 'number' ? config.vocab_size : tokenizer.vocabSize;
    if (tokenizer.vocabSize > nVocab) throw new CriaError('bad-file', `the tokenizer has ${tokenizer.vocabSize} tokens but the model's logits have ${nVocab}; the files are inconsistent`);

    // memory from the weights' own figures, before they are downloaded
    const weightBytes = index.records.reduce((a, r) => a + r.nbytes, 0);
    const mc = (config.model_config ?? {}) as Record<string, number>;
    const trained = Number(mc.max_position_embeddings ?? mc.context_window_size ?? config.context_window_size ?? 4096);
    const libCtx = Number(config.context_window_size ?? trained);
    const nCtx = ctx.opts.nCtx !== undefined ? Math.min(ctx.opts.nCtx, libCtx) : libCtx;
    if (!Number.isInteger(nCtx) || nCtx < 2) throw new CriaError('bad-argument', `the context size must be a whole number of at least 2, got ${ctx.opts.nCtx}`);
    const kvElem = /f16/.test(String(config.quantization ?? choice.record.model_lib)) ? 2 : 4;
    const kvCacheBytes = 2 * Number(mc.num_hidden_layers ?? 0) * Number(mc.num_key_value_heads ?? 0) * Number(mc.head_dim ?? (mc.hidden_size ?? 0) / (mc.num_attention_heads || 1)) * nCtx * kvElem;
    const totalBytes = Math.max(vram, weightBytes + kvCacheBytes);
    if (totalBytes > budgetBytes) {
      throw new CriaError('out-of-memory', `${what} takes ${formatBytes(weightBytes)} of weights + ${formatBytes(kvCacheBytes)} of KV cache for ${nCtx} positions, more than the memory budget of ${formatBytes(budgetBytes)}`, { needBytes: totalBytes, budgetBytes });
    }

    // the model library: its own list of parameters must be what the weights index holds (before any shard)
    const libName = choice.record.model_lib.split('/').pop() ?? 'the model library';
    const libBytes = (await modelFile(SCOPES.wasm, choice.record.model_lib, ctx))!;
    let lib;
    try {
      lib = readLibraryMetadata(libBytes, libName);
    } catch (e) {
      throw new CriaError('bad-file', `${(e as Error).message}. Model libraries pair with WebLLM versions: Cria pins @mlc-ai/web-llm ${WEBLLM_VERSION}, which runs the v0_2_48 libraries`, { library: libName });
    }
    const inIndex = index.records.flatMap((r) => r.records ?? []).map((r) => ({ name: r.name, shape: r.shape, dtype: r.dtype as 'uint32' | 'float32' }));
    const differs = compareParams(inIndex, lib.params, 'the weights');
    if (differs) throw new CriaError('bad-file', `the weights of ${what} do not match the model library ${libName}: ${differs}`, { library: libName });
    if (lib.model_type !== config.model_type) throw new CriaError('bad-file', `${libName} is compiled for a ${lib.model_type} model; mlc-chat-config.json says ${String(config.model_type)}`);
    if (nCtx > lib.context_window_size) throw new CriaError('bad-argument', `the context size ${nCtx} is larger than ${libName} was compiled for (${lib.context_window_size})`);

    const shards = index.records.map((r) => new URL(r.dataPath, base).href);
    const prior = await readRecord(choice.cacheId);
    await writeRecord({
      id: choice.cacheId,
      name: what,
      model: choice.record.model,
      modelLib: choice.record.model_lib,
      ...(choice.prebuilt ? { prebuiltId: choice.record.model_id } : {}),
      bytes: weightBytes,
      shards,
      createdAt: prior?.createdAt ?? Date.now(),
      lastUsedAt: Date.now(),
      complete: prior?.complete ?? false,
    });
    // the shards WebLLM's storage lacks, downloaded by Cria (./download.ts); WebLLM then only reads them.
    // A download the storage cannot hold leaves nothing; an interrupted one keeps its files, to resume.
    const downloaded = await fetchInto(
      index.records.map((r, i) => ({ url: shards[i]!, scope: SCOPES.model, bytes: r.nbytes })),
      weightBytes,
      what,
      { signal: ctx.signal, ...(ctx.fetch ? { fetch: ctx.fetch } : {}), ...(ctx.idleTimeoutMs !== undefined ? { idleTimeoutMs: ctx.idleTimeoutMs } : {}), ...(ctx.storage ? { storage: ctx.storage } : {}), ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}) },
    );
    const fromCache = downloaded === 0;

    // WebLLM: the logits of each step are captured by the model's logit processor (./sequence.ts)
    let row: Float32Array | undefined;
    const capture: LogitProcessor = {
      processLogits: (logits) => {
        row = Float32Array.from(logits);
        return logits;
      },
      processSampledToken: () => {},
      resetState: () => {},
    };
    const progress = new MlcProgress(weightBytes);
    const engine = new MLCEngine({
      appConfig: { model_list: [choice.record] },
      logitProcessorRegistry: new Map([[choice.record.model_id, capture]]),
      initProgressCallback: (r) => {
        const p = progress.map(r);
        if (p) ctx.onProgress?.(p);
      },
      logLevel: 'WARN',
    });
    const onAbort = () => void engine.unload().catch(() => undefined);
    ctx.signal.addEventListener('abort', onAbort);
    try {
      await engine.reload(choice.record.model_id, { context_window_size: nCtx });
      // WebLLM returns quietly from an aborted reload
      if (ctx.signal.aborted) throw new CriaError('aborted', 'the load was aborted');
    } catch (e) {
      await engine.unload().catch(() => undefined);
      throw mlcError(e, what);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    await writeRecord({ ...(await readRecord(choice.cacheId))!, complete: true, lastUsedAt: Date.now() });

    let lost: string | undefined;
    const stepper: MlcStepper = {
      forward: async (ids) => {
        if (lost !== undefined) throw new CriaError('device-lost', lost);
        row = undefined;
        try {
          await engine.forwardTokensAndSample(ids, ids.length > 1);
        } catch (e) {
          const err = mlcError(e, what);
          if (/not loaded|ModelNotLoaded/i.test((e as Error).message ?? '') || (e as Error).name === 'ModelNotLoadedError') {
            lost = 'WebLLM dropped the model (its GPU device was lost); load the model again';
            throw new CriaError('device-lost', lost);
          }
          throw err;
        }
        if (!row) throw new CriaError('internal', 'WebLLM ran a step but gave no logits to its logit processor');
        return row;
      },
      reset: () => engine.resetChat(false),
      sync: async () => {},
    };
    ctx.onDevice({
      stats: () => ({ backend: `WebLLM ${WEBLLM_VERSION} (WebGPU)`, dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0 }),
      deviceInfo: async () => adapter,
    });

    const contentHash = await sha256Hex([indexBytes, tokBytes]);
    const meta = index.metadata ?? {};
    const info: ModelInfo = {
      id: what,
      architecture: String(config.model_type ?? 'unknown'),
      parameters: Number(meta.ParamSize ?? 0),
      contextLength: trained,
      nCtx,
      nCtxReason: ctx.opts.nCtx !== undefined && ctx.opts.nCtx < libCtx ? `as asked (${nCtx})` : `the model library's context window (${libCtx} positions; WebLLM allocates it at load)`,
      memory: { budgetBytes, weightBytes, kvCacheBytes, scratchBytes: Math.max(0, vram - weightBytes - kvCacheBytes), totalBytes },
      contentHash,
      tensorTypes: { [String(config.quantization ?? 'mlc')]: weightBytes },
      vocabSize: nVocab,
      hasChatTemplate: tokenizer.chatTemplate !== undefined,
      weightBytes,
      activations: 'f32',
      backend: {
        kind: 'webgpu',
        detail: `WebLLM ${WEBLLM_VERSION} on ${adapter.description || adapter.vendor || 'WebGPU'}${adapter.isFallbackAdapter || /swiftshader|llvmpipe/i.test(`${adapter.architecture} ${adapter.description}`) ? ' (a software adapter: slow)' : ''}`,
        threads: 1,
        reason: `${choice.reason}; WebLLM runs on WebGPU only`,
      },
      runtime: 'webllm',
      loadMs: performance.now() - ctx.startedAt,
      source: fromCache ? 'cache' : 'network',
      cacheId: choice.cacheId,
      downloadedBytes: downloaded,
    };
    const sequence = new MlcSequence(stepper, nCtx, nVocab);
    return {
      info,
      tokenizer,
      sequence,
      dispose: () => void engine.unload().catch(() => undefined),
    };
  }
}

export type { MlcChoice };

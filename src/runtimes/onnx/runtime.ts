/**
 * The ONNX runtime: causal LMs in the Optimum / Transformers.js layout run by onnxruntime-web, behind
 * the runtime seam (src/engine/runtime.ts), so every request (chat, completions, sampling, stop,
 * logprobs, score, and so every eval task) works on them as on a GGUF.
 *
 * A repository is a set of files by path (./repo.ts: given, or at a URL / Hugging Face repository
 * id through the model cache): `onnx/model.onnx` (or the graph `model` names) and the external data
 * files its initializers name, `config.json`, `tokenizer.json`, `tokenizer_config.json`,
 * `generation_config.json` (optional). Load order: config and tokenizer first (what can be checked
 * before the weights: the architecture's shape, the tokenizer), then the graph's size and memory
 * (before the weights are downloaded), the graph, its external data, the session, a warm-up step.
 *
 * Execution provider: the embedder chooses (`chooseProvider`: the worker picks WebGPU on a hardware
 * adapter, WASM otherwise, or what the load asks for); WASM by default. On WebGPU the KV cache stays
 * on the device between steps (the present outputs are kept as GPU buffers and fed back).
 */
import { InferenceSession, env } from 'onnxruntime-web';
import { graphFacts } from '../../formats/onnx/external-data.ts';
import type { ModelConfig } from '../../model/config.ts';
import { chooseContext } from '../../model/memory.ts';
import type { BackendKind, DeviceInfo, ModelInfo, ModelSource, OnnxSource } from '../../protocol/api.ts';
import { CriaError } from '../../shared/errors.ts';
import { createHfTokenizer } from '../../tokenizer/hf.ts';
import type { LoadedModel, Runtime, RuntimeLoadContext } from '../../engine/runtime.ts';
import { DEFAULT_GRAPH, givenFiles, isOnnxSource, locateRepo, remoteFiles, type RepoFiles } from './repo.ts';

export { isOnnxSource } from './repo.ts';
import { OnnxSequence } from './sequence.ts';

/** onnxruntime-web's execution provider for a load, and why (shown in ModelInfo.backend). */
export interface ProviderChoice {
  ep: 'wasm' | 'webgpu';
  reason: string;
  /** wasm: threads (1 where SharedArrayBuffer is missing) */
  threads?: number;
  /** webgpu: the adapter's facts, for deviceInfo() */
  deviceInfo?: () => Promise<DeviceInfo>;
}

export interface OnnxRuntimeOptions {
  /** default context size cap (default 4096, at most the model's training context) */
  nCtx?: number;
  /** bytes a model may take in all (weights + KV cache + scratch) */
  memoryBudgetBytes?: number;
  /** ORT's WASM threads when `chooseProvider` does not say (default 1) */
  threads?: number;
  /** the execution provider for a load's `backend` (default: WASM; `webgpu` asked for is refused) */
  chooseProvider?(asked: BackendKind, threads: number | undefined): Promise<ProviderChoice>;
  /** where onnxruntime-web's .wasm is served from (a bundler's asset URL); default: ORT's own lookup */
  wasmUrl?: string;
}

const N_BATCH = 256;

/** The `{ onnx }` form of any source this runtime takes. */
function onnxSourceOf(source: ModelSource): OnnxSource | { cached: string } {
  if ('onnx' in source) return source.onnx;
  if ('cached' in source) return { cached: source.cached };
  if ('url' in source) return { url: source.url };
  throw new CriaError('bad-argument', 'the ONNX runtime takes { onnx: { repo | url | files } }, a .onnx URL, or { cached: "onnx:…" }');
}

async function defaultProvider(asked: BackendKind, threads: number | undefined): Promise<ProviderChoice> {
  if (asked === 'webgpu') throw new CriaError('not-implemented', 'onnxruntime-web\'s WebGPU execution provider is not available here (Node, or an engine without a GPU); load with backend "wasm" or "auto"');
  return { ep: 'wasm', reason: 'onnxruntime-web\'s WebAssembly execution provider', threads: threads ?? 1 };
}

export class OnnxRuntime implements Runtime {
  readonly name = 'onnx';

  constructor(private readonly opts: OnnxRuntimeOptions = {}) {}

  accepts(source: ModelSource): boolean {
    return isOnnxSource(source);
  }

  async load(source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const spec = onnxSourceOf(source);
    const where = locateRepo(spec);
    let repo: RepoFiles;
    if (where) {
      repo = await remoteFiles(where, { store: ctx.store, storage: ctx.storage, locks: ctx.locks, fetch: ctx.fetch, signal: ctx.signal, idleTimeoutMs: ctx.idleTimeoutMs, onProgress: ctx.onProgress });
    } else {
      const s = spec as OnnxSource;
      repo = givenFiles(s.files!, s.model ?? DEFAULT_GRAPH, s.name ?? 'ONNX model');
    }
    try {
      return await this.loadFrom(repo, ctx);
    } catch (e) {
      // what the files hold cannot run: nothing of it stays in the cache (an interrupted download does, to resume)
      if (e instanceof CriaError && (e.code === 'bad-file' || e.code === 'unsupported-arch')) await repo.discard().catch(() => undefined);
      throw e;
    }
  }

  private async loadFrom(repo: RepoFiles, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const modelPath = repo.modelPath;
    const json = async (path: string, optional = false): Promise<Record<string, unknown> | undefined> => {
      const bytes = await repo.bytes(path, optional);
      if (bytes === undefined) return undefined;
      try {
        const j = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
        if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error('not an object');
        return j as Record<string, unknown>;
      } catch (e) {
        throw new CriaError('bad-file', `${path} is not a valid JSON object: ${(e as Error).message}`, { file: path });
      }
    };
    const provider = await (this.opts.chooseProvider ?? defaultProvider)(ctx.opts.backend ?? 'auto', ctx.opts.threads ?? this.opts.threads);
    ctx.onProgress?.({ phase: 'open', loadedBytes: 0, totalBytes: 0 });
    const config = (await json('config.json'))!;
    const c = modelConfig(config);
    const tokenizer = createHfTokenizer({
      tokenizer: await json('tokenizer.json'),
      config: await json('tokenizer_config.json', true),
      generationConfig: await json('generation_config.json', true),
    });
    if (tokenizer.vocabSize > c.nVocab) throw new CriaError('bad-file', `the tokenizer has ${tokenizer.vocabSize} tokens but the model's logits have ${c.nVocab}; the repository is inconsistent`);

    // memory, before the weights are downloaded or read into a session: the graph's size first
    // (with external data it is small), then with its data files once the graph names them
    const budgetBytes = ctx.opts.memoryBudgetBytes ?? this.opts.memoryBudgetBytes ?? 2 * 2 ** 30;
    const fit = (weightBytes: number) => chooseContext(c, weightBytes, weightBytes, { budgetBytes }, { nCtx: ctx.opts.nCtx, cap: this.opts.nCtx ?? 4096, nBatch: N_BATCH });
    fit(await repo.size(modelPath));
    const model = (await repo.bytes(modelPath))!;
    const dir = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/') + 1) : '';
    const facts = graphFacts(model, modelPath);
    const dataNames = facts.externalData;
    // onnxruntime-web's WebGPU EP implements MatMulNBits for 2 and 4 bits only (1.31: "additional bits
    // support is planned"): refused here, before the weights are read, never switched to WASM silently
    const wide = facts.matMulNBitsBits.filter((b) => b !== 2 && b !== 4);
    if (provider.ep === 'webgpu' && wide.length > 0) {
      throw new CriaError('unsupported-type', `${repo.name} quantizes weights to ${wide.join(', ')}-bit MatMulNBits, which onnxruntime-web's WebGPU execution provider does not compute (it does 2 and 4 bits); load it with backend "wasm", or export the model with f32 weights for those (cria export onnx --q8 f32)`, { bits: wide });
    }
    let weightBytes = model.byteLength;
    for (const d of dataNames) weightBytes += await repo.size(dir + d);
    const context = fit(weightBytes);
    const externalData: { path: string; data: Uint8Array }[] = [];
    for (const d of dataNames) externalData.push({ path: d, data: (await repo.bytes(dir + d))! });

    env.wasm.numThreads = provider.threads ?? 1;
    if (this.opts.wasmUrl) env.wasm.wasmPaths = { wasm: this.opts.wasmUrl };
    ctx.onProgress?.({ phase: 'upload', loadedBytes: 0, totalBytes: weightBytes });
    const gpuKv = provider.ep === 'webgpu';
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(model, {
        executionProviders: [provider.ep],
        ...(externalData.length > 0 ? { externalData } : {}),
        // on WebGPU the cache stays on the device: present outputs as GPU buffers, fed back as inputs
        ...(gpuKv ? { preferredOutputLocation: Object.fromEntries(Array.from({ length: c.nLayer }, (_, i) => [[`present.${i}.key`, 'gpu-buffer'], [`present.${i}.value`, 'gpu-buffer']]).flat()) } : {}),
      });
    } catch (e) {
      const msg = (e as Error).message;
      if (gpuKv && /webgpu|adapter|device/i.test(msg)) throw new CriaError('webgpu-unavailable', `onnxruntime-web could not start its WebGPU execution provider (${msg}); load with backend "wasm"`);
      throw new CriaError('bad-file', `onnxruntime could not load ${modelPath}: ${msg}`, { file: modelPath });
    }
    const epName = gpuKv ? 'WebGPU EP' : 'WASM EP';
    const gpuDevice: GPUDevice | undefined = gpuKv ? await env.webgpu.device : undefined;
    ctx.onDevice({
      stats: () => ({ backend: `onnxruntime-web (${epName})`, dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0 }),
      ...(provider.deviceInfo ? { deviceInfo: provider.deviceInfo } : {}),
      ...(gpuDevice ? { lost: gpuDevice.lost.then((l) => l.message || l.reason || '') } : {}),
    });
    const missing = ['input_ids', 'attention_mask', 'past_key_values.0.key'].filter((n) => !session.inputNames.includes(n));
    if (missing.length > 0 || !session.outputNames.includes('logits')) {
      await session.release();
      throw new CriaError('unsupported-arch', `${modelPath} is not a causal LM with a KV cache in the Optimum layout (missing inputs: ${missing.join(', ') || 'none'}; outputs: ${session.outputNames.slice(0, 4).join(', ')})`, { file: modelPath });
    }
    // the cache and the logits in float32 (an fp16 / q4f16 export keeps them in float16, which this runtime does not feed)
    const typeOf = (list: readonly InferenceSession.ValueMetadata[] | undefined, name: string) => {
      const m = list?.find((x) => x.name === name);
      return m && m.isTensor ? m.type : undefined;
    };
    const kvType = typeOf(session.inputMetadata, 'past_key_values.0.key');
    const logitsType = typeOf(session.outputMetadata, 'logits');
    if ((kvType !== undefined && kvType !== 'float32') || (logitsType !== undefined && logitsType !== 'float32')) {
      await session.release();
      throw new CriaError('unsupported-type', `${modelPath} keeps its KV cache as ${kvType} and its logits as ${logitsType}; Cria's ONNX runtime runs graphs with a float32 cache and logits (in an Optimum / Transformers.js repository: onnx/model.onnx, model_q4.onnx, model_quantized.onnx, not the fp16 or q4f16 ones). Load another graph of the repository with { onnx: { …, model: 'onnx/model_q4.onnx' } }`, { file: modelPath, kvType, logitsType });
    }
    if (gpuKv && !gpuDevice) {
      await session.release();
      throw new CriaError('internal', 'onnxruntime-web ran on WebGPU but did not give its device (env.webgpu.device), which keeping the KV cache on the GPU needs');
    }
    const sequence = new OnnxSequence(session, { nLayer: c.nLayer, nHeadKv: c.nHeadKv, headDim: c.headDim, nVocab: c.nVocab, nCtx: context.nCtx, nBatch: N_BATCH, ...(gpuDevice ? { gpu: gpuDevice } : {}) });
    ctx.onProgress?.({ phase: 'compile', loadedBytes: weightBytes, totalBytes: weightBytes });
    try {
      await sequence.append([0]); // one step now: a model this runtime cannot run fails at load
    } catch (e) {
      sequence.release();
      await session.release();
      if (e instanceof CriaError) throw e;
      throw new CriaError('unsupported-arch', `onnxruntime could not run ${modelPath}: ${(e as Error).message}`, { file: modelPath });
    }
    sequence.truncate(0);
    // hashed once per download: a later load of the same cached graph reuses it (as a cached GGUF's is)
    const hash = repo.knownHash() ?? (await contentHash(model, externalData.map((d) => d.data)));
    await repo.done(hash);
    const origin = repo.origin();
    const info: ModelInfo = {
      id: repo.cacheId ?? repo.name,
      architecture: c.arch,
      parameters: parameterCount(c, config.tie_word_embeddings !== false),
      contextLength: c.nCtxTrain,
      nCtx: context.nCtx,
      nCtxReason: context.reason,
      backend: {
        kind: gpuKv ? 'webgpu' : 'wasm',
        detail: `onnxruntime-web ${env.versions?.web ?? ''} (${epName})`.replace('  ', ' '),
        threads: gpuKv ? 1 : (env.wasm.numThreads ?? 1),
        reason: provider.reason,
      },
      runtime: 'onnx',
      contentHash: hash,
      memory: context.memory,
      tensorTypes: { ONNX: weightBytes },
      vocabSize: c.nVocab,
      hasChatTemplate: tokenizer.chatTemplate !== undefined,
      weightBytes,
      activations: 'f32',
      loadMs: performance.now() - ctx.startedAt,
      source: origin.source,
      downloadedBytes: origin.downloadedBytes,
    };
    return {
      info,
      tokenizer,
      sequence,
      dispose: () => {
        sequence.release();
        void session.release();
      },
    };
  }
}

/**
 * The parameters of a llama-style decoder from its shape (config.json), as a GGUF's tensors would count
 * them: embeddings (and an output matrix unless tied), per layer the attention projections (with
 * qwen2's biases), the SwiGLU FFN and two norms, and the final norm.
 */
function parameterCount(c: ModelConfig, tied: boolean): number {
  const e = c.nEmbd;
  const q = c.nHead * c.headDim;
  const kv = c.nHeadKv * c.headDim;
  const bias = c.arch === 'qwen2' ? q + 2 * kv : 0;
  const layer = e * (q + 2 * kv) + bias + q * e + 3 * e * c.nFf + 2 * e;
  return c.nVocab * e * (tied ? 1 : 2) + c.nLayer * layer + e;
}

/** What Cria needs of config.json (llama-style decoders; others are refused when a field is missing). */
function modelConfig(j: Record<string, unknown>): ModelConfig {
  const num = (key: string, fallback?: number): number => {
    const v = j[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (fallback !== undefined) return fallback;
    throw new CriaError('bad-file', `config.json has no ${key}; Cria needs it to size the KV cache`, { key });
  };
  const nHead = num('num_attention_heads');
  const nEmbd = num('hidden_size');
  const headDim = num('head_dim', nEmbd / nHead);
  const nCtxTrain = num('max_position_embeddings', 2048);
  return {
    arch: typeof j.model_type === 'string' ? j.model_type : 'unknown',
    name: typeof j._name_or_path === 'string' ? j._name_or_path : '',
    nVocab: num('vocab_size'),
    nCtxTrain,
    nEmbd,
    nLayer: num('num_hidden_layers'),
    nHead,
    nHeadKv: num('num_key_value_heads', nHead),
    headDim,
    headDimV: headDim,
    nFf: num('intermediate_size', 4 * nEmbd),
    rmsEps: num('rms_norm_eps', 1e-5),
    rope: { type: 'neox', dim: headDim, base: num('rope_theta', 10000), freqScale: 1, attnFactor: 1 },
    nCtxOrig: nCtxTrain,
    attnScale: 1 / Math.sqrt(headDim),
    attnSoftcap: 0,
    finalSoftcap: 0,
    slidingWindow: [],
    embedScale: 1,
  };
}

/** SHA-256 over the graph and its data (WebCrypto): the same files give the same hash under any name. */
async function contentHash(model: Uint8Array, data: Uint8Array[]): Promise<string> {
  const parts = await Promise.all([model, ...data].map((b) => crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>)));
  const all = new Uint8Array(parts.length * 32);
  parts.forEach((p, i) => all.set(new Uint8Array(p), i * 32));
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (b) => b.toString(16).padStart(2, '0')).join('');
}

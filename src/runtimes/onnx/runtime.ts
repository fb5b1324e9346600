/**
 * The ONNX runtime: causal LMs in the Optimum / Transformers.js layout run by onnxruntime-web, behind
 * the runtime seam (src/engine/runtime.ts), so every request (chat, completions, sampling, stop,
 * logprobs, score, and so every eval task) works on them as on a GGUF.
 *
 * A repository is a set of files by path: `onnx/model.onnx` (or the file `model` names) and its
 * external data (`onnx/model.onnx_data`), `config.json`, `tokenizer.json`, `tokenizer_config.json`,
 * `generation_config.json` (optional). Load order: config and tokenizer first (what can be checked
 * before the weights: the architecture's shape, the tokenizer, memory), then the session, then a
 * warm-up step. Execution provider: WASM (threads where the page is cross-origin isolated).
 *
 * Not yet: URLs and Hugging Face repo ids through the model cache, and the WebGPU EP.
 */
import { InferenceSession, env } from 'onnxruntime-web';
import type { ModelConfig } from '../../model/config.ts';
import { chooseContext } from '../../model/memory.ts';
import type { ModelInfo, ModelSource, OnnxFile } from '../../protocol/api.ts';
import { CriaError } from '../../shared/errors.ts';
import { createHfTokenizer } from '../../tokenizer/hf.ts';
import type { LoadedModel, Runtime, RuntimeLoadContext } from '../../engine/runtime.ts';
import { OnnxSequence } from './sequence.ts';


export interface OnnxRuntimeOptions {
  /** default context size cap (default 4096, at most the model's training context) */
  nCtx?: number;
  /** bytes a model may take in all (weights + KV cache + scratch) */
  memoryBudgetBytes?: number;
  /** ORT's WASM threads (default 1; more only where SharedArrayBuffer is usable) */
  threads?: number;
}

const N_BATCH = 256;

/** Is this source an ONNX repository? (Chosen by the source's shape, never by a failed GGUF parse.) */
export function isOnnxSource(source: ModelSource): source is Extract<ModelSource, { onnx: unknown }> {
  return typeof source === 'object' && source !== null && 'onnx' in source;
}

async function bytesOf(f: OnnxFile): Promise<Uint8Array> {
  if (f instanceof Uint8Array) return f;
  if (f instanceof ArrayBuffer) return new Uint8Array(f);
  return new Uint8Array(await f.arrayBuffer());
}

export class OnnxRuntime implements Runtime {
  readonly name = 'onnx';

  constructor(private readonly opts: OnnxRuntimeOptions = {}) {}

  accepts(source: ModelSource): boolean {
    return isOnnxSource(source);
  }

  async load(source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    if (!isOnnxSource(source)) throw new CriaError('bad-argument', 'the ONNX runtime takes { onnx: { files } }');
    const { files, name } = source.onnx;
    const modelPath = source.onnx.model ?? 'onnx/model.onnx';
    const file = (path: string) => files[path];
    const need = (path: string, why: string) => {
      const f = file(path);
      if (f === undefined) throw new CriaError('bad-file', `the ONNX repository has no ${path} (${why}); it holds ${Object.keys(files).sort().join(', ') || 'no files'}`, { file: path });
      return f;
    };
    const json = async (path: string, why: string, optional = false): Promise<Record<string, unknown> | undefined> => {
      const f = optional ? file(path) : need(path, why);
      if (f === undefined) return undefined;
      try {
        return JSON.parse(new TextDecoder().decode(await bytesOf(f))) as Record<string, unknown>;
      } catch (e) {
        throw new CriaError('bad-file', `${path} is not valid JSON: ${(e as Error).message}`, { file: path });
      }
    };
    ctx.onProgress?.({ phase: 'open', loadedBytes: 0, totalBytes: 0 });
    const config = (await json('config.json', 'the model\'s shape'))!;
    const c = modelConfig(config);
    const tokenizer = createHfTokenizer({
      tokenizer: await json('tokenizer.json', 'the tokenizer'),
      config: await json('tokenizer_config.json', 'the tokenizer\'s settings', true),
      generationConfig: await json('generation_config.json', '', true),
    });
    if (tokenizer.vocabSize > c.nVocab) throw new CriaError('bad-file', `the tokenizer has ${tokenizer.vocabSize} tokens but the model's logits have ${c.nVocab}; the repository is inconsistent`);

    // memory, before the weights are read into a session
    const modelFile = need(modelPath, 'the model graph');
    const dataPath = `${modelPath}_data`;
    const dataFile = file(dataPath);
    const size = (f: OnnxFile) => (f instanceof Blob ? f.size : f.byteLength);
    const weightBytes = size(modelFile) + (dataFile ? size(dataFile) : 0);
    const budgetBytes = ctx.opts.memoryBudgetBytes ?? this.opts.memoryBudgetBytes ?? 2 * 2 ** 30;
    const context = chooseContext(c, weightBytes, weightBytes, { budgetBytes }, { nCtx: ctx.opts.nCtx, cap: this.opts.nCtx ?? 4096, nBatch: N_BATCH });

    env.wasm.numThreads = this.opts.threads ?? 1;
    const model = await bytesOf(modelFile);
    ctx.onProgress?.({ phase: 'upload', loadedBytes: 0, totalBytes: weightBytes });
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(model, {
        executionProviders: ['wasm'],
        ...(dataFile ? { externalData: [{ path: dataPath.split('/').pop()!, data: await bytesOf(dataFile) }] } : {}),
      });
    } catch (e) {
      throw new CriaError('bad-file', `onnxruntime could not load ${modelPath}: ${(e as Error).message}`, { file: modelPath });
    }
    ctx.onDevice({ stats: () => ({ backend: 'onnxruntime-web (wasm)', dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0 }) });
    const missing = ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key'].filter((n) => !session.inputNames.includes(n));
    if (missing.length > 0 || !session.outputNames.includes('logits')) {
      await session.release();
      throw new CriaError('unsupported-arch', `${modelPath} is not a causal LM with a KV cache in the Optimum layout (missing inputs: ${missing.join(', ') || 'none'}; outputs: ${session.outputNames.slice(0, 4).join(', ')})`, { file: modelPath });
    }
    const sequence = new OnnxSequence(session, { nLayer: c.nLayer, nHeadKv: c.nHeadKv, headDim: c.headDim, nVocab: c.nVocab, nCtx: context.nCtx, nBatch: N_BATCH });
    ctx.onProgress?.({ phase: 'compile', loadedBytes: weightBytes, totalBytes: weightBytes });
    await sequence.append([0]); // one step now: a model this runtime cannot run fails at load
    sequence.truncate(0);
    const info: ModelInfo = {
      id: name ?? (typeof config._name_or_path === 'string' ? config._name_or_path : c.arch),
      architecture: c.arch,
      parameters: 0,
      contextLength: c.nCtxTrain,
      nCtx: context.nCtx,
      nCtxReason: context.reason,
      backend: { kind: 'wasm', detail: `onnxruntime-web ${env.versions?.web ?? ''} (WASM EP)`.replace('  ', ' '), threads: env.wasm.numThreads ?? 1, reason: 'the ONNX runtime runs on onnxruntime-web\'s WebAssembly execution provider' },
      runtime: 'onnx',
      contentHash: await contentHash(model, dataFile ? await bytesOf(dataFile) : undefined),
      memory: context.memory,
      tensorTypes: { ONNX: weightBytes },
      vocabSize: c.nVocab,
      hasChatTemplate: tokenizer.chatTemplate !== undefined,
      weightBytes,
      activations: 'f32',
      loadMs: performance.now() - ctx.startedAt,
      source: 'file',
      downloadedBytes: 0,
    };
    return { info, tokenizer, sequence, dispose: () => void session.release() };
  }
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
async function contentHash(model: Uint8Array, data?: Uint8Array): Promise<string> {
  const parts = await Promise.all([model, ...(data ? [data] : [])].map((b) => crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>)));
  const all = new Uint8Array(parts.length * 32);
  parts.forEach((p, i) => all.set(new Uint8Array(p), i * 32));
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (b) => b.toString(16).padStart(2, '0')).join('');
}

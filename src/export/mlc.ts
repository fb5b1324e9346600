/**
 * `cria export mlc`: a GGUF llama or qwen2 model as MLC weights that WebLLM (0.2.79, pinned) loads
 * with a prebuilt model library of the v0_2_48 series, so the same weights run in Cria's engine and in
 * WebLLM and the two can be checked against each other.
 *
 * Files (WebLLM fetches each from the model URL):
 *   ndarray-cache.json + params_shard_N.bin   the weights (src/formats/mlc/ndarray-cache.ts), named,
 *                                             shaped and typed as MLC's model declares them
 *                                             (src/formats/mlc/params.ts)
 *   mlc-chat-config.json                      what WebLLM's ChatConfig reads, with a neutral
 *                                             conversation template (Cria applies the GGUF's chat
 *                                             template itself)
 *   tokenizer.json, tokenizer_config.json     the GGUF vocabulary (./tokenizer-json.ts)
 *
 * Quantizations: q4f32_1 holds ggml's Q4_0 exactly (src/formats/mlc/q4f32.ts), so it needs every
 * matrix in Q4_0 (a `--pure` Q4_0 GGUF) and refuses anything else rather than requantize; q0f32 takes
 * any type, dequantized to float32 as Cria's reference computes with it. Norms and biases are float32.
 *
 * The model library is compiled for one architecture, shape and quantization and lists its parameters
 * (src/formats/mlc/library.ts); given one, the export checks that it writes exactly those and refuses
 * otherwise naming the first difference. What a library compiles in but does not list (RoPE base and
 * scaling, norm epsilon) cannot be checked: the library must be built for a model with the GGUF's.
 *
 * Memory: one MLC weight (a fused matrix) and one shard in flight; `mlcExportFiles` yields files as
 * they are complete, ndarray-cache.json last (without it the folder is not a loadable model).
 */
import { CriaError } from '../shared/errors.ts';
import { readTensorBytes, type GgufFile, type GgufTensorInfo } from '../formats/gguf.ts';
import { dequantize, isDequantizable } from '../formats/quant.ts';
import { compareParams, readLibraryMetadata, type MlcLibraryMetadata } from '../formats/mlc/library.ts';
import { NdArrayCacheWriter, NDARRAY_CACHE_JSON, SHARD_CAP_BYTES } from '../formats/mlc/ndarray-cache.ts';
import { MLC_ARCHITECTURES, MLC_QUANTS, mlcParams, mlcWeights, Q4F32_GROUP, Q4F32_PER_WORD, sourceRow, type MlcArch, type MlcParam, type MlcQuant, type MlcShape, type MlcWeight } from '../formats/mlc/params.ts';
import { q4_0RowToQ4f32 } from '../formats/mlc/q4f32.ts';
import { planModel } from '../model/model.ts';
import type { ModelConfig } from '../model/config.ts';
import { parseVocab, type Vocab } from '../tokenizer/vocab.ts';
import { tokenizerJson, type TokenizerFiles } from './tokenizer-json.ts';

export { MLC_ARCHITECTURES, MLC_QUANTS, type MlcQuant };

/** What WebLLM's prebuilt libraries are compiled for ("ctx4k_cs1k"), used when no library is given. */
const DEFAULT_CONTEXT = 4096;
const DEFAULT_PREFILL_CHUNK = 1024;

export interface MlcExportOptions {
  /** default q4f32_1 */
  quant?: MlcQuant;
  /** the model library (.wasm) the weights are for: its parameter list must match the export's */
  library?: Uint8Array;
  /** the library's name in messages */
  libraryName?: string;
  /** mlc-chat-config.json's context_window_size (default: the library's, else 4096; at most the GGUF's training context) */
  contextWindowSize?: number;
  /** shard cap (default 32 MiB, as MLC's); tests use smaller ones */
  shardBytes?: number;
}

/** Everything decided before a weight is read: the parameters, the checks against the library, the tokenizer. */
export interface MlcExportPlan {
  readonly config: ModelConfig;
  readonly quant: MlcQuant;
  readonly shape: MlcShape;
  readonly weights: readonly MlcWeight[];
  /** in the order MLC's model declares them */
  readonly params: readonly MlcParam[];
  readonly library?: MlcLibraryMetadata;
  readonly contextWindowSize: number;
  readonly prefillChunkSize: number;
  /** MLC weight → how it was made, e.g. "q4f32_1 from Q4_0 (exact)", "float32 from Q8_0" */
  readonly how: ReadonlyMap<string, string>;
  readonly vocab: Vocab;
  readonly tokenizer: TokenizerFiles;
  /** what the export cannot carry over exactly, in sentences */
  readonly warnings: readonly string[];
  readonly shardBytes: number;
}

export interface MlcExport {
  /** path in the folder → bytes */
  files: Map<string, Uint8Array>;
  params: readonly MlcParam[];
  how: ReadonlyMap<string, string>;
  warnings: string[];
  config: ModelConfig;
  library?: MlcLibraryMetadata;
}

/** Checks the GGUF (and the library, if given) and lists what the export writes, reading no weights. */
export function planMlcExport(file: GgufFile, opts: MlcExportOptions = {}): MlcExportPlan {
  const quant = opts.quant ?? 'q4f32_1';
  if (!(MLC_QUANTS as readonly string[]).includes(quant)) throw new CriaError('bad-argument', `the MLC quantization must be one of ${MLC_QUANTS.join(', ')}, got ${String(quant)}`);
  const { config: c } = planModel(file);
  checkSupported(c);
  const shape: MlcShape = {
    arch: c.arch as MlcArch, nEmbd: c.nEmbd, nLayer: c.nLayer, nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, nFf: c.nFf, nVocab: c.nVocab,
    tied: !file.tensorsByName.has('output.weight'),
    permutedQk: c.rope.type === 'normal',
  };
  const weights = mlcWeights(shape);
  const params = mlcParams(weights, quant);
  const warnings: string[] = [];

  // every weight's source tensors: present, shaped as the plan says, of a type this quantization holds
  const how = new Map<string, string>();
  const used = new Set<string>();
  for (const w of weights) {
    const types = new Set<string>();
    for (const p of w.parts) {
      const t = tensor(file, p.tensor);
      used.add(t.name);
      types.add(t.type.name);
      const dims = [...t.dims];
      while (dims.length > 1 && dims[dims.length - 1] === 1) dims.pop();
      const want = w.kind === 'vector' ? [p.rows] : [w.cols, p.rows];
      if (dims.length !== want.length || dims.some((d, i) => d !== want[i])) {
        throw new CriaError('bad-file', `tensor ${t.name} has shape [${t.dims.join(', ')}], MLC's ${w.name} needs [${want.join(', ')}]`, { tensor: t.name });
      }
      if (w.kind === 'matrix' && quant === 'q4f32_1' && t.type.name !== 'Q4_0') {
        throw new CriaError(
          'unsupported-type',
          `cria export mlc: tensor ${t.name} is ${t.type.name}; q4f32_1 holds Q4_0 weights exactly, and any other type would have to be requantized into other weights than the GGUF's. ` +
            'Pass --quant q0f32 (every weight as float32, exact), or use a GGUF with every matrix in Q4_0 (llama-quantize --pure … Q4_0; cria make-bench-model --type q4_0 --pure).',
          { tensor: t.name, type: t.type.name },
        );
      }
      if (!isDequantizable(t.type)) throw new CriaError('unsupported-type', `cria export mlc: tensor ${t.name} is ${t.type.name}, which Cria cannot dequantize`, { tensor: t.name, type: t.type.name });
    }
    const from = [...types].join(' + ');
    how.set(w.name, w.kind === 'matrix' && quant === 'q4f32_1' ? `q4f32_1 from ${from} (exact)` : from === 'F32' ? 'float32' : `float32 from ${from}`);
  }
  for (const t of file.tensors) {
    if (used.has(t.name)) continue;
    if (t.name === 'rope_freqs.weight') {
      warnings.push('rope_freqs.weight (RoPE frequency factors, e.g. llama3 scaling) is not a weight in MLC: the model library must be compiled with the same RoPE scaling');
      continue;
    }
    throw new CriaError('unsupported-arch', `cria export mlc: the GGUF has tensor ${t.name}, which MLC's ${c.arch} model has no place for`, { tensor: t.name });
  }

  let library: MlcLibraryMetadata | undefined;
  if (opts.library) library = checkLibrary(readLibraryMetadata(opts.library, opts.libraryName), c, quant, params, opts.libraryName ?? 'the model library');

  const contextWindowSize = Math.min(c.nCtxTrain, opts.contextWindowSize ?? library?.context_window_size ?? DEFAULT_CONTEXT);
  const prefillChunkSize = Math.min(contextWindowSize, library?.prefill_chunk_size ?? DEFAULT_PREFILL_CHUNK);
  const vocab = parseVocab(file);
  const tokenizer = tokenizerJson(vocab);
  warnings.push(...tokenizer.warnings);
  return { config: c, quant, shape, weights, params, library, contextWindowSize, prefillChunkSize, how, vocab, tokenizer, warnings, shardBytes: opts.shardBytes ?? SHARD_CAP_BYTES };
}

/** The export's files one at a time: shards as they fill, then the tokenizer and configuration, ndarray-cache.json last. */
export async function* mlcExportFiles(file: GgufFile, plan: MlcExportPlan): AsyncGenerator<{ path: string; bytes: Uint8Array }> {
  const writer = new NdArrayCacheWriter(plan.shardBytes);
  let paramBytes = 0;
  let sourceElements = 0;
  for (const w of plan.weights) {
    for (const p of w.parts) sourceElements += tensor(file, p.tensor).nElements;
    for (const t of await weightTensors(file, w, plan.quant)) {
      paramBytes += t.data.byteLength;
      for (const shard of writer.add(t.name, t.shape, t.dtype, t.data)) yield shard;
    }
  }
  const { shards, cache } = writer.finish({ ParamSize: plan.params.length, ParamBytes: paramBytes, BitsPerParam: (paramBytes * 8) / sourceElements });
  for (const s of shards) yield s;
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
  yield { path: 'tokenizer.json', bytes: json(plan.tokenizer.tokenizer) };
  yield { path: 'tokenizer_config.json', bytes: json(plan.tokenizer.config) };
  yield { path: 'mlc-chat-config.json', bytes: json(mlcChatConfig(plan)) };
  yield { path: NDARRAY_CACHE_JSON, bytes: json(cache) };
}

/** The whole export in memory (a 0.5B Q4_0 model is ~300 MB as q4f32_1; q0f32 is 4 bytes per weight). */
export async function exportMlc(file: GgufFile, opts: MlcExportOptions = {}): Promise<MlcExport> {
  const plan = planMlcExport(file, opts);
  const files = new Map<string, Uint8Array>();
  for await (const f of mlcExportFiles(file, plan)) files.set(f.path, f.bytes);
  return { files, params: plan.params, how: plan.how, warnings: [...plan.warnings], config: plan.config, library: plan.library };
}

function tensor(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensorsByName.get(name);
  if (!t) throw new CriaError('missing-tensor', `missing tensor ${name}: MLC's model needs it`, { tensor: name });
  return t;
}

function checkSupported(c: ModelConfig): void {
  const refuse = (why: string) => {
    throw new CriaError('unsupported-arch', `cria export mlc: ${why}`, { arch: c.arch });
  };
  if (!(MLC_ARCHITECTURES as readonly string[]).includes(c.arch)) refuse(`the ${c.arch} architecture is not supported (supported: ${MLC_ARCHITECTURES.join(', ')})`);
  // MLC's llama and qwen2 rotate halves of each head (Hugging Face's layout); llama GGUFs are un-permuted back to it
  const rope = c.arch === 'qwen2' ? 'neox' : 'normal';
  if (c.rope.type !== rope) refuse(`a ${c.arch} GGUF with ${c.rope.type} RoPE is not supported (expected ${rope})`);
  if (c.rope.dim !== c.headDim) refuse(`RoPE over ${c.rope.dim} of ${c.headDim} head dimensions is not supported`);
  if (c.rope.freqScale !== 1) refuse('linear RoPE scaling is not supported');
  if (c.headDimV !== c.headDim) refuse('value heads of another size than key heads are not supported');
  if (c.nHead % c.nHeadKv !== 0) refuse(`${c.nHead} query heads do not share ${c.nHeadKv} KV heads evenly`);
  if (c.attnSoftcap || c.finalSoftcap || c.embedScale !== 1 || c.slidingWindow.some((w) => w > 0)) refuse('soft-capping, embedding scale and sliding windows are not supported');
}

function checkLibrary(lib: MlcLibraryMetadata, c: ModelConfig, quant: MlcQuant, params: readonly MlcParam[], name: string): MlcLibraryMetadata {
  if (lib.model_type !== c.arch) throw new CriaError('unsupported-arch', `${name} is compiled for a ${lib.model_type} model; the GGUF is ${c.arch}: choose a ${c.arch} model library`, { library: lib.model_type, arch: c.arch });
  if (lib.quantization !== quant) {
    const fix = (MLC_QUANTS as readonly string[]).includes(lib.quantization) ? `pass --quant ${lib.quantization}` : `Cria writes ${MLC_QUANTS.join(' and ')}: choose a library built for one of them`;
    throw new CriaError('bad-argument', `${name} is compiled for ${lib.quantization} weights, the export writes ${quant}: ${fix}`, { library: lib.quantization, quant });
  }
  if ((lib.tensor_parallel_shards ?? 1) !== 1) throw new CriaError('bad-argument', `${name} is compiled for ${lib.tensor_parallel_shards} tensor-parallel shards; Cria writes unsharded weights`);
  const kv = lib.kv_cache;
  if (kv) {
    const want = { num_hidden_layers: c.nLayer, num_attention_heads: c.nHead, num_key_value_heads: c.nHeadKv, head_dim: c.headDim };
    for (const [k, v] of Object.entries(want)) {
      if (kv[k as keyof typeof want] !== v) throw new CriaError('bad-argument', `${name} does not fit this GGUF: its ${k} is ${kv[k as keyof typeof want]}, the GGUF's is ${v}`, { field: k });
    }
  }
  const diff = compareParams(params, lib.params);
  if (diff) throw new CriaError('bad-argument', `${name} does not fit this GGUF: ${diff}`, { library: lib.model_type });
  return lib;
}

/** One MLC weight's tensors (q_weight + q_scale, or weight), built row by row from its GGUF parts. */
async function weightTensors(file: GgufFile, w: MlcWeight, quant: MlcQuant): Promise<{ name: string; shape: number[]; dtype: 'uint32' | 'float32'; data: Uint8Array }[]> {
  const u8 = (a: Uint32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (w.kind === 'matrix' && quant === 'q4f32_1') {
    const qWeight = new Uint32Array((w.rows * w.cols) / Q4F32_PER_WORD); // [rows, cols/8]
    const qScale = new Float32Array((w.rows * w.cols) / Q4F32_GROUP); // [rows, cols/32]
    let row0 = 0;
    for (const p of w.parts) {
      const bytes = await readTensorBytes(file, tensor(file, p.tensor));
      for (let r = 0; r < p.rows; r++) q4_0RowToQ4f32(bytes, w.cols, sourceRow(p, r), qWeight, qScale, row0 + r);
      row0 += p.rows;
    }
    return [
      { name: `${w.name}.q_weight`, shape: [w.rows, w.cols / Q4F32_PER_WORD], dtype: 'uint32', data: u8(qWeight) },
      { name: `${w.name}.q_scale`, shape: [w.rows, w.cols / Q4F32_GROUP], dtype: 'float32', data: u8(qScale) },
    ];
  }
  const out = new Float32Array(w.rows * w.cols); // [rows, cols]
  let row0 = 0;
  for (const p of w.parts) {
    const t = tensor(file, p.tensor);
    const f = dequantize(t.type, await readTensorBytes(file, t), t.nElements);
    for (let r = 0; r < p.rows; r++) {
      const s = sourceRow(p, r);
      out.set(f.subarray(s * w.cols, (s + 1) * w.cols), (row0 + r) * w.cols);
    }
    row0 += p.rows;
  }
  return [{ name: w.kind === 'matrix' ? `${w.name}.weight` : w.name, shape: w.kind === 'matrix' ? [w.rows, w.cols] : [w.rows], dtype: 'float32', data: u8(out) }];
}

/**
 * mlc-chat-config.json: what WebLLM 0.2.79's ChatConfig reads (tokenizer_files, vocab_size,
 * conv_template, context/sliding window and attention sink sizes, sampling defaults, bos_token_id,
 * tokenizer_info) and what mlc-llm's gen_config writes besides (model_type, quantization, model_config,
 * version, token ids). The conversation template is neutral: messages go in as they are, with no roles
 * or separators (Cria formats prompts with the GGUF's chat template); generation stops at the
 * vocabulary's end-of-generation tokens.
 */
function mlcChatConfig(plan: MlcExportPlan): Record<string, unknown> {
  const { config: c, vocab } = plan;
  const id = (n: number) => (n >= 0 ? n : undefined);
  const spm = vocab.model === 'llama';
  const modelConfig: Record<string, unknown> = {
    hidden_size: c.nEmbd,
    intermediate_size: c.nFf,
    num_attention_heads: c.nHead,
    num_hidden_layers: c.nLayer,
    num_key_value_heads: c.nHeadKv,
    head_dim: c.headDim,
    rms_norm_eps: c.rmsEps,
    vocab_size: c.nVocab,
    tie_word_embeddings: plan.shape.tied,
    ...(c.arch === 'qwen2' ? { rope_theta: c.rope.base, hidden_act: 'silu' } : { position_embedding_base: c.rope.base }),
    context_window_size: plan.contextWindowSize,
    prefill_chunk_size: plan.prefillChunkSize,
    tensor_parallel_shards: 1,
    max_batch_size: plan.library?.max_batch_size ?? 1,
  };
  return {
    version: '0.1.0',
    model_type: c.arch,
    quantization: plan.quant,
    model_config: modelConfig,
    vocab_size: c.nVocab,
    active_vocab_size: vocab.tokens.length,
    context_window_size: plan.contextWindowSize,
    sliding_window_size: -1,
    prefill_chunk_size: plan.prefillChunkSize,
    attention_sink_size: -1,
    tensor_parallel_shards: 1,
    pipeline_parallel_stages: 1,
    temperature: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    repetition_penalty: 1,
    top_p: 1,
    tokenizer_files: ['tokenizer.json', 'tokenizer_config.json'],
    tokenizer_info: spm
      ? { token_postproc_method: 'byte_fallback', prepend_space_in_encode: vocab.addSpacePrefix, strip_space_in_decode: vocab.addSpacePrefix }
      : { token_postproc_method: 'byte_level', prepend_space_in_encode: false, strip_space_in_decode: false },
    conv_template: {
      name: 'cria-raw',
      system_template: '{system_message}',
      system_message: '',
      system_prefix_token_ids: vocab.addBos && vocab.bos >= 0 ? [vocab.bos] : null,
      add_role_after_system_message: true,
      roles: { user: '', assistant: '', tool: '' },
      role_templates: { user: '{user_message}', assistant: '{assistant_message}', tool: '{tool_message}' },
      messages: [],
      seps: [''],
      role_content_sep: '',
      role_empty_sep: '',
      stop_str: [],
      stop_token_ids: [...vocab.eog].sort((a, b) => a - b),
      function_string: '',
      use_function_calling: false,
    },
    bos_token_id: id(vocab.bos),
    eos_token_id: id(vocab.eos),
    pad_token_id: id(vocab.pad) ?? 0,
    cria: { exported_from: 'gguf', name: c.name },
  };
}

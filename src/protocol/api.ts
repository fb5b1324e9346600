/**
 * The engine's interface, as the page sees it across the worker boundary.
 * Everything here is plain, structured-clone-safe data (a `File` and an
 * `ArrayBuffer` clone too); callbacks are comlink proxies. Request and
 * response shapes follow the OpenAI API where it has one (snake_case
 * fields), so code written for it ports over.
 */

/** Where a model comes from. */
export type ModelSource =
  /**
   * An http(s) URL (Hugging Face `resolve` URLs included). With a cache (the default in the
   * browser), it is downloaded into IndexedDB first, resumably, and later loads need no network;
   * `cache: false` reads it directly with Range requests instead. `chunkSize` (bytes, default
   * 32 MiB) only matters for a new download.
   */
  | {
      url: string;
      cache?: boolean;
      chunkSize?: number;
      /**
       * the whole file's SHA-256 (64 hex digits), when known (a catalogue entry, a Hugging Face LFS
       * file): the download is verified against it before the model counts as cached
       */
      sha256?: string;
    }
  /** a local file (picked or dropped); `cache: true` also keeps it in the cache */
  | { file: Blob & { name?: string }; cache?: boolean }
  | { bytes: ArrayBuffer; name?: string }
  /** a model already in the cache, by its id (see `listCachedModels`) */
  | { cached: string }
  /**
   * An ONNX causal LM in the Optimum / Transformers.js layout, run by onnxruntime-web. The repository
   * (`onnx/model.onnx` and its external data, `config.json`, `tokenizer.json`,
   * `tokenizer_config.json`, `generation_config.json`) is given as one of:
   * - `repo`: a Hugging Face repository id (`onnx-community/SmolLM2-135M-Instruct`), at `revision`
   *   (default `main`);
   * - `url`: the repository's base URL (its files are `url + path`), or the URL of a `.onnx` file
   *   (the repository is the folder above its `onnx/` folder, or its own folder);
   * - `files`: its files by path, e.g. from a picked folder (read directly, not cached).
   * Every file of a `repo` or `url` goes through the model cache (verified chunks, resume, quota,
   * one download across tabs), listed as one model whose id is `onnx:` + the base URL; `{ cached }`
   * with that id loads it again offline. `model`: another graph of the repository (default
   * `onnx/model.onnx`).
   */
  | { onnx: OnnxSource }
  /**
   * An MLC-compiled model run by WebLLM (@mlc-ai/web-llm, pinned: see src/runtimes/webllm/), on its own
   * WebGPU device. One of:
   * - `id`: a model of WebLLM's prebuilt list (e.g. `Qwen2.5-0.5B-Instruct-q4f16_1-MLC`); where the
   *   adapter lacks `shader-f16`, its q4f32_1 / q0f32 build is chosen instead and `ModelInfo.backend`
   *   says so;
   * - `model` + `modelLib`: custom weights (a folder with mlc-chat-config.json, ndarray-cache.json,
   *   params_shard_*.bin and tokenizer.json, e.g. written by `cria export mlc`) and the model library
   *   (.wasm) compiled for their shape. WebLLM reads the files at `model` + `resolve/main/` unless the
   *   URL already holds a `/resolve/…/` part.
   * WebLLM keeps the files in its own cache (the Cache API); Cria lists them (`mlc:` + the model URL)
   * and deletes them with its other models.
   */
  | { mlc: MlcSource };

/** Where an MLC model is: a prebuilt one by `id`, or custom weights at `model` with their library at `modelLib`. */
export interface MlcSource {
  id?: string;
  model?: string;
  modelLib?: string;
  /** a name for a custom model (default: the folder's) */
  name?: string;
}

/** Where an ONNX repository is (one of `repo`, `url`, `files`). */
export interface OnnxSource {
  repo?: string;
  revision?: string;
  url?: string;
  files?: Record<string, OnnxFile>;
  name?: string;
  model?: string;
}

/** A file of an ONNX repository. */
export type OnnxFile = Blob | ArrayBuffer | Uint8Array;

/** What runs a model: Cria's own engine (GGUF, on its WebGPU or WebAssembly backend), onnxruntime-web (ONNX), or WebLLM (MLC). */
export type RuntimeName = 'cria' | 'onnx' | 'webllm';

/** Options of one load (besides where the model comes from). */
export interface LoadOptions {
  /** cancel the load with `abort(requestId)` (the client makes one up and maps an AbortSignal onto it) */
  requestId?: string;
  /**
   * the context size to allocate (positions); beyond the model's training context if asked (RoPE
   * runs on; quality degrades past it). Absent: the training context, at most 4096, shortened to
   * what the memory budget holds (`ModelInfo.nCtxReason`)
   */
  nCtx?: number;
  /**
   * bytes the model may take in all (weights + KV cache + scratch); absent: the engine's default
   * (in browsers half of `navigator.deviceMemory`, 2 GiB where the browser does not say)
   */
  memoryBudgetBytes?: number;
  /**
   * where the model runs: `webgpu` (the GPU), `wasm` (WebAssembly on the CPU), or `auto` (the
   * default): WebGPU on a hardware adapter, WebAssembly where there is no WebGPU or only a software
   * adapter (SwiftShader, llvmpipe). `ModelInfo.backend` says what ran and why. Nothing switches
   * backend after a load: a GPU that fails later stays an error to act on.
   */
  backend?: BackendKind;
  /** WebAssembly: threads to use (default: the cores, at most 8; 1 where the page is not cross-origin isolated) */
  threads?: number;
  /** LoRA adapters to load with the model (as `loadAdapter`) and apply from the first request, each at its scale (default 1) */
  adapters?: { source: AdapterSource; id?: string; scale?: number }[];
}

/** The backends a model can run on; `reference` is the plain TypeScript one (ground truth, Node only). */
export type BackendKind = 'auto' | 'webgpu' | 'wasm';

/** What a loaded model runs on, and why. */
export interface BackendInfo {
  kind: 'webgpu' | 'wasm' | 'reference';
  /** the adapter (webgpu), the WebAssembly variant (wasm: simd or relaxed SIMD, shared memory or not) */
  detail: string;
  /** CPU threads (wasm); 1 for the others */
  threads: number;
  /** why this backend, in a sentence (asked for; or what `auto` found) */
  reason: string;
}

export interface LoadProgress {
  /**
   * open: reading the header; download: fetching into the cache; verify: hashing the download
   * against its known SHA-256 (loadedBytes = bytes hashed); repair: a corrupt or missing cached
   * chunk is being fetched again; upload: tensors to the device; compile: shaders; ready.
   */
  phase: 'open' | 'download' | 'verify' | 'repair' | 'upload' | 'compile' | 'ready';
  loadedBytes: number;
  totalBytes: number;
  /** the tensor being loaded, during `upload` */
  tensor?: string;
  /** during `download` */
  bytesPerSecond?: number;
  etaSeconds?: number;
  /** during `download`: bytes an interrupted download had already stored */
  resumedBytes?: number;
  /**
   * during `download`: why the chunks an interrupted download had stored were discarded and it
   * started over (the file changed on the server, or its server cannot prove it did not)
   */
  restarted?: string;
  /** during `repair`: which chunk, and why */
  chunk?: number;
  reason?: 'corrupt' | 'missing';
}

/** A model in the cache (complete, or a download that can be resumed). */
export interface CachedModel {
  id: string;
  name: string;
  url?: string;
  size: number;
  storedBytes: number;
  complete: boolean;
  chunks: number;
  chunksStored: number;
  createdAt: number;
  lastUsedAt?: number;
  /** a GGUF file, an ONNX repository (its files counted in `files`, their bytes summed), or an MLC model in WebLLM's cache (its weight shards counted) */
  format?: 'gguf' | 'onnx' | 'mlc';
  files?: number;
  /** an ONNX repository: the graph it holds (its path in the repository, e.g. onnx/model_q4.onnx) */
  model?: string;
}

export interface StorageInfo {
  /** bytes this site uses / may use, as the browser estimates them */
  usage: number;
  quota: number;
  /** the browser promised not to evict this site's data under storage pressure */
  persisted: boolean;
  /** bytes of cached models (complete and partial) */
  modelBytes: number;
}

export interface ModelInfo {
  /** the model's name (general.name) or file name */
  id: string;
  architecture: string;
  parameters: number;
  /** context length the model was trained with */
  contextLength: number;
  /** context size of this session */
  nCtx: number;
  /** why the context size is what it is, in a sentence (the training context, Cria's default, the memory budget, as asked) */
  nCtxReason: string;
  /** what the model takes at this context size, checked against the budget before anything was allocated */
  memory: { budgetBytes: number; weightBytes: number; kvCacheBytes: number; scratchBytes: number; totalBytes: number };
  /**
   * SHA-256 of the model's content (its header, then each tensor's SHA-256, in file order): the same
   * weights and metadata give the same hash under any name; evaluation runs are keyed by it
   */
  contentHash: string;
  /** bytes per tensor type, as in `cria inspect` */
  tensorTypes: Record<string, number>;
  vocabSize: number;
  hasChatTemplate: boolean;
  /** bytes of weights on the device */
  weightBytes: number;
  /**
   * how products with Q8_0/Q4_0 weights take their input: `int8` (quantized per block of 32, integer dot
   * products, as llama.cpp's CPU backend; the default on CPU adapters such as SwiftShader) or `f32`
   */
  activations: 'f32' | 'int8';
  /** where it runs: WebGPU or WebAssembly (threads), and why */
  backend: BackendInfo;
  /** what runs it: Cria's own engine, or onnxruntime-web (part of an evaluation run's identity) */
  runtime: RuntimeName;
  /** milliseconds from load() to ready */
  loadMs: number;
  /** where the weights came from this time */
  source: 'network' | 'cache' | 'file' | 'memory';
  /** the cache key, when the model is in the cache */
  cacheId?: string;
  /** bytes downloaded by this load (0 when it came from the cache) */
  downloadedBytes: number;
  /** LoRA adapters made ready for this model (Cria's own engine), with their scales in the current ones */
  adapters?: AdapterInfo[];
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * Tool calls (OpenAI's function calling; README "Tool calls"). A function the model may call: its
 * `name` (1–64 letters, digits, _ or -), what it does, and its arguments as a JSON Schema of an object.
 * `strict` is accepted; a call Cria constrains always follows the schema.
 */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

/**
 * `auto` (the default with tools): the model answers in text or calls tools; `none`: it answers in
 * text (the tools are not shown to it); `required`: it calls one or more tools; a named function:
 * it calls that one.
 */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

/** A call the model made: `arguments` is the JSON object of its arguments, as text. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A piece of a streamed tool call: the first one of a call has its id, type and name; the next ones add to `arguments`. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** An earlier answer that called tools (sent back in the conversation as the model gave it). */
export interface AssistantToolCallMessage {
  role: 'assistant';
  content: string | null;
  tool_calls: ToolCall[];
}

/** The result of a tool call, answering the call `tool_call_id` of the assistant message before it. */
export interface ToolMessage {
  role: 'tool';
  tool_call_id: string;
  content: string;
}

/** A message of a chat request: text, an answer that called tools, or a tool's result. */
export type ChatRequestMessage = ChatMessage | AssistantToolCallMessage | ToolMessage;

/** An answer: text, or tool calls with the text around them (null when there is none); either goes back into `messages` as it is. */
export type AssistantMessage = { role: 'assistant'; content: string; tool_calls?: undefined } | AssistantToolCallMessage;

/** Sampling, as the OpenAI API names it (plus top_k, min_p and repetition_penalty, as llama.cpp's server does). */
export interface SamplingRequest {
  /** most tokens to generate (default 512, at most what the context has room for) */
  max_tokens?: number;
  /** 0 = greedy; default 0.8 */
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  stop?: string | string[];
  /** return the log-probability of each generated token */
  logprobs?: boolean;
  /** with logprobs: this many most likely alternatives per position (0–20) */
  top_logprobs?: number;
  /** keep generating through end-of-generation tokens, up to max_tokens (llama.cpp's `ignore_eos`; for tests and benchmarks) */
  ignore_eos?: boolean;
  /**
   * The answer's format, enforced at every token (only tokens that keep the output valid can be
   * sampled, every sampling option still applied among them): `json_object` (a JSON object),
   * `json_schema` (JSON valid under `json_schema.schema`), or `text` (no constraint). A schema the
   * grammar engine cannot enforce is a `bad-argument` before any token. An answer cut by `max_tokens`
   * ends with `finish_reason: 'length'` (it is then incomplete, never silently "valid").
   */
  response_format?: ResponseFormat;
  /** a GBNF grammar (llama.cpp's notation, root rule `root`) the answer must follow; not with response_format */
  grammar?: string;
  /**
   * LoRA adapters for this request (loaded with `loadAdapter`), each at its scale (default 1; llama.cpp's
   * meaning: the product is multiplied by scale · alpha / rank). Absent: the engine's current ones
   * (`setAdapters`, or the load's `adapters`); `[]`: none, the base model. Cria's own engine only.
   */
  lora?: LoraRef[];
}

/** An adapter loaded with `loadAdapter`, applied at `scale` (default 1). */
export interface LoraRef {
  id: string;
  scale?: number;
}

/**
 * Where a LoRA adapter is: a GGUF file in llama.cpp's format (`general.type = adapter`, `adapter.type =
 * lora`; llama.cpp's convert_lora_to_gguf.py writes it, as does `cria finetune`). A URL goes through the
 * model cache like a model (listed there, offline afterwards; `cache: false` reads it directly); a
 * file or bytes are read as they are; `{ cached }` is an adapter already in the cache.
 */
export type AdapterSource = { url: string; cache?: boolean; sha256?: string } | { file: Blob & { name?: string }; cache?: boolean } | { bytes: ArrayBuffer; name?: string } | { cached: string };

/** A LoRA fine-tune's settings (every one optional; defaults: Alpaca-LoRA's recipe scaled to small models, README "Fine-tuning"). */
export interface FinetuneOptions {
  rank?: number;
  alpha?: number;
  /** peak learning rate (default 1e-3) */
  lr?: number;
  epochs?: number;
  /** examples per optimizer step (default 8) */
  batch_size?: number;
  /** warm-up steps (default 10) */
  warmup?: number;
  /** examples longer than this many tokens are cut (default 512, at most the model's context) */
  max_len?: number;
  /** share of the examples held out to measure the loss on (default 0.1) */
  held_out?: number;
  /** the matrices adapted in every layer (default: every attention and feed-forward one) */
  matrices?: readonly string[];
  seed?: number;
  /** a Jinja chat template to render the examples with (default: the model's; Alpaca's prompt without one) */
  chat_template?: string;
  /** the adapter's general.name */
  name?: string;
}

/** A fine-tune's data, read and split (before training starts). */
export interface FinetunePrepared {
  examples: number;
  format: 'alpaca' | 'chat';
  /** how examples are rendered: the model's chat template, the one given, or Alpaca's prompt */
  prompt: 'model template' | 'template given' | 'alpaca';
  train: number;
  held_out: number;
  train_tokens: number;
  learned_tokens: number;
  truncated: number;
  n_ctx: number;
  steps: number;
  trainable: number;
  /** the job was checkpointed before (the same model, examples and settings): training goes on from this step (0: from the start) */
  resumed_from_step: number;
}

export interface FinetuneOutcome {
  /** the adapter, a GGUF file in llama.cpp's LoRA format */
  adapter: Uint8Array;
  prepared: FinetunePrepared;
  /** held-out loss per learned token before training and after each epoch (null without held-out examples) */
  held_out_loss: (number | null)[];
  train_loss: number[];
  steps: number;
  seconds: number;
  tokens_per_s: number;
  /** stopped by an abort: the adapter holds what was trained until then */
  stopped_early: boolean;
  rank: number;
  alpha: number;
}

/** What `finetune` trains: a GGUF base model (any ModelSource Cria's engine loads, e.g. `{ cached }`) and the examples. */
export interface FinetuneRequest {
  model: ModelSource;
  /** JSON Lines: Alpaca records or chats (README "Fine-tuning") */
  data: string;
  options?: FinetuneOptions;
  request_id?: string;
}

/** A fine-tune's progress: the data prepared, then one event per optimizer step. */
export type FinetuneEvent =
  | { phase: 'prepared'; prepared: FinetunePrepared }
  | { phase: 'step'; epoch: number; epochs: number; step: number; steps: number; loss: number; lr: number; tokens_per_s: number; eta_s: number; held_out_loss?: number };

/** A LoRA adapter made ready for the loaded model (`ModelInfo.adapters`). */
export interface AdapterInfo {
  id: string;
  /** general.name, when the file has one */
  name?: string;
  /** adapter.lora.alpha (0: none) */
  alpha: number;
  /** the ranks of its pairs (distinct, ascending) */
  ranks: number[];
  /** how many of the model's matrices it adapts */
  matrices: number;
  /** bytes it takes on the device (its A and B in f32, fused like the model's weights) */
  bytes: number;
  /** where it came from this time */
  source: 'network' | 'cache' | 'file' | 'memory';
  cacheId?: string;
  /** its scale in the engine's current adapters (`setAdapters`), or null when it is not one of them */
  scale: number | null;
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null; description?: string } };

/** A request's output constraint, parsed (src/engine/request.ts): what the grammar engine compiles. */
export type OutputFormat = { type: 'json_object' } | { type: 'json_schema'; name: string; schema: Record<string, unknown> } | { type: 'grammar'; grammar: string } | TaggedJsonFormat;

/**
 * JSON objects between fixed texts (tool calls, src/engine/tools.ts): each tag is `begin`, then a
 * JSON value valid under `schema` (compact, as json_schema), then `end`. Without `triggers`, the
 * whole answer is one tag or more (several only when `multiple`, joined by `separator`); with
 * `triggers`, the answer is free text in which a trigger (a prefix of some tags' `begin`) starts a tag.
 */
export interface TaggedJsonFormat {
  type: 'tagged_json';
  /** `name`: what errors call the schema (a tool's name) */
  tags: { name?: string; begin: string; schema: Record<string, unknown>; end: string }[];
  separator: string;
  multiple: boolean;
  triggers?: string[];
}

export interface ChatCompletionRequest extends SamplingRequest {
  messages: ChatRequestMessage[];
  /** functions the model may call (not with response_format or grammar); README "Tool calls" */
  tools?: ToolDefinition[];
  /** default `auto` when there are tools */
  tool_choice?: ToolChoice;
  /** several calls in one answer (default true; Llama 3.x's format holds one) */
  parallel_tool_calls?: boolean;
  /** a Jinja chat template to use instead of the model's own (as vLLM's server allows); required for models without one */
  chat_template?: string;
  stream?: boolean;
  /** cancel with `abort(request_id)`; one is made up when absent */
  request_id?: string;
}

export interface CompletionRequest extends SamplingRequest {
  /** text (BOS added as the model says) or token ids (used as they are) */
  prompt: string | number[];
  stream?: boolean;
  request_id?: string;
  /** also return `prompt_logits`; the whole prompt is then evaluated (no cached prefix is reused) */
  prompt_logits?: boolean;
}

export type FinishReason = 'stop' | 'length';
/** a chat answer may also end in tool calls (all of them complete) */
export type ChatFinishReason = FinishReason | 'tool_calls';

export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** prompt tokens actually evaluated (a cached prefix is reused) */
  prefill_tokens: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  time_to_first_token_ms: number;
  /** with response_format / grammar / tools: milliseconds spent in the grammar engine (each step's mask, taking the sampled token) */
  constraint_ms?: number;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string; tool_calls?: ToolCallDelta[] };
    logprobs: { content: TokenLogprob[] } | null;
    finish_reason: ChatFinishReason | null;
  }[];
  /** only on the last chunk */
  usage?: Usage;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: 0;
    message: AssistantMessage;
    logprobs: { content: TokenLogprob[] } | null;
    finish_reason: ChatFinishReason;
  }[];
  usage: Usage;
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  /** the chunks' token_ids, concatenated, are the completion's token_ids */
  choices: { index: 0; text: string; token_ids: number[]; logprobs: { content: TokenLogprob[] } | null; finish_reason: FinishReason | null }[];
  /** only on the last chunk */
  usage?: Usage;
  /**
   * When the request asked for `prompt_logits` (on the last chunk, and on the completion):
   * the logits of every prompt position, row-major `n_prompt × n_vocab` float32; row i
   * predicts prompt token i + 1, the last row the first generated token.
   */
  prompt_logits?: Float32Array;
}

export type Completion = CompletionChunk & { usage: Usage; choices: (CompletionChunk['choices'][0] & { finish_reason: FinishReason })[] };

export interface ScoreRequest {
  /** conditioning text or ids (BOS added to text as the model says) */
  context: string | number[];
  /** what to score, after the context (text is tokenized without BOS) */
  continuation: string | number[];
  request_id?: string;
  /** LoRA adapters to score with (as in chat and completion requests); absent: the engine's current ones */
  lora?: LoraRef[];
}

export interface ScoreResult {
  context_tokens: number[];
  tokens: number[];
  /** log-probability of each continuation token */
  logprobs: number[];
  sum: number;
  /** every continuation token was the model's argmax */
  greedy: boolean;
}

export interface TokenizeOptions {
  /** add BOS/EOS as the model says (default true) */
  add_special?: boolean;
  /** match special-token text like <|im_start|> (default false) */
  parse_special?: boolean;
}

export interface DeviceInfo {
  /** what `deviceInfo()` describes: the WebGPU adapter, or the WebAssembly engine on the CPU */
  backend?: 'webgpu' | 'wasm';
  /** wasm: threads, and whether the page is cross-origin isolated (threads need it) */
  threads?: number;
  crossOriginIsolated?: boolean;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
  f16: boolean;
}

/** A short measurement of the adapter (src/gpu/kernels/bench_*): what decode speed it allows. */
export interface DeviceMeasurement {
  /** streaming read bandwidth of a large buffer, GB/s (10⁹ bytes) */
  readGBps: number;
  /** f32 multiply-add throughput, GFLOP/s (2 flops per multiply-add) */
  fmaGflops: number;
  /** bytes read per bandwidth run */
  bytes: number;
  /** wall time of the whole measurement */
  ms: number;
  /** how the runs were timed: GPU timestamps, or wall clock around submit → done */
  timing?: 'timestamp-query' | 'wall-clock';
  /** the adapter runs on the CPU (e.g. SwiftShader): smaller runs, and figures that say little about GPUs */
  cpuAdapter?: boolean;
}

export interface EngineStats {
  backend: string;
  dispatches: number;
  submits: number;
  bytesReadBack: number;
  buffersCreated: number;
  /** tokens produced by the forward pass so far (prefill + decode) */
  tokensEvaluated: number;
}

/** What the worker exposes. Implemented by src/engine/engine.ts (`satisfies EngineApi`). */
export interface EngineApi {
  load(source: ModelSource, onProgress?: (p: LoadProgress) => void, opts?: LoadOptions): Promise<ModelInfo>;
  unload(): Promise<void>;
  /** streams chunks through `onChunk` when `stream`; resolves with the whole completion either way */
  chatCompletion(req: ChatCompletionRequest, onChunk?: (c: ChatCompletionChunk) => void): Promise<ChatCompletion>;
  completion(req: CompletionRequest, onChunk?: (c: CompletionChunk) => void): Promise<Completion>;
  score(req: ScoreRequest): Promise<ScoreResult>;
  /** end a running request; it rejects with code `aborted` */
  abort(requestId: string): Promise<void>;
  tokenize(text: string, opts?: TokenizeOptions): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt?: boolean): Promise<string>;
  deviceInfo(): Promise<DeviceInfo>;
  /** measure the adapter's memory bandwidth and compute (takes about a second on a real GPU) */
  measureDevice(): Promise<DeviceMeasurement>;
  modelInfo(): Promise<ModelInfo | null>;
  /**
   * Make a LoRA adapter ready for the loaded model (checked against it: architecture, every adapted
   * matrix and its shape; memory checked before it is taken). `id`: how requests name it (default: the
   * file's general.name, else its file name). It is not applied until `setAdapters` or a request's
   * `lora` names it. Dropped with the model.
   */
  loadAdapter(source: AdapterSource, opts?: { id?: string; request_id?: string }, onProgress?: (p: LoadProgress) => void): Promise<AdapterInfo>;
  /** the adapters applied to requests that do not name theirs (`[]`: none, the base model); returns the model's facts */
  setAdapters(list: LoraRef[]): Promise<ModelInfo>;
  /**
   * A LoRA fine-tune of a GGUF model on examples (README "Fine-tuning"), on the CPU reference in the
   * engine's worker; the loaded model stays as it is. `abort(request_id)` stops it after the current
   * step with what was trained (`stopped_early`).
   */
  finetune(req: FinetuneRequest, onProgress?: (e: FinetuneEvent) => void): Promise<FinetuneOutcome>;
  stats(): Promise<EngineStats>;
  /** the model cache */
  listCachedModels(): Promise<CachedModel[]>;
  deleteCachedModel(id: string): Promise<void>;
  deleteAllCachedModels(): Promise<void>;
  storageInfo(): Promise<StorageInfo>;
}

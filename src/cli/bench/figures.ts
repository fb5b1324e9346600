/**
 * `cria bench` figures: what each engine measured (raw, per run), and the
 * report's figures computed from it the same way for every engine (pure
 * functions, unit-tested).
 *
 * Definitions, identical for all engines:
 * - load: wall clock until the model can generate. cold: from the HTTP
 *   server into an empty cache (Cria: IndexedDB; wllama: its own cache);
 *   warm: from that cache, in a new engine (Cria: a new worker and GPU
 *   device; wllama: a new instance). llama.cpp: from the file (mmap);
 *   cold is the first load in the process, warm the next ones (the file is
 *   in the OS page cache either way).
 * - time to first token at P prompt tokens: from the request to the first
 *   generated token being known; prefill tok/s = P / that time.
 * - decode tok/s: after the first token, (N − 1) one-token forward passes
 *   (each with its greedy pick) in the time they took; N generated tokens,
 *   end-of-generation tokens ignored.
 * - Cria's loads start in a new engine worker that is already up (it answered a first message): the
 *   worker's start is reported apart (`engine_start_ms`; on the dev server `cria bench` uses it loads
 *   the engine's modules one by one, which a built app does in one file), as wllama's load is
 *   measured in a page that has its code loaded.
 * - load parts (Cria, from its progress events): `prepare` until the first
 *   tensor is uploaded (opening the source, the header; cold: downloading
 *   into the cache), `upload` reading every tensor from the cache and
 *   uploading it to the GPU, `warmup` compiling the pipelines and the
 *   warm-up forward (src/engine/engine.ts warmUp).
 * - every figure is the median over the runs.
 */

/** Where a Cria load's time went (ms), from its progress events. */
export interface LoadParts {
  prepare: number;
  upload: number;
  warmup: number;
}

/**
 * Cria on WebGPU, Cria on WebAssembly, and the peers, in the order they run and are shown: the
 * browser engines (wllama; onnxruntime-web's WebAssembly and WebGPU execution providers on the ONNX
 * export of the same GGUF; WebLLM on its MLC export), then native llama.cpp.
 */
export const ENGINE_NAMES = ['cria', 'cria-wasm', 'wllama', 'ort-wasm', 'ort-webgpu', 'webllm', 'llamacpp'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
export const PEER_NAMES = ['wllama', 'ort-wasm', 'ort-webgpu', 'webllm', 'llamacpp'] as const;
export type PeerName = (typeof PEER_NAMES)[number];
/** onnxruntime-web's execution providers, run on `cria export onnx`'s export of the model (ort.ts) */
export const ORT_ENGINES = ['ort-wasm', 'ort-webgpu'] as const;
export type OrtEngineName = (typeof ORT_ENGINES)[number];
/** what `cria bench` runs without --peers (ORT and WebLLM need an export of the model first, WebLLM a model library too: asked for by name) */
export const DEFAULT_ENGINES: readonly EngineName[] = ['cria', 'cria-wasm', 'wllama', 'llamacpp'];
/** Cria's engines: each is compared (÷) with the peers and with the Cria engines before it */
export const CRIA_ENGINES = ['cria', 'cria-wasm'] as const;
export type CriaEngineName = (typeof CRIA_ENGINES)[number];

export const ENGINE_LABEL: Record<EngineName, string> = {
  cria: 'Cria (WebGPU)',
  'cria-wasm': 'Cria (Wasm)',
  wllama: 'wllama (Wasm)',
  'ort-wasm': 'ORT (Wasm EP)',
  'ort-webgpu': 'ORT (WebGPU EP)',
  webllm: 'WebLLM (WebGPU)',
  llamacpp: 'llama.cpp (native)',
};
/** short names in the ratio columns' headers, e.g. "Wasm/wllama" */
export const SHORT_LABEL: Record<EngineName, string> = { cria: 'WebGPU', 'cria-wasm': 'Wasm', wllama: 'wllama', 'ort-wasm': 'ORT-Wasm', 'ort-webgpu': 'ORT-WebGPU', webllm: 'WebLLM', llamacpp: 'llama.cpp' };

/** What each Cria engine is divided by: the peers, and for Cria-WASM also Cria-WebGPU. */
export function ratioTargets(subject: CriaEngineName): EngineName[] {
  return subject === 'cria' ? [...PEER_NAMES] : [...PEER_NAMES, 'cria'];
}

/** One prompt evaluated: P tokens, the time until the first generated token was known. */
export interface RawPrefill {
  tokens: number;
  ms: number;
}

/** One decode run: `tokens` generated; `steps` (= tokens − 1) forward passes after the first token, in `ms`. */
export interface RawDecode {
  tokens: number;
  steps: number;
  ms: number;
}

export interface RawRun {
  prefill: RawPrefill[];
  decode: RawDecode;
}

/** Counters of Cria's engine per decoded token (from the difference of two requests, see run.ts). */
export interface Structure {
  dispatches: number;
  submits: number;
  bytes_read_back: number;
  buffers_created: number;
  /** dispatches ÷ layers (the few dispatches outside the layers included) */
  dispatches_per_layer: number;
}

export interface EngineRaw {
  version: string;
  /** threads the engine computed with (peers) */
  threads?: number;
  /** startMs (Cria): starting a new engine worker before each load, not part of the load figures */
  loads: { coldMs: number[]; warmMs: number[]; coldParts?: LoadParts[]; warmParts?: LoadParts[]; startMs?: number[] };
  runs: RawRun[];
  /** Cria: the most GPU memory its device held at once (load, every prompt, decode) */
  gpuPeakBytes?: number;
  structure?: Structure;
  notes?: string[];
  /**
   * `--schema`: each run's decode under the bench's JSON Schema: N − 1 steps in `ms`; `constraintMs` the
   * grammar engine's time in the whole request (its mask at every step, the first included), `totalMs` the request's
   */
  schemaDecode?: { steps: number; ms: number; constraintMs: number; totalMs: number }[];
}

/** What the report says of one engine. Field names are a stable interface (JSON). */
export interface EngineFigures {
  ok: true;
  version: string;
  threads: number | null;
  load_cold_ms: number | null;
  load_warm_ms: number | null;
  /** Cria: the parts of its loads (median of each part), null for peers */
  load_cold_parts_ms: LoadParts | null;
  load_warm_parts_ms: LoadParts | null;
  /** Cria: starting its engine worker (new Worker → its first answer), before and apart from each load; null for peers */
  engine_start_ms?: number | null;
  /** by prompt length */
  time_to_first_token_ms: Record<string, number>;
  prefill_tokens_per_s: Record<string, number>;
  decode_tokens_per_s: number;
  /** tokens generated per decode run */
  decode_tokens: number;
  gpu_peak_bytes: number | null;
  structure_per_token: Structure | null;
  /** `--schema`: decode tok/s under a JSON Schema, and the grammar engine's share of that request's time */
  decode_tokens_per_s_schema?: number | null;
  schema_constraint_share?: number | null;
  notes: string[];
  /** every run's raw figures */
  raw: EngineRaw;
}

export interface EngineFailure {
  ok: false;
  error: string;
  code?: string;
  /** not run: something it needs was not given (WebLLM without --webllm-lib); `error` says what */
  skipped?: true;
}

export type EngineReport = EngineFigures | EngineFailure;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const medianOrNull = (xs: readonly number[]) => (xs.length ? median(xs) : null);

const partsMedian = (ps?: readonly LoadParts[]): LoadParts | null =>
  ps?.length ? { prepare: median(ps.map((p) => p.prepare)), upload: median(ps.map((p) => p.upload)), warmup: median(ps.map((p) => p.warmup)) } : null;

/** A load's parts from the times its phases began (ms since the start) and its total. */
export function loadParts(phaseStartMs: Partial<Record<string, number>>, totalMs: number): LoadParts | undefined {
  const upload = phaseStartMs.upload;
  const compile = phaseStartMs.compile;
  if (upload === undefined || compile === undefined) return undefined;
  return { prepare: upload, upload: compile - upload, warmup: totalMs - compile };
}

export function engineFigures(raw: EngineRaw): EngineFigures {
  const ttft: Record<string, number> = {};
  const prefill: Record<string, number> = {};
  const lengths = [...new Set(raw.runs.flatMap((r) => r.prefill.map((p) => p.tokens)))];
  for (const n of lengths) {
    const ms = raw.runs.flatMap((r) => r.prefill.filter((p) => p.tokens === n).map((p) => p.ms));
    ttft[n] = median(ms);
    prefill[n] = median(ms.map((m) => (1000 * n) / m));
  }
  const decode = raw.runs.map((r) => r.decode);
  return {
    ok: true,
    version: raw.version,
    threads: raw.threads ?? null,
    load_cold_ms: medianOrNull(raw.loads.coldMs),
    load_warm_ms: medianOrNull(raw.loads.warmMs),
    load_cold_parts_ms: partsMedian(raw.loads.coldParts),
    load_warm_parts_ms: partsMedian(raw.loads.warmParts),
    engine_start_ms: raw.loads.startMs ? medianOrNull(raw.loads.startMs) : null,
    time_to_first_token_ms: ttft,
    prefill_tokens_per_s: prefill,
    decode_tokens_per_s: median(decode.map((d) => (1000 * d.steps) / d.ms)),
    decode_tokens: decode[0]?.tokens ?? 0,
    gpu_peak_bytes: raw.gpuPeakBytes ?? null,
    structure_per_token: raw.structure ?? null,
    ...(raw.schemaDecode
      ? {
          decode_tokens_per_s_schema: median(raw.schemaDecode.map((d) => (1000 * d.steps) / d.ms)),
          schema_constraint_share: median(raw.schemaDecode.map((d) => d.constraintMs / d.totalMs)),
        }
      : {}),
    notes: raw.notes ?? [],
    raw,
  };
}

/** A Cria engine ÷ another engine, figure by figure (for times, below 1 means Cria is faster; for rates, above 1). */
export interface Ratios {
  load_cold_ms: number | null;
  load_warm_ms: number | null;
  time_to_first_token_ms: Record<string, number | null>;
  prefill_tokens_per_s: Record<string, number | null>;
  decode_tokens_per_s: number | null;
}

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || !(b > 0) || !Number.isFinite(a) ? null : a / b);

export function ratios(cria: EngineFigures, peer: EngineFigures): Ratios {
  const keyed = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(a).map((k) => [k, ratio(a[k], b[k])]));
  return {
    load_cold_ms: ratio(cria.load_cold_ms, peer.load_cold_ms),
    load_warm_ms: ratio(cria.load_warm_ms, peer.load_warm_ms),
    time_to_first_token_ms: keyed(cria.time_to_first_token_ms, peer.time_to_first_token_ms),
    prefill_tokens_per_s: keyed(cria.prefill_tokens_per_s, peer.prefill_tokens_per_s),
    decode_tokens_per_s: ratio(cria.decode_tokens_per_s, peer.decode_tokens_per_s),
  };
}

/** The adapter's ceiling and where Cria's decode sits under it. */
export interface Roofline {
  /** measured streaming read bandwidth, GB/s (10⁹ B) */
  read_gb_per_s: number;
  /** measured f32 multiply-add throughput, GFLOP/s */
  fma_gflop_per_s: number;
  /** how the adapter measurement was timed */
  timing: string | null;
  /** weight bytes a decode step reads (see model-facts.ts) */
  weight_bytes_per_token: number;
  /** bandwidth ÷ weight bytes per token: the decode speed the adapter allows */
  decode_ceiling_tokens_per_s: number;
  /** Cria's decode tok/s × weight bytes per token, GB/s */
  cria_weight_gb_per_s: number | null;
  /** cria_weight_gb_per_s ÷ read_gb_per_s */
  efficiency: number | null;
}

export function roofline(readGBps: number, fmaGflops: number, timing: string | null, weightBytesPerToken: number, criaDecodeTokensPerS: number | null): Roofline {
  const achieved = criaDecodeTokensPerS == null ? null : (criaDecodeTokensPerS * weightBytesPerToken) / 1e9;
  return {
    read_gb_per_s: readGBps,
    fma_gflop_per_s: fmaGflops,
    timing,
    weight_bytes_per_token: weightBytesPerToken,
    decode_ceiling_tokens_per_s: (readGBps * 1e9) / weightBytesPerToken,
    cria_weight_gb_per_s: achieved,
    efficiency: achieved == null || !(readGBps > 0) ? null : achieved / readGBps,
  };
}

/**
 * Cria's structure per decoded token from two requests on the same prompt length: one that
 * generates 2 tokens (prefill + 1 decode step) and one that generates N (prefill + N − 1 steps).
 * Their difference is N − 2 steady decode steps: the prefill, and the first step's one-off work
 * (pipelines of a new variant, pool buffers of new sizes), cancel out.
 */
export function structurePerToken(
  short: { dispatches: number; submits: number; bytesReadBack: number; buffersCreated: number },
  long: { dispatches: number; submits: number; bytesReadBack: number; buffersCreated: number },
  steps: number,
  nLayer: number,
): Structure {
  const per = (k: keyof typeof short) => (long[k] - short[k]) / steps;
  const dispatches = per('dispatches');
  return {
    dispatches,
    submits: per('submits'),
    bytes_read_back: per('bytesReadBack'),
    buffers_created: per('buffersCreated'),
    dispatches_per_layer: nLayer > 0 ? dispatches / nLayer : NaN,
  };
}

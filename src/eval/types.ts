/**
 * On-device evaluation: the shared vocabulary of tasks, items, results,
 * runs and reports. Everything here is plain JSON (runs are stored in
 * IndexedDB item by item and reports are exported as files), and the code in
 * src/eval/ talks to a model only through `EvalTarget` — in the browser the
 * client API (`fromClient`), so evaluation measures exactly what users get.
 */
import type { ChatMessage, DeviceInfo, EngineStats, ModelInfo, RuntimeName, ScoreRequest, ScoreResult } from '../protocol/api.ts';

/** How a generation ended, and what it cost (the engine's `usage`). */
export interface GenerationUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  time_to_first_token_ms: number;
  /** prompt tokens actually evaluated (a cached prefix is reused); absent when the target does not say */
  prefill_tokens?: number;
}

export interface GenerationOutput {
  text: string;
  finish_reason: 'stop' | 'length';
  usage: GenerationUsage;
}

/** Per-call options: an abort signal ends the request in the engine. */
export interface TargetCallOptions {
  signal?: AbortSignal;
}

/** What an evaluation needs from a loaded model. */
export interface EvalTarget {
  modelInfo(): Promise<ModelInfo | null>;
  deviceInfo?(): Promise<DeviceInfo>;
  tokenize(text: string, opts?: { add_special?: boolean; parse_special?: boolean }): Promise<number[]>;
  /** ids → text (a leading BOS drops the first token's space prefix, as the engine's detokenize does); used for bits per byte */
  detokenize?(ids: number[]): Promise<string>;
  /** log-probabilities of `continuation` after `context` (the engine reuses a shared context prefix) */
  score(req: ScoreRequest, opts?: TargetCallOptions): Promise<ScoreResult>;
  /** a whole chat answer (greedy when temperature is 0) */
  /** `grammar`: a GBNF grammar the answer must follow (the judge's constrained verdict) */
  chat(req: { messages: ChatMessage[]; max_tokens: number; temperature: number; seed?: number; stop?: string[]; chat_template?: string; grammar?: string }, opts?: TargetCallOptions): Promise<GenerationOutput>;
  /** a raw-prompt completion (for generation tasks on base models); `ignore_eos` keeps decoding to max_tokens (speed) */
  complete(req: { prompt: string | number[]; max_tokens: number; temperature: number; seed?: number; stop?: string[]; ignore_eos?: boolean }, opts?: TargetCallOptions): Promise<GenerationOutput>;
  stats(): Promise<EngineStats>;
}

/** The kinds of task, each with its own item shape and metrics (src/eval/kinds/<kind>.ts). */
export type TaskKind = 'perplexity' | 'multiple-choice' | 'letter-choice' | 'generation' | 'judge-single' | 'judge-pairwise' | 'speed';

/** One perplexity document. */
export interface PerplexityItem {
  id: string;
  text: string;
}

/**
 * One multiple-choice question, lm-evaluation-harness style: the model's
 * log-likelihood of each continuation after the shared context.
 * `letter-choice` tasks use the same items, ColossalEval style: the options
 * are listed with letters in the prompt and the next-token probability of
 * each letter decides.
 */
export interface ChoiceItem {
  id: string;
  category?: string;
  /** shared context (e.g. "Question: …\nAnswer:") */
  context: string;
  /** continuations (e.g. " Paris") */
  choices: string[];
  /** index of the right choice */
  gold: number;
  /** for letter-choice: the question text and option texts shown with letters */
  question?: string;
}

/** A generation item checked by exact match after extraction. */
export interface GenerationItem {
  id: string;
  category?: string;
  prompt: string;
  /** accepted answers (compared after extraction and normalization) */
  answers: string[];
  /** a regex whose first capture group (or whole match) is the extracted answer; default: the whole trimmed output */
  extract?: string;
  max_tokens?: number;
}

/** A judged question (MT-bench / Vicuna style): one or two turns, an optional reference answer. */
export interface JudgeItem {
  id: string;
  category: string;
  turns: string[];
  reference?: string[];
}

/** One speed measurement: a fixed prompt, then `max_tokens` decoded (end-of-generation ignored). */
export interface SpeedItem {
  id: string;
  /** the prompt text; it is tokenized and cut to `prompt_tokens` (and to what the context leaves room for) */
  prompt: string;
  prompt_tokens?: number;
  max_tokens: number;
  /** a warm-up run: measured but left out of the metrics */
  warmup?: boolean;
}

export type TaskItem = PerplexityItem | ChoiceItem | GenerationItem | JudgeItem | SpeedItem;

/** A task: items plus what to do with them. Users can write one as JSON/JSONL (docs/eval-format.md). */
export interface Task {
  /** stable name, e.g. "hellaswag", "mmlu", "mt-bench" */
  name: string;
  /** bump when items or scoring change, so runs of different versions are not compared */
  version: string;
  kind: TaskKind;
  /** where the data came from (URL, file name, fixture) */
  source: string;
  items: TaskItem[];
  /** kind-specific settings, e.g. { window: 512, method: 'llama.cpp' } or { shots: 0 } */
  options?: Record<string, unknown>;
}

/** The result of one item, stored as soon as it is done (a run resumes item by item). */
export interface ItemResult {
  id: string;
  category?: string;
  /** multiple choice: per-choice log-likelihood sums and byte lengths, chosen index, correct? */
  /** `chars`: code points of each choice (acc_norm divides by them, as lm-eval); absent in runs stored before Cria divided by characters */
  choice?: { logprobs: number[]; bytes: number[]; chars?: number[]; pred: number; predNorm: number; gold: number; greedy?: boolean[] };
  /** perplexity: summed negative log-likelihood (nats), tokens scored, bytes of text; `sumSq` (Σ nll², for llama.cpp's ± estimate) */
  nll?: { sum: number; tokens: number; bytes: number; sumSq?: number };
  /** generation: the output, what was extracted, whether it matched */
  generation?: { output: string; extracted: string; correct: boolean };
  /** judged: the answers and the judge's verdicts (raw text kept: unparseable ones are counted and shown) */
  judge?: {
    /** contestant A's answer per turn */
    answers: string[];
    /** pairwise: contestant B's answer per turn */
    answersB?: string[];
    /** single grading: 1–10 per turn, null when the verdict could not be parsed */
    ratings?: (number | null)[];
    /** pairwise with relative scoring: B's single grades per turn */
    ratingsB?: (number | null)[];
    /**
     * pairwise: per turn, the two judgements (A-first and B-first orders), both expressed for the
     * contestants (A = contestant A won), and the combined outcome: agreement → that winner,
     * disagreement → tie (as FastChat counts it), null when either verdict could not be parsed
     */
    pairwise?: { ab: 'A' | 'B' | 'tie' | null; ba: 'A' | 'B' | 'tie' | null; outcome: 'A' | 'B' | 'tie' | null }[];
    /** the judge's raw outputs, in the order of `judgements` */
    verdicts: string[];
    /** every judge call: which turn, what was judged, with which prompt, what it said and what was parsed */
    judgements?: Judgement[];
    /** failures while answering or judging (e.g. a prompt longer than the context), as "A turn 2: message" */
    errors?: string[];
  };
  /** speed measurements */
  speed?: { loadMs?: number; ttftMs: number; prefillTps: number; decodeTps: number; promptTokens: number; genTokens: number };
  /** forward tokens the engine evaluated for this item (shared-context reuse shows here) */
  tokensEvaluated?: number;
  ms: number;
  error?: { code: string; message: string };
}

/** One call of the judge model. */
export interface Judgement {
  /** 0-based turn */
  turn: number;
  /** single-A / single-B: one answer graded; pair-AB: A shown first; pair-BA: B shown first (as "Assistant A") */
  mode: 'single-A' | 'single-B' | 'pair-AB' | 'pair-BA';
  /** the judge prompt's name (judge_prompts.jsonl), e.g. "single-v1", "pair-math-v1-multi-turn" */
  prompt: string;
  raw: string;
  /** rating (single), winner in contestant terms (pairwise), null when unparseable */
  parsed: number | 'A' | 'B' | 'tie' | null;
  /** the judge answered under the verdict's grammar (option constrain_verdict; absent in runs stored before it existed) */
  constrained?: boolean;
  error?: string;
}

/** Identity of what was evaluated, recorded with every run. */
export interface RunIdentity {
  /** `contentHash`: ModelInfo.contentHash; a run resumes only with the same (absent in runs stored before it existed) */
  /**
   * `runtime`: what ran the model (Cria's own engine on a GGUF, or onnxruntime-web on an ONNX
   * repository), so runs of one task through two runtimes compare side by side (absent in runs
   * stored before there were two: Cria's own)
   */
  model: {
    id: string;
    contentHash?: string;
    cacheId?: string;
    architecture: string;
    parameters: number;
    tensorTypes: Record<string, number>;
    nCtx?: number;
    runtime?: RuntimeName;
    /** LoRA adapters applied to every request (Cria's own engine): a tuned model's runs are told apart from its base's */
    adapters?: { name: string; cacheId?: string; scale: number }[];
  };
  /** for judged pairwise tasks: the second contestant; for judged tasks: the judge */
  modelB?: RunIdentity['model'];
  judge?: RunIdentity['model'];
  engine: { name: 'cria'; version: string; backend: string };
  device?: { vendor: string; architecture: string; description: string; f16: boolean };
  seed: number;
  /** `options`: the task's settings that change results (n_ctx, method, max_tokens, …; judge prompts by name only) */
  task: { name: string; version: string; kind: TaskKind; source: string; items: number; options?: Record<string, unknown> };
}

export interface Run {
  id: string;
  createdAt: number;
  updatedAt: number;
  status: 'running' | 'done' | 'failed' | 'stopped';
  identity: RunIdentity;
  /** item ids done so far (results are stored separately, one record per item) */
  done: number;
  total: number;
}

/** The report `cria eval` writes and the app renders. Field names are a stable interface. */
export interface EvalReport {
  task: string;
  model: string;
  n: number;
  metrics: {
    acc?: number;
    acc_stderr?: number;
    acc_norm?: number;
    acc_norm_stderr?: number;
    ppl?: number;
    bits_per_byte?: number;
    exact_match?: number;
    /** judged single: mean rating 1–10 */
    score?: number;
    /** judged pairwise: win/tie/loss rates of model A, and "A reaches X% of B" (total score A / total score B) */
    win_rate?: number;
    tie_rate?: number;
    loss_rate?: number;
    relative_score?: number;
    /** judged: verdicts that could not be parsed */
    unparseable?: number;
    /** judged: verdicts asked under the verdict's grammar (option constrain_verdict) */
    constrained_verdicts?: number;
    ttft_ms?: number;
    prefill_tokens_per_s?: number;
    decode_tokens_per_s?: number;
    load_ms?: number;
    [k: string]: number | undefined;
  };
  per_category: Record<string, { n: number } & Record<string, number>>;
  identity: RunIdentity;
  /** when the run finished; ISO 8601 */
  date: string;
  items?: ItemResult[];
}

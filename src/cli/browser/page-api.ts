/**
 * The contract between the `cria` CLI (Node, src/cli/browser-engine.ts) and
 * its page in headless Chromium (src/cli/browser/engine.ts). Types only, so
 * both sides import it.
 *
 * The page puts `window.criaCli` up; the CLI calls it with page.evaluate.
 * Everything crossing is JSON: page.evaluate keeps only an error's message,
 * so failures come back as values carrying the CriaError code, and the prompt
 * logits travel as base64 of their float32 bytes.
 */
import type { AdapterInfo, ChatCompletion, ChatCompletionRequest, CompletionRequest, DeviceInfo, EngineStats, FinishReason, LoadOptions, LoadProgress, ModelInfo, ModelSource, ScoreRequest, ScoreResult, TokenizeOptions, Usage } from '../../protocol/api.ts';
import type { SerializedError } from '../../protocol/errors.ts';
import type { EvalReport, ModelRole, Run, Task } from '../../eval/index.ts';

export type PageResult<T> = { ok: T } | { error: SerializedError };

/** A text completion as the CLI needs it (assembled from the streamed chunks). */
export interface PageCompletion {
  tokens: number[];
  text: string;
  finish_reason: FinishReason;
  usage: Usage;
  /** with `prompt_logits` requested: base64 of the little-endian float32 rows (n_prompt × n_vocab) */
  prompt_logits_base64?: string;
}

/** A model for one role of an evaluation: where the page loads it from. */
export interface PageModel {
  /** a GGUF's URL, or with `onnx` an ONNX repository's base URL (or a .onnx file's URL) */
  url: string;
  /** through the engine's IndexedDB model cache (an ONNX repository always goes through it) */
  cache: boolean;
  onnx?: boolean;
}

/** The source the page loads for a PageModel. */
export function pageSource(m: PageModel): ModelSource {
  if (!m.onnx) return { url: m.url, cache: m.cache };
  return /\.onnx$/i.test(new URL(m.url).pathname) ? { url: m.url } : { onnx: { url: m.url } };
}

/** What a stored run must match to be resumed by `cria eval --resume` (see commands/eval.ts). */
export interface ResumeMatch {
  /** per role, what the model's GGUF header says (null when it could not be read: not compared) */
  models: Partial<Record<ModelRole, { name: string | null; architecture: string; parameters: number; tensorTypes: Record<string, number> } | null>>;
}

export interface PageEvalRequest {
  task: Task;
  models: Partial<Record<ModelRole, PageModel>>;
  /** continue the newest unfinished stored run of this task that matches (none: start a new run) */
  resume?: ResumeMatch;
  seed?: number;
}

export interface PageEvalOutcome {
  run: Run;
  report: EvalReport;
  /** the run continued (its id), when one was resumed */
  resumed?: string;
  /** units computed by this call (the rest were stored), by phase: "items", "answers A", "answers B", "judging" */
  computed: Record<string, number>;
}

/** Progress of an evaluation, forwarded to the CLI (at most a few times a second, and at every phase change). */
export interface PageEvalProgress {
  runId: string;
  phase: 'load' | 'items' | 'answers' | 'judging';
  role?: ModelRole;
  done: number;
  total: number;
  /** item-level errors (e.g. context-overflow) among the units computed so far by this call */
  errors: number;
}

export interface CliPage {
  /** load the model at `url` (progress goes to `window.criaCliProgress`); `cache`: through the engine's IndexedDB cache */
  load(model: PageModel, opts?: LoadOptions): Promise<PageResult<ModelInfo>>;
  /** make a LoRA adapter at `model`'s URL ready for the loaded model under `id` */
  loadAdapter(model: PageModel, id: string): Promise<PageResult<AdapterInfo>>;
  tokenize(text: string, opts: TokenizeOptions): Promise<PageResult<number[]>>;
  /** run a completion; with `streamText`, each piece of text goes to `window.criaCliText` as it is released */
  complete(req: CompletionRequest, streamText: boolean): Promise<PageResult<PageCompletion>>;
  /** run a chat completion (streamed as `complete`); the result is the assembled ChatCompletion */
  chat(req: ChatCompletionRequest, streamText: boolean): Promise<PageResult<ChatCompletion>>;
  /** end the running completion or chat (it ends with code "aborted") */
  abort(): Promise<void>;
  score(req: ScoreRequest): Promise<PageResult<ScoreResult>>;
  deviceInfo(): Promise<PageResult<DeviceInfo>>;
  stats(): Promise<PageResult<EngineStats>>;
  /** run (or resume) an evaluation with runTask in this page, stored in its IndexedDB (database cria-eval) */
  runEval(req: PageEvalRequest): Promise<PageResult<PageEvalOutcome>>;
  /** stop the running evaluation: its runEval ends with code "aborted", the run stored as "stopped" */
  stopEval(): Promise<void>;
}

/** What the CLI exposes to the page (page.exposeFunction). */
export interface CliBindings {
  criaCliProgress(p: LoadProgress): Promise<void>;
  criaCliText(text: string): Promise<void>;
  criaCliEvalProgress(p: PageEvalProgress): Promise<void>;
}

declare global {
  interface Window extends Partial<CliBindings> {
    criaCli?: CliPage;
  }
}

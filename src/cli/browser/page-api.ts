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
import type { CompletionRequest, DeviceInfo, EngineStats, FinishReason, LoadProgress, ModelInfo, ScoreRequest, ScoreResult, TokenizeOptions, Usage } from '../../protocol/api.ts';
import type { SerializedError } from '../../protocol/errors.ts';

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

export interface CliPage {
  /** load the model at `url` (progress goes to `window.criaCliProgress`); `cache`: through the engine's IndexedDB cache */
  load(url: string, cache: boolean): Promise<PageResult<ModelInfo>>;
  tokenize(text: string, opts: TokenizeOptions): Promise<PageResult<number[]>>;
  /** run a completion; with `streamText`, each piece of text goes to `window.criaCliText` as it is released */
  complete(req: CompletionRequest, streamText: boolean): Promise<PageResult<PageCompletion>>;
  score(req: ScoreRequest): Promise<PageResult<ScoreResult>>;
  deviceInfo(): Promise<PageResult<DeviceInfo>>;
  stats(): Promise<PageResult<EngineStats>>;
}

/** What the CLI exposes to the page (page.exposeFunction). */
export interface CliBindings {
  criaCliProgress(p: LoadProgress): Promise<void>;
  criaCliText(text: string): Promise<void>;
}

declare global {
  interface Window extends Partial<CliBindings> {
    criaCli?: CliPage;
  }
}

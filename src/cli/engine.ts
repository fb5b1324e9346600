/**
 * The engines the CLI can run a model on (`--engine`), both the product's `Engine` behind the
 * same request path (src/engine/request.ts): `webgpu` (the default) is that engine in its Web
 * Worker, through the client, in headless Chromium (browser-engine.ts); `cpu` is that engine on
 * the CPU reference backend, in this process (cpu-engine.ts). Commands drive either one through
 * `CliEngine`, so "CPU against WebGPU" compares two backends, not two programs.
 */
import { CriaError } from '../shared/errors.ts';
import type { AdapterInfo, ChatCompletion, ChatCompletionRequest, CompletionRequest, DeviceInfo, LoadOptions, LoadProgress as EngineLoadProgress, ModelInfo, ScoreRequest, ScoreResult, TokenizeOptions, Usage, FinishReason } from '../protocol/api.ts';
import type { ModelLocation } from './model-source.ts';

/** A text completion as the CLI needs it (assembled from the streamed chunks). */
export interface CliCompletion {
  tokens: number[];
  text: string;
  finish_reason: FinishReason;
  usage: Usage;
  /** with `prompt_logits` requested: every prompt position's logits (n_prompt × n_vocab) */
  promptLogits?: Float32Array;
}

/** One loaded engine, as every command drives it. */
export interface CliEngine {
  readonly name: EngineName;
  /** load the model the engine was started for; progress as the engine reports it */
  load(onProgress?: (p: EngineLoadProgress) => void, opts?: Omit<LoadOptions, 'requestId' | 'adapters'>): Promise<ModelInfo>;
  /** make a LoRA adapter (a local GGUF file or a URL) ready for the loaded model under `id`; requests name it in `lora` */
  loadAdapter(location: { path: string } | { url: string }, id: string): Promise<AdapterInfo>;
  tokenize(text: string, opts: TokenizeOptions): Promise<number[]>;
  /** `onText` receives the text as it is released (streaming) */
  complete(req: CompletionRequest, onText?: (text: string) => void): Promise<CliCompletion>;
  chat(req: ChatCompletionRequest, onText?: (text: string) => void): Promise<ChatCompletion>;
  score(req: ScoreRequest): Promise<ScoreResult>;
  /** end the running completion or chat (it rejects with code "aborted"); nothing when none runs */
  abort(): Promise<void>;
  /** the adapter (webgpu); the CPU engine has none */
  deviceInfo(): Promise<DeviceInfo>;
}

/**
 * What a command does with Ctrl-C / SIGTERM while an engine runs: `handled` (e.g. an answer was
 * stopped; the command goes on), `exit` (tear down and quit now), or nothing (the first signal
 * asks the command to stop cleanly, a second one quits at once).
 */
export type OnInterrupt = (signal: NodeJS.Signals) => void | 'handled' | 'exit';

/** A process signal handler with `OnInterrupt`'s meaning; `quit` tears down and exits. */
export function signalHandler(onInterrupt: OnInterrupt | undefined, quit: (signal: NodeJS.Signals) => void): (signal: NodeJS.Signals) => void {
  let interrupts = 0;
  return (signal) => {
    const name = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    if (onInterrupt) {
      const answer = onInterrupt(signal);
      if (answer === 'handled') return;
      if (answer !== 'exit' && interrupts++ === 0) {
        process.stderr.write(`\ncria: stopping (${name} again quits at once)\n`);
        return;
      }
    }
    process.stderr.write(`\ncria: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}\n`);
    quit(signal);
  };
}

export interface WithEngineOptions {
  /** --cache DIR (webgpu only) */
  cacheDir?: string;
  /** --threads N (cpu only) */
  threads?: number;
  onInterrupt?: OnInterrupt;
}

/** `--cache DIR` keeps the browser profile of the webgpu engine: refused with the others (checked before anything is opened). */
export function checkCacheOption(engine: EngineName, cacheDir: unknown): void {
  if (cacheDir !== undefined && engine !== 'webgpu') throw new CriaError('bad-argument', `--cache keeps the browser profile of the webgpu engine; it does not apply to --engine ${engine}`);
}

/** `--threads N` (the cpu engine's WebAssembly threads); default: the cores, at most 8. */
export function parseThreads(v: string | boolean | undefined, engine: EngineName): number | undefined {
  if (v === undefined) return undefined;
  if (engine !== 'cpu') throw new CriaError('bad-argument', `--threads sets the WebAssembly threads of --engine cpu; it does not apply to --engine ${engine}`);
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1 || n > 64) throw new CriaError('bad-argument', `--threads must be a whole number from 1 to 64, got "${String(v)}"`);
  return n;
}

/** Start `engine` for the model at `location`, run `fn`, and always tear it down. */
export async function withEngine<T>(engine: EngineName, location: ModelLocation, fn: (e: CliEngine) => Promise<T>, opts: WithEngineOptions = {}): Promise<T> {
  checkCacheOption(engine, opts.cacheDir);
  if (engine === 'cpu' || engine === 'reference') {
    const { withCpuEngine } = await import('./cpu-engine.ts');
    return withCpuEngine(engine, location, fn, { ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...(opts.onInterrupt ? { onInterrupt: opts.onInterrupt } : {}) });
  }
  // loaded on demand: the CPU path and the other commands never pay for Vite and Playwright
  const { withBrowserEngine } = await import('./browser-engine.ts');
  return withBrowserEngine(location, fn, { cacheDir: opts.cacheDir, ...(opts.onInterrupt ? { onInterrupt: opts.onInterrupt } : {}) });
}

/**
 * webgpu: the WebGPU backend in headless Chromium; cpu: the WebAssembly backend in Node (threads);
 * reference: the plain TypeScript backend in Node, the ground truth the others are checked against.
 */
export const ENGINES = ['webgpu', 'cpu', 'reference'] as const;
export type EngineName = (typeof ENGINES)[number];

export function parseEngine(v: string | boolean | undefined): EngineName {
  const name = typeof v === 'string' ? v : 'webgpu';
  if (!(ENGINES as readonly string[]).includes(name)) throw new CriaError('bad-argument', `--engine must be one of ${ENGINES.join(', ')}, got "${name}"`);
  return name as EngineName;
}

/** A short name for the adapter, e.g. "google swiftshader (fallback adapter)". */
export function deviceName(d: DeviceInfo): string {
  const name = [d.vendor, d.architecture, d.device, d.description].filter(Boolean).join(' ') || 'unknown adapter';
  return d.isFallbackAdapter ? `${name} (fallback adapter)` : name;
}

/** Progress on stderr when it is a terminal (never mixed into stdout's JSON). */
export function stderrProgress(label: string): ((p: { loadedBytes: number; totalBytes: number }) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 100 && p.loadedBytes < p.totalBytes) return;
    last = now;
    const pct = p.totalBytes ? ((100 * p.loadedBytes) / p.totalBytes).toFixed(0) : '100';
    process.stderr.write(`\r${label}: ${pct}% (${(p.loadedBytes / 1048576).toFixed(1)} / ${(p.totalBytes / 1048576).toFixed(1)} MiB)`);
    if (p.loadedBytes >= p.totalBytes) process.stderr.write('\n');
  };
}

/** The engine's load progress on stderr when it is a terminal: bytes uploaded, then the shader compilation. */
export function stderrEngineProgress(label: string): ((p: EngineLoadProgress) => void) | undefined {
  const bytes = stderrProgress(label);
  if (!bytes) return undefined;
  return (p) => {
    if (p.phase === 'upload') bytes(p);
    else if (p.phase === 'compile') process.stderr.write(`${label}: compiling shaders…\n`);
  };
}

/**
 * `--engine cpu` and `--engine reference`: the product's `Engine` in this process, on the WebAssembly
 * backend (the kernels of kernels/wasm, threads through worker_threads) or on the plain TypeScript
 * reference backend. The same request path as the browser's (requests parsed by
 * src/engine/request.ts, the same sampling, stop strings, scoring and errors); only the backend
 * differs. A local file is read lazily (a Blob over the file: Node's openAsBlob), a URL with Range
 * requests.
 */
import { openAsBlob } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { readdir } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { Engine, type BackendRequest, type ChosenBackend, type EngineOptions } from '../engine/engine.ts';
import { OnnxRuntime } from '../runtimes/onnx/runtime.ts';
import { CriaError } from '../shared/errors.ts';
import { createNodeWasmBackend } from '../wasm/node.ts';
import type { ChatCompletion, CompletionChunk, ModelSource } from '../protocol/api.ts';
import { CpuBackend } from '../reference/backend.ts';
import { signalHandler, type CliCompletion, type CliEngine, type OnInterrupt } from './engine.ts';
import { onnxFolderFiles, type ModelLocation } from './model-source.ts';

/** Half of this machine's memory: what a model may take (weights, KV cache, scratch) on the CPU engine. */
export const cpuMemoryBudget = (): number => Math.floor(totalmem() / 2);


/** The ModelSource of a CLI model location, for an engine in this process. */
export async function localModelSource(l: ModelLocation): Promise<ModelSource> {
  if ('url' in l) return { url: l.url, cache: false };
  if ('onnx' in l) return 'url' in l.onnx && /\.onnx$/i.test(new URL(l.onnx.url).pathname) ? { url: l.onnx.url } : { onnx: l.onnx };
  if ('dir' in l) {
    const files: Record<string, Blob> = {};
    for (const [path, file] of Object.entries(await onnxFolderFiles(l.dir))) files[path] = await openAsBlob(file);
    return { onnx: { files, name: basename(l.dir) } };
  }
  const blob = await openAsBlob(l.path);
  return { file: Object.assign(blob, { name: basename(l.path) }), cache: false };
}

let seq = 0;

/** The cpu engine's default threads: the cores, at most 8. */
export const defaultThreads = (): number => Math.max(1, Math.min(8, availableParallelism()));

/** The Engine's backend factory in Node: WebAssembly (`cpu`) or the TypeScript reference. */
export function nodeBackendFactory(kind: 'cpu' | 'reference', threads?: number) {
  return async (req: BackendRequest): Promise<ChosenBackend> => {
    if (req.backend === 'webgpu') throw new CriaError('bad-argument', 'WebGPU runs in the browser: use --engine webgpu');
    if (kind === 'reference') return { backend: new CpuBackend(), reason: 'the TypeScript reference, as asked (--engine reference)' };
    const t = req.threads ?? threads ?? defaultThreads();
    return { backend: await createNodeWasmBackend({ threads: t }), reason: `WebAssembly, as asked (--engine cpu); ${t} thread${t === 1 ? '' : 's'}${threads === undefined && req.threads === undefined ? ` (${availableParallelism()} cores)` : ''}` };
  };
}

/** The Engine in this process: Cria's runtime on the chosen backend, and the ONNX runtime for ONNX folders. */
export function nodeEngineOptions(kind: 'cpu' | 'reference', threads?: number): EngineOptions {
  return { createBackend: nodeBackendFactory(kind, threads), memoryBudgetBytes: cpuMemoryBudget(), runtimes: [new OnnxRuntime({ memoryBudgetBytes: cpuMemoryBudget() })] };
}

export async function withCpuEngine<T>(kind: 'cpu' | 'reference', location: ModelLocation, fn: (e: CliEngine) => Promise<T>, opts: { threads?: number; onInterrupt?: OnInterrupt } = {}): Promise<T> {
  const onInterrupt = opts.onInterrupt;
  const engine = new Engine(nodeEngineOptions(kind, opts.threads));
  let running: string | undefined;
  const track = () => (running = `cli-${process.pid}-${seq++}`);
  const cli: CliEngine = {
    name: kind,
    load: async (onProgress, opts = {}) => engine.load(await localModelSource(location), onProgress, opts),
    loadAdapter: async (where, id) => engine.loadAdapter('url' in where ? { url: where.url, cache: false } : { file: Object.assign(await openAsBlob(where.path), { name: basename(where.path) }) }, { id }),
    tokenize: (text, opts) => engine.tokenize(text, opts),
    complete: async (req, onText) => {
      let promptLogits: Float32Array | undefined;
      const r = await engine.completion({ ...req, stream: true, request_id: track() }, (c: CompletionChunk) => {
        if (c.choices[0].text) onText?.(c.choices[0].text);
        if (c.prompt_logits) promptLogits = c.prompt_logits;
      });
      const c = r.choices[0];
      return { tokens: c.token_ids, text: c.text, finish_reason: c.finish_reason, usage: r.usage, ...(promptLogits ? { promptLogits } : {}) } satisfies CliCompletion;
    },
    chat: async (req, onText): Promise<ChatCompletion> =>
      engine.chatCompletion({ ...req, stream: true, request_id: track() }, (c) => {
        const t = c.choices[0].delta.content;
        if (t) onText?.(t);
      }),
    score: (req) => engine.score(req),
    abort: async () => {
      if (running !== undefined) await engine.abort(running);
    },
    deviceInfo: () => engine.deviceInfo(),
  };
  const onSignal = onInterrupt && signalHandler(onInterrupt, (signal) => process.exit(signal === 'SIGINT' ? 130 : 143));
  if (onSignal) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    return await fn(cli);
  } finally {
    if (onSignal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await engine.unload();
  }
}

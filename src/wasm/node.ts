/**
 * The WebAssembly backend in Node (the CLI's CPU engine, tests): the kernels read from build/wasm
 * (built first when stale, src/wasm/build.ts).
 */
import { readWasm } from './build.ts';
import { WasmBackend } from './backend.ts';
import { chooseVariant, instantiateKernels, type WasmVariantName } from './module.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ThreadPool, type PoolWorker } from './pool.ts';
import { SingleThread } from './runner.ts';

export interface NodeWasmOptions {
  /** a variant to use instead of the best this Node can run */
  variant?: WasmVariantName;
  /** threads, this one included (default 1); more than 1 uses a shared memory and worker_threads */
  threads?: number;
}

/** tsx's ESM API (its "import" export), as a file URL. */
function tsxEsmApi(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const exports = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports;
  return pathToFileURL(join(dirname(pkg), exports['./esm/api'].import.default)).href;
}

/**
 * A pool thread in Node: pool-worker.node.ts, a TypeScript source like the CLI's, so the worker first
 * registers tsx's loader (its ESM API, resolved from this package) and then imports the entry.
 */
export function spawnNodeWorker(): PoolWorker {
  const tsx = tsxEsmApi();
  const entry = new URL('./pool-worker.node.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  const w = new Worker(code, { eval: true });
  const ready = new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
  });
  // once ready, the host waits on the worker with Atomics (never on its events): it must not keep a process alive
  ready.then(() => w.unref(), () => undefined);
  return { postMessage: (m) => w.postMessage(m), ready, terminate: () => void w.terminate() };
}

export async function createNodeWasmBackend(opts: NodeWasmOptions = {}): Promise<WasmBackend> {
  const threads = opts.threads ?? 1;
  const all = new Map<WasmVariantName, Uint8Array>();
  for (const v of ['simd', 'simd-mt', 'relaxed', 'relaxed-mt'] as const) all.set(v, await readWasm(v));
  const chosen = opts.variant ? { variant: opts.variant, bytes: all.get(opts.variant)! } : chooseVariant((v) => all.get(v), threads > 1);
  const kernels = await instantiateKernels(chosen.variant, chosen.bytes);
  const runner = threads > 1 && kernels.shared ? await ThreadPool.start(kernels.exports, kernels.module, kernels.memory, threads, spawnNodeWorker) : new SingleThread(kernels.exports);
  return new WasmBackend(kernels, runner);
}

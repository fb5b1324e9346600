/**
 * The WebAssembly backend in a browser (the engine's worker): the kernels' variants as files this
 * origin serves (Vite emits them from build/wasm), the best one this browser validates, and a pool of
 * Web Workers when the page is cross-origin isolated (SharedArrayBuffer needs COOP/COEP).
 */
import relaxedMtUrl from '../../build/wasm/relaxed-mt.wasm?url';
import relaxedUrl from '../../build/wasm/relaxed.wasm?url';
import simdMtUrl from '../../build/wasm/simd-mt.wasm?url';
import simdUrl from '../../build/wasm/simd.wasm?url';
import { CriaError } from '../shared/errors.ts';
import { startBlobModuleWorker } from '../shared/module-worker.ts';
import { WasmBackend } from './backend.ts';
import { chooseVariantLazily, instantiateKernels, threadsAvailable, type WasmVariantName } from './module.ts';
import { ThreadPool, type PoolWorker } from './pool.ts';
import { POOL_WORKER_URL } from './pool-worker-url.ts';
import { SingleThread } from './runner.ts';

const URLS: Record<WasmVariantName, string> = { simd: simdUrl, 'simd-mt': simdMtUrl, relaxed: relaxedUrl, 'relaxed-mt': relaxedMtUrl };

/** The threads a page can use: the cores (at most 8) where it is cross-origin isolated, else 1, and why. */
export function browserThreads(asked?: number): { threads: number; why: string } {
  const cores = Math.max(1, Math.min(8, globalThis.navigator?.hardwareConcurrency ?? 1));
  if (asked !== undefined && !(Number.isInteger(asked) && asked >= 1 && asked <= 64)) throw new CriaError('bad-argument', `threads must be a whole number from 1 to 64, got ${asked}`);
  if (!threadsAvailable()) return { threads: 1, why: 'one thread: the page is not cross-origin isolated (COOP/COEP headers), which WebAssembly threads need' };
  const threads = asked ?? cores;
  return { threads, why: asked !== undefined ? `${threads} thread${threads === 1 ? "" : "s"}, as asked` : `${threads} thread${threads === 1 ? "" : "s"} (${cores} core${cores === 1 ? "" : "s"})` };
}

/**
 * A pool thread. Where the engine's bundle comes from another origin (the widget on a host page,
 * src/widget/engine-worker.ts), `new Worker(url)` would refuse it: the worker is then a same-origin
 * `blob:` module that imports the bundle (a CORS request), as the widget's engine worker itself is.
 */
function spawnWebWorker(index: number): PoolWorker {
  const url = new URL(POOL_WORKER_URL);
  const options: WorkerOptions = { type: 'module', name: `cria-wasm-${index}` };
  const w = url.origin === globalThis.location?.origin ? new Worker(url, options) : startBlobModuleWorker(url.href, options.name ?? 'cria-wasm');
  const ready = new Promise<void>((resolve, reject) => {
    w.addEventListener('message', () => resolve(), { once: true });
    w.addEventListener('error', (e) => reject(new Error(e.message || 'the worker failed to start')), { once: true });
  });
  ready.catch(() => undefined);
  return { postMessage: (m) => w.postMessage(m), ready, terminate: () => w.terminate() };
}

export async function createBrowserWasmBackend(opts: { threads?: number } = {}): Promise<{ backend: WasmBackend; threadsWhy: string }> {
  const { threads, why } = browserThreads(opts.threads);
  // only the variants tried are fetched (usually the first); URLs as Vite gives them are relative to
  // this module's origin, which for the widget's engine (a blob worker of the host page) is not the page's
  const chosen = await chooseVariantLazily(async (v) => {
    const url = new URL(URLS[v], import.meta.url);
    // the widget's build inlines them (base64): decoded here, not fetched, so a host page's connect-src need not allow data:
    const inline = /^data:[^,]*;base64,/.exec(url.href);
    if (inline) return Uint8Array.from(atob(url.href.slice(inline[0].length)), (c) => c.charCodeAt(0));
    let r: Response;
    try {
      r = await fetch(url);
    } catch (e) {
      throw new CriaError('network', `the WebAssembly engine's kernels (${url.href.startsWith('data:') ? 'inline' : url.href}) could not be fetched: ${(e as Error).message}; check the connection and reload the page`);
    }
    if (!r.ok) throw new CriaError('network', `the WebAssembly engine's kernels (${url.href}) could not be fetched: HTTP ${r.status}; reload the page`);
    return new Uint8Array(await r.arrayBuffer());
  }, threads > 1);
  const kernels = await instantiateKernels(chosen.variant, chosen.bytes);
  const runner = threads > 1 && kernels.shared ? await ThreadPool.start(kernels.exports, kernels.module, kernels.memory, threads, spawnWebWorker) : new SingleThread(kernels.exports);
  return { backend: new WasmBackend(kernels, runner), threadsWhy: why };
}

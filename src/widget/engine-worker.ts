/**
 * The widget's engine worker, started so that it works when the page embedding
 * the widget is on another origin than widget.js.
 *
 * `new Worker(url)` only accepts a same-origin script, so a page on
 * https://host.example cannot start https://cdn.example/assets/engine.js as a
 * worker. A module worker made from a same-origin `blob:` URL may import a
 * cross-origin module, though (a CORS request, like any module script), so the
 * blob holds one line: `import "<absolute URL of the engine bundle>"`. The
 * engine then runs in a worker that belongs to the host page's origin: its
 * IndexedDB model cache is the host page's.
 *
 * The import is static and the engine bundle must not use a top-level await
 * before `Comlink.expose`: a worker takes messages once its module has started
 * evaluating, and a message arriving before comlink listens is lost.
 */

import { CriaError } from '../shared/errors.ts';
// the stand-in for Vite's worker pattern: only the bundle's URL is wanted (src/shared/module-worker.ts)
import { startBlobModuleWorker, WorkerUrl as Worker } from '../shared/module-worker.ts';

/** Absolute URL of the engine worker bundle (src/worker/engine.worker.ts, built). */
export const ENGINE_WORKER_URL: string = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' }).url.href;

/** Start the engine in a module worker of this page's origin that imports the bundle from wherever it is served. */
export function startEngineWorker(url: string = ENGINE_WORKER_URL): globalThis.Worker {
  return startBlobModuleWorker(url, 'cria-widget-engine');
}

/**
 * Resolves when the worker answered `ping` (its engine is running), rejects
 * when it failed to start: the bundle could not be fetched (no CORS header, a
 * 404) or a Content-Security-Policy refused the blob worker. Without this a
 * page would wait forever on an engine that never started.
 */
export function workerStarted(worker: globalThis.Worker, ping: () => Promise<unknown>, url: string = ENGINE_WORKER_URL): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (ev: Event) => {
      ev.preventDefault();
      reject(
        new CriaError(
          'network',
          `the widget could not start its engine from ${url}: the server of widget.js must send Access-Control-Allow-Origin for it, and this page's Content-Security-Policy must allow blob: workers (worker-src blob:)`,
          { url, stage: 'engine' },
        ),
      );
    };
    worker.addEventListener('error', onError, { once: true });
    ping().then(
      () => {
        worker.removeEventListener('error', onError);
        resolve();
      },
      (e) => {
        worker.removeEventListener('error', onError);
        reject(e);
      },
    );
  });
}

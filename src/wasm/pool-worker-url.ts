/**
 * The URL of the pool thread's bundle (pool-worker.browser.ts), as Vite builds it: Vite rewrites
 * `new Worker(new URL('…', import.meta.url), …)` into the emitted chunk's URL, resolved against this
 * module wherever it is served from. We want the URL, not a Worker (a page of another origin cannot
 * construct one from it: src/wasm/browser.ts then wraps it in a same-origin blob), so the `Worker`
 * in scope is a stand-in that records its argument; the pattern Vite looks for is lexical (as in
 * src/widget/engine-worker.ts).
 */
class Worker {
  constructor(
    readonly url: URL,
    readonly options: WorkerOptions,
  ) {}
}

export const POOL_WORKER_URL: string = new Worker(new URL('./pool-worker.browser.ts', import.meta.url), { type: 'module' }).url.href;

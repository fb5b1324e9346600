/**
 * The URL of the pool thread's bundle (pool-worker.browser.ts), as Vite builds it, resolved against this
 * module wherever it is served from. Only the URL is wanted (a page of another origin cannot construct a
 * Worker from it: src/wasm/browser.ts then starts it through a same-origin blob), so `Worker` here is
 * the stand-in of src/shared/module-worker.ts; the pattern Vite looks for is lexical.
 */
import { WorkerUrl as Worker } from '../shared/module-worker.ts';

export const POOL_WORKER_URL: string = new Worker(new URL('./pool-worker.browser.ts', import.meta.url), { type: 'module' }).url.href;

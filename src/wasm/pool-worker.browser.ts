/** A WebAssembly pool thread as a Web Worker (see pool-worker.ts). */
import type { WorkerInit } from './pool-protocol.ts';
import { runPoolWorker } from './pool-worker.ts';

addEventListener('message', (e: MessageEvent<WorkerInit>) => void runPoolWorker(e.data, () => postMessage('ready')).then(() => close()), { once: true });

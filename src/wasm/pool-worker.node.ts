/** A WebAssembly pool thread as a Node worker_threads worker (see pool-worker.ts). */
import { parentPort } from 'node:worker_threads';
import type { WorkerInit } from './pool-protocol.ts';
import { runPoolWorker } from './pool-worker.ts';

parentPort!.once('message', (init: WorkerInit) => void runPoolWorker(init, () => parentPort!.postMessage('ready')).then(() => parentPort!.close()));

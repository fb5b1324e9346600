/**
 * A pool of threads for the WebAssembly kernels: `threads − 1` workers (src/wasm/pool-worker.ts), each
 * with its own instance of the kernels over the same shared memory, and the host (the engine's thread)
 * as thread 0. A job (one kernel over a range of rows) is split by `share`: the host posts it through
 * the control block (src/wasm/pool-protocol.ts), runs its own share, and waits until every worker has
 * run its own. Jobs too small to pay for the hand-off (`minPerThread`) run on the host alone.
 *
 * Waiting: workers spin ~2 ms for the next job before sleeping (a token's jobs come microseconds
 * apart); the host spins for the workers to finish, then sleeps (Atomics.wait: allowed in workers and
 * in Node, which is where engines run).
 */
import { CriaError } from '../shared/errors.ts';
import { ARGC, ARGS_AT, CONTROL_BYTES, DONE, FAILED, GENERATION, KERNEL, KERNEL_NAMES, MAX_ARGS, STOP, THREADS, TOTAL, share, type WorkerInit } from './pool-protocol.ts';
import type { KernelExports } from './module.ts';
import type { KernelName, Runner } from './runner.ts';

/** What the pool needs of a worker, in a browser or in Node. */
export interface PoolWorker {
  postMessage(message: WorkerInit): void;
  /** resolves once the worker posted its first message (it is ready), rejects if it failed to start */
  ready: Promise<void>;
  terminate(): void;
}

export class ThreadPool implements Runner {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private disposed = false;

  private constructor(
    private readonly kernels: KernelExports,
    private readonly workers: PoolWorker[],
    control: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(control);
    this.args = new Float64Array(control);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Start `threads − 1` workers over `memory` (shared) and wait until each is ready.
   * `spawn(index)` creates worker `index` (1..threads−1).
   */
  static async start(kernels: KernelExports, module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number, spawn: (index: number) => PoolWorker): Promise<ThreadPool> {
    if (!(Number.isInteger(threads) && threads >= 1 && threads <= 64)) throw new CriaError('bad-argument', `threads must be a whole number from 1 to 64, got ${threads}`);
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const workers: PoolWorker[] = [];
    try {
      for (let i = 1; i < threads; i++) {
        const w = spawn(i);
        workers.push(w);
        w.postMessage({ module, memory, control, index: i });
      }
      await Promise.all(workers.map((w) => w.ready));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw new CriaError('internal', `the WebAssembly engine could not start its ${threads - 1} worker thread(s): ${(e as Error).message}`);
    }
    return new ThreadPool(kernels, workers, control);
  }

  run(name: KernelName, args: readonly number[], total: number, minPerThread = 1): void {
    if (this.disposed) throw new CriaError('internal', 'internal error: the thread pool was used after dispose (please report this)');
    const fn = this.kernels[name] as (...a: number[]) => void;
    const threads = Math.min(this.threads, Math.max(1, Math.floor(total / Math.max(1, minPerThread))));
    if (threads === 1) {
      fn(...args, 0, total);
      return;
    }
    if (args.length > MAX_ARGS) throw new CriaError('internal', `internal error: ${name} takes ${args.length} arguments, more than the pool's ${MAX_ARGS}`);
    const ctl = this.ctl;
    ctl[KERNEL] = KERNEL_NAMES.indexOf(name);
    ctl[ARGC] = args.length;
    for (let i = 0; i < args.length; i++) this.args[ARGS_AT + i] = args[i];
    ctl[TOTAL] = total;
    ctl[THREADS] = threads;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.add(ctl, GENERATION, 1);
    Atomics.notify(ctl, GENERATION);
    const [r0, r1] = share(total, threads, 0);
    let trapped: unknown;
    try {
      if (r1 > r0) fn(...args, r0, r1);
    } catch (e) {
      trapped = e; // still wait for the workers' shares, so the next job starts from a quiet pool
    }
    // the workers' shares: spin a little (they are usually done), then sleep until DONE moves
    const want = threads - 1;
    let spins = 0;
    for (let done = Atomics.load(ctl, DONE); done < want; done = Atomics.load(ctl, DONE)) {
      if (++spins > 2000) Atomics.wait(ctl, DONE, done, 1);
    }
    if (trapped !== undefined) throw trapped;
    if (Atomics.load(ctl, FAILED)) throw new CriaError('internal', `internal error: the WebAssembly kernel ${name} trapped in a worker thread (please report this)`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GENERATION, 1);
    Atomics.notify(this.ctl, GENERATION);
    for (const w of this.workers) w.terminate();
  }
}

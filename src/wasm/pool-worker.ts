/**
 * A thread of the WebAssembly pool (src/wasm/pool.ts): instantiates the kernels over the shared memory
 * it is given, then runs its share of every job the host posts through the control block, until told
 * to stop. Its entry points: pool-worker.browser.ts (a Web Worker the engine's worker starts) and
 * pool-worker.node.ts (a worker_threads worker in Node); `init` arrives as the first message.
 */
import { ARGC, ARGS_AT, DONE, FAILED, GENERATION, KERNEL, KERNEL_NAMES, STOP, THREADS, TOTAL, share, type WorkerInit } from './pool-protocol.ts';

/** how long to spin for the next job before sleeping (generation posts jobs microseconds apart) */
const SPIN_MS = 2;

export async function runPoolWorker(init: WorkerInit, ready: () => void): Promise<void> {
  const instance = await WebAssembly.instantiate(init.module, {
    env: {
      memory: init.memory,
      abort: () => {
        throw new Error('a WebAssembly kernel aborted');
      },
    },
  });
  const kernels = instance.exports as unknown as Record<string, (...a: number[]) => void>;
  const ctl = new Int32Array(init.control);
  const args = new Float64Array(init.control);
  let seen = Atomics.load(ctl, GENERATION);
  ready();
  for (;;) {
    // wait for the next job: spin a little, then sleep until the generation moves
    const t0 = performance.now();
    while (Atomics.load(ctl, GENERATION) === seen && performance.now() - t0 < SPIN_MS) {
      /* spin */
    }
    while (Atomics.load(ctl, GENERATION) === seen) Atomics.wait(ctl, GENERATION, seen);
    seen = Atomics.load(ctl, GENERATION);
    if (Atomics.load(ctl, STOP)) return;
    const threads = ctl[THREADS];
    if (init.index < threads) {
      const argc = ctl[ARGC];
      const a: number[] = [];
      for (let i = 0; i < argc; i++) a.push(args[ARGS_AT + i]);
      const [r0, r1] = share(ctl[TOTAL], threads, init.index);
      try {
        if (r1 > r0) kernels[KERNEL_NAMES[ctl[KERNEL]]](...a, r0, r1);
      } catch {
        // a trap (out-of-bounds access, unreachable): the host must not wait for a share that never comes
        Atomics.store(ctl, FAILED, 1);
      }
      Atomics.add(ctl, DONE, 1);
      Atomics.notify(ctl, DONE);
    }
  }
}

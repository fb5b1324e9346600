/**
 * Running a kernel over a range of rows. Every kernel in kernels/wasm takes its range as its last two
 * arguments (`r0`, `r1`: output rows, or token rows), so one call can be split across threads without
 * the kernel knowing. This runner is the single-threaded one: the whole range, here. (A pool of
 * workers over a shared memory implements the same interface: src/wasm/pool.ts.)
 */
import type { KernelExports } from './module.ts';

export type KernelName = Exclude<keyof KernelExports, 'heap_base'>;

export interface Runner {
  readonly threads: number;
  /** run `name(...args, r0, r1)` over [0, total), split by the runner; below `minPerThread` rows a split does not pay */
  run(name: KernelName, args: readonly number[], total: number, minPerThread?: number): void;
  /** stop the threads, if any */
  dispose?(): void;
}

export class SingleThread implements Runner {
  readonly threads = 1;
  constructor(private readonly k: KernelExports) {}
  run(name: KernelName, args: readonly number[], total: number): void {
    (this.k[name] as (...a: number[]) => void)(...args, 0, total);
  }
}

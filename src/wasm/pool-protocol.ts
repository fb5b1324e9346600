/**
 * The control block a thread pool shares (src/wasm/pool.ts, src/wasm/pool-worker.ts): one small
 * SharedArrayBuffer beside the kernels' shared memory. The host writes a job (which kernel, its
 * arguments, the range to split, how many threads take part), bumps `generation` and wakes the
 * workers; worker i runs its share of the range and adds one to `done`. Both sides spin briefly before
 * sleeping (Atomics.wait), since during generation the next job comes within microseconds.
 *
 * Int32 slots: GENERATION, DONE, KERNEL (index into KERNEL_NAMES), ARGC, TOTAL, THREADS, STOP, FAILED
 * (set by a worker whose share trapped: it still counts itself done, and the host throws).
 * Float64 slots from ARGS_AT: the arguments (pointers and numbers alike: exact in a double).
 */
import type { KernelName } from './runner.ts';

export const GENERATION = 0;
export const DONE = 1;
export const KERNEL = 2;
export const ARGC = 3;
export const TOTAL = 4;
export const THREADS = 5;
export const STOP = 6;
export const FAILED = 7;
/** first Float64 slot of the arguments (byte offset 64) */
export const ARGS_AT = 8;
export const MAX_ARGS = 24;
export const CONTROL_BYTES = (ARGS_AT + MAX_ARGS) * 8;

/** Kernels by index: the job names its kernel by a number, both sides use this list. */
export const KERNEL_NAMES: readonly KernelName[] = [
  'quantize_q8_0',
  'matmul_q8_0',
  'matmul_q4_0',
  'matmul_f32',
  'matmul_f16',
  'round_activations',
  'rms_norm',
  'elementwise',
  'glu',
  'rope',
  'attention',
  'quantize_q8_k',
  'matmul_q4_k',
  'matmul_q6_k',
  'matmul_q5_k',
  'matmul_q3_k',
  'matmul_q2_k',
  'quantize_q8_1',
  'matmul_q4_1',
  'matmul_q5_0',
  'matmul_q5_1',
];

/**
 * Thread i's share of [0, total) among `threads`: contiguous, in multiples of 4 rows (the products
 * take 4 rows per pass), the last one taking what is left.
 */
export function share(total: number, threads: number, i: number): [number, number] {
  const per = Math.ceil(total / threads / 4) * 4;
  const r0 = Math.min(total, i * per);
  const r1 = i === threads - 1 ? total : Math.min(total, r0 + per);
  return [r0, r1];
}

/** What a worker is started with (posted once). */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** this worker's thread index (1..threads−1; the host is 0) */
  index: number;
}

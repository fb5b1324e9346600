/** Launcher for kernels/wasm/elementwise.ts: add, scale and softcap over flat f32 arrays. */
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';

const OPS = { add: 0, scale: 1, softcap: 2 } as const;
/** elements per thread below which splitting does not pay */
const MIN_PER_THREAD = 16384;

export function elementwise(run: Runner, heap: WasmHeap, op: keyof typeof OPS, a: number, b: number, count: number, s = 0): number {
  const y = heap.scratch(count * 4);
  run.run('elementwise', [OPS[op], a, b, y, s], count, MIN_PER_THREAD);
  return y;
}

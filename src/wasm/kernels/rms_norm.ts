/** Launcher for kernels/wasm/rms_norm.ts: RMSNorm of each group of `g` values (default: the whole row). */
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';

export function rmsNorm(run: Runner, heap: WasmHeap, x: number, rows: number, cols: number, w: number, eps: number, g = cols): number {
  const y = heap.scratch(rows * cols * 4);
  run.run('rms_norm', [x, w, y, g, eps], (rows * cols) / g, 16);
  return y;
}

/**
 * Launcher for kernels/wasm/glu.ts: act(gate)·up per row, act silu (swiglu) or gelu_tanh (geglu); gate
 * and up are separate [rows, cols] arrays or the halves of one fused [rows, 2·cols] gate|up array.
 */
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';

export function glu(run: Runner, heap: WasmHeap, act: 'silu' | 'gelu', g: number, u: number, rows: number, cols: number, fused: boolean): number {
  const y = heap.scratch(rows * cols * 4);
  const stride = fused ? 2 * cols : cols;
  run.run('glu', [act === 'silu' ? 0 : 1, g, stride, u, stride, y, cols], rows, 4);
  return y;
}

/** Launcher for kernels/wasm/quantize_q8_0.ts: the rows of x quantized to int8 per block of 32 (the activations of an int8 product). */
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';

export interface QuantizedRows {
  /** int8 [n, k] */
  q: number;
  /** f32 [n, k/32]: each block's scale (the value of its f16 rounding) */
  d: number;
}

export function quantizeQ8_0(run: Runner, heap: WasmHeap, x: number, n: number, k: number): QuantizedRows {
  const q = heap.scratch(n * k, 'int8 activations');
  const d = heap.scratch(n * (k / 32) * 4, 'int8 activation scales');
  run.run('quantize_q8_0', [x, q, d, k], n);
  return { q, d };
}

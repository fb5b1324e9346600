/**
 * Launcher for kernels/wasm/quantize_q8_1.ts: the rows of x quantized to int8 per block of 32 with each
 * block's sum (ggml's Q8_1: the activations of a product with Q4_1/Q5_1 weights, whose mins multiply
 * the sum). Its q and d are ggml's x86 Q8_0 too (the products with Q5_0 weights take them).
 */
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';
import type { QuantizedRows } from './quantize_q8_0.ts';

export interface QuantizedRowsQ8_1 extends QuantizedRows {
  /** f32 [n, k/32]: each block's f16(d·Σq), d unrounded (as f32) */
  s: number;
}

export function quantizeQ8_1(run: Runner, heap: WasmHeap, x: number, n: number, k: number): QuantizedRowsQ8_1 {
  const q = heap.scratch(n * k, 'int8 activations');
  const d = heap.scratch(n * (k / 32) * 4, 'int8 activation scales');
  const s = heap.scratch(n * (k / 32) * 4, 'int8 activation block sums');
  run.run('quantize_q8_1', [x, q, d, s, k], n);
  return { q, d, s };
}

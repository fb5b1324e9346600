/**
 * Launcher for kernels/wasm/quantize_q8_k.ts: the rows of x quantized to int8 per block of 256 (the
 * activations of a K-quant product, ggml's Q8_K), with each block's f32 scale and the sums of each 16
 * values (the K-quants' mins take them).
 */
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';

export interface Q8KRows {
  /** int8 [n, k] */
  q: number;
  /** f32 [n, k/256]: each block's scale 1/iscale */
  d: number;
  /** i16 [n, k/16]: Σ q over each 16 values */
  bsums: number;
}

export function quantizeQ8_K(run: Runner, heap: WasmHeap, x: number, n: number, k: number): Q8KRows {
  const q = heap.scratch(n * k, 'Q8_K activations');
  const d = heap.scratch(n * (k / 256) * 4, 'Q8_K activation scales');
  const bsums = heap.scratch(n * (k / 16) * 2, 'Q8_K activation sums');
  run.run('quantize_q8_k', [x, q, d, bsums, k], n);
  return { q, d, bsums };
}

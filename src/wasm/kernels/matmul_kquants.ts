/**
 * Launcher for the K-quant products (kernels/wasm/matmul_q<2..6>_k.ts): y = x·Wᵀ (+ bias) (+ add),
 * x [n, in] f32 → y [n, out], as llama.cpp's CPU backend computes them: x quantized per block of 256
 * to Q8_K (quantize_q8_k), then integer dot products per block; each kernel splits its output rows
 * across the runner's threads. `in` is a multiple of 256 (a K-quant row is whole blocks of 256).
 */
import { CriaError } from '../../shared/errors.ts';
import type { WasmHeap } from '../heap.ts';
import type { KernelName, Runner } from '../runner.ts';
import type { WasmWeight } from '../weights.ts';
import { quantizeQ8_K } from './quantize_q8_k.ts';

/** The K-quant weight types with a kernel, and its name. */
export const WASM_KQUANT_KERNELS: Readonly<Record<string, KernelName>> = {
  Q4_K: 'matmul_q4_k',
  Q6_K: 'matmul_q6_k',
  Q5_K: 'matmul_q5_k',
  Q3_K: 'matmul_q3_k',
  Q2_K: 'matmul_q2_k',
};

/** Rows per thread below which splitting a product does not pay (as in matmul.ts). */
const MIN_ROWS_PER_THREAD = 64;

/** y [n, out] (already in the scratch arena) = x·Wᵀ (+ bias) (+ add) for K-quant weights. */
export function matmulKQuant(run: Runner, heap: WasmHeap, x: number, n: number, w: WasmWeight, y: number, bias?: number, add?: number): void {
  const kernel = WASM_KQUANT_KERNELS[w.type.name];
  if (!kernel) throw new CriaError('unsupported-type', `tensor ${w.name} is ${w.type.name}, which the WebAssembly engine cannot compute with yet`, { tensor: w.name, type: w.type.name });
  const k = w.cols;
  if (k % 256 !== 0) throw new CriaError('bad-file', `tensor ${w.name}: ${w.type.name} rows of ${k} values are not whole blocks of 256; the file is damaged`, { tensor: w.name });
  const xq = quantizeQ8_K(run, heap, x, n, k);
  run.run(kernel, [w.ptr, xq.q, xq.d, xq.bsums, bias ?? 0, add ?? 0, y, k, w.rows, n], w.rows, MIN_ROWS_PER_THREAD);
}

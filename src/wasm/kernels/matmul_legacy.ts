/**
 * Launcher for the products with ggml's other blocks of 32 (kernels/wasm/matmul_q4_1.ts, matmul_q5_0.ts,
 * matmul_q5_1.ts): y = x·Wᵀ (+ bias) (+ add), x [n, k] f32 → y [n, out] (k: whole blocks of 32, as the
 * GGUF reader checks).
 * x is quantized first, as llama.cpp's CPU backend does (quantize_q8_1): Q4_1 and Q5_1 take its Q8_1
 * rows (q, d and the block sums s, which their mins multiply); Q5_0 takes the same rows' q and d, which
 * are ggml's x86 Q8_0 (id = 127/amax, as src/reference/quantize_q8_0.ts; one kernel quantizes both).
 * Each kernel splits its output rows across the runner's threads.
 */
import { CriaError } from '../../shared/errors.ts';
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';
import type { WasmWeight } from '../weights.ts';
import { quantizeQ8_1 } from './quantize_q8_1.ts';

/** The types this launcher computes with. */
export const LEGACY_MATMUL_TYPES = ['Q4_1', 'Q5_0', 'Q5_1'] as const;

/** Rows per thread below which splitting a product does not pay (as in matmul.ts). */
const MIN_ROWS_PER_THREAD = 64;

export function matmulLegacy(run: Runner, heap: WasmHeap, x: number, n: number, w: WasmWeight, y: number, bias?: number, add?: number): number {
  const k = w.cols;
  const out = w.rows;
  const xq = quantizeQ8_1(run, heap, x, n, k);
  switch (w.type.name) {
    case 'Q4_1':
      run.run('matmul_q4_1', [w.ptr, xq.q, xq.d, xq.s, bias ?? 0, add ?? 0, y, k, out, n], out, MIN_ROWS_PER_THREAD);
      return y;
    case 'Q5_0':
      run.run('matmul_q5_0', [w.ptr, xq.q, xq.d, bias ?? 0, add ?? 0, y, k, out, n], out, MIN_ROWS_PER_THREAD);
      return y;
    case 'Q5_1':
      run.run('matmul_q5_1', [w.ptr, xq.q, xq.d, xq.s, bias ?? 0, add ?? 0, y, k, out, n], out, MIN_ROWS_PER_THREAD);
      return y;
    default:
      throw new CriaError('internal', `matmulLegacy has no kernel for ${w.type.name} (it takes ${LEGACY_MATMUL_TYPES.join(', ')})`);
  }
}

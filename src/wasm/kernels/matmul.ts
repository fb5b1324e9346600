/**
 * Launcher for the matrix products (kernels/wasm/matmul_<type>.ts): y = x·Wᵀ (+ bias) (+ add),
 * x [n, in] f32 → y [n, out]. Types with an int8 form quantize x first (quantize_q8_0), as llama.cpp's
 * CPU backend does; each kernel splits its output rows across the runner's threads.
 */
import { CriaError } from '../../shared/errors.ts';
import type { WasmHeap } from '../heap.ts';
import type { Runner } from '../runner.ts';
import type { WasmWeight } from '../weights.ts';
import { quantizeQ8_0 } from './quantize_q8_0.ts';
import { matmulKQuant } from './matmul_kquants.ts';
import { matmulLegacy } from './matmul_legacy.ts';

/** Weight types the WebAssembly products take. */
export const WASM_MATMUL_TYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q6_K', 'Q5_K', 'Q3_K', 'Q2_K']);

/** Rows per thread below which splitting a product does not pay (a thread's start costs a few µs). */
const MIN_ROWS_PER_THREAD = 64;

export function matmul(run: Runner, heap: WasmHeap, x: number, n: number, w: WasmWeight, bias?: number, add?: number): number {
  const k = w.cols;
  const out = w.rows;
  const y = heap.scratch(n * out * 4, `the product with ${w.name}`);
  switch (w.type.name) {
    case 'Q8_0':
    case 'Q4_0': {
      const xq = quantizeQ8_0(run, heap, x, n, k);
      run.run(w.type.name === 'Q8_0' ? 'matmul_q8_0' : 'matmul_q4_0', [w.ptr, xq.q, xq.d, bias ?? 0, add ?? 0, y, k, out, n], out, MIN_ROWS_PER_THREAD);
      return y;
    }
    case 'Q4_1':
    case 'Q5_0':
    case 'Q5_1':
      return matmulLegacy(run, heap, x, n, w, y, bias, add);
    case 'Q2_K':
    case 'Q3_K':
    case 'Q4_K':
    case 'Q5_K':
    case 'Q6_K':
      matmulKQuant(run, heap, x, n, w, y, bias, add);
      return y;
    case 'F32':
      run.run('matmul_f32', [w.ptr, x, bias ?? 0, add ?? 0, y, k, out, n], out, MIN_ROWS_PER_THREAD);
      return y;
    case 'F16':
    case 'BF16': {
      if (k % 4 !== 0) throw new CriaError('unsupported-type', `tensor ${w.name}: ${w.type.name} rows of ${k} values (not a multiple of 4) are not supported by the WebAssembly engine yet`, { tensor: w.name });
      // llama.cpp rounds the activations to the weights' precision first (their vec_dot_type)
      const op = w.type.name === 'F16' ? 0 : 1;
      const xr = heap.scratch(n * k * 4, `activations rounded for ${w.name}`);
      run.run('round_activations', [op, x, xr], n * k, 16384);
      run.run('matmul_f16', [op, w.ptr, xr, bias ?? 0, add ?? 0, y, k, out, n], out, MIN_ROWS_PER_THREAD);
      return y;
    }
    default:
      throw new CriaError('unsupported-type', `tensor ${w.name} is ${w.type.name}, which the WebAssembly engine cannot compute with yet`, { tensor: w.name, type: w.type.name });
  }
}

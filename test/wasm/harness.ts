/**
 * WebAssembly kernel suites, run the same way in Node (test/unit/wasm-kernels.test.ts) and in Chromium
 * (test/gpu/wasm-kernels.spec.ts): each case builds seeded inputs in the kernel's memory, runs the
 * launcher, and compares with the plain CPU reference (src/reference/), reporting the error against a
 * bound written per kernel with its reason.
 */
import { WasmHeap } from '../../src/wasm/heap.ts';
import { instantiateKernels, type WasmKernels, type WasmVariantName } from '../../src/wasm/module.ts';
import { SingleThread, type Runner } from '../../src/wasm/runner.ts';

export interface Ctx {
  kernels: WasmKernels;
  heap: WasmHeap;
  run: Runner;
}

export interface CaseReport {
  suite: string;
  case: string;
  /** max |got − want| */
  maxAbs: number;
  /** max |want| */
  maxRef: number;
  /** the bound maxAbs had to stay within */
  bound: number;
  ok: boolean;
  /** the first few (index, got, want) that broke the bound */
  mismatches: [number, number, number][];
}

export interface Suite {
  name: string;
  cases: { name: string; run(ctx: Ctx): CaseReport }[];
}

export async function makeContext(variant: WasmVariantName, bytes: Uint8Array): Promise<Ctx> {
  const kernels = await instantiateKernels(variant, bytes);
  const heap = new WasmHeap(kernels.memory, kernels.exports.heap_base());
  return { kernels, heap, run: new SingleThread(kernels.exports) };
}

/** Compare `got` with `want` element by element against `bound(i)`. */
export function compare(suite: string, name: string, got: ArrayLike<number>, want: ArrayLike<number>, bound: (i: number) => number): CaseReport {
  let maxAbs = 0;
  let maxRef = 0;
  let worst = 0;
  const mismatches: [number, number, number][] = [];
  if (got.length !== want.length) return { suite, case: name, maxAbs: Infinity, maxRef: 0, bound: 0, ok: false, mismatches: [[-1, got.length, want.length]] };
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    maxRef = Math.max(maxRef, Math.abs(want[i]));
    if (!(d <= maxAbs)) maxAbs = d;
    const b = bound(i);
    if (!(d <= b)) {
      if (mismatches.length < 5) mismatches.push([i, got[i], want[i]]);
    }
    worst = Math.max(worst, b);
  }
  return { suite, case: name, maxAbs, maxRef, bound: worst, ok: mismatches.length === 0, mismatches };
}

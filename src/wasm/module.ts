/**
 * The WebAssembly kernels as the host sees them: which variant this runtime can run, the module's
 * exports (typed), and its memory. Environment-free: the bytes come from the caller (the worker
 * fetches them, Node reads build/wasm/, src/wasm/build.ts), so this file runs in both.
 *
 * A variant is chosen by what validates and what the page allows: `relaxed` where the runtime has
 * relaxed SIMD, else `simd`; `-mt` (a shared memory, for threads) only where SharedArrayBuffer is
 * usable (a cross-origin isolated page, or Node). SIMD128 itself is required (every browser since
 * 2021): without it the backend is unavailable, with a message saying so.
 */
import { CriaError } from '../shared/errors.ts';

export type WasmVariantName = 'simd' | 'simd-mt' | 'relaxed' | 'relaxed-mt';

/** Every export of kernels/wasm/index.ts, with pointer arguments as byte offsets in the memory. */
export interface KernelExports {
  heap_base(): number;
  quantize_q8_0(x: number, q: number, d: number, k: number, r0: number, r1: number): void;
  matmul_q8_0(w: number, q: number, d: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  matmul_q4_0(w: number, q: number, d: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  /** op: 0 F16 weights, 1 BF16 */
  matmul_f16(op: number, w: number, x: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  /** op: 0 round to f16, 1 to bf16 (values stay f32) */
  round_activations(op: number, x: number, y: number, i0: number, i1: number): void;
  matmul_f32(w: number, x: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  rms_norm(x: number, w: number, y: number, g: number, eps: number, r0: number, r1: number): void;
  /** op: 0 add, 1 scale, 2 softcap */
  elementwise(op: number, a: number, b: number, y: number, s: number, i0: number, i1: number): void;
  /** op: 0 silu (swiglu), 1 gelu_tanh (geglu) */
  glu(op: number, g: number, gs: number, u: number, us: number, y: number, cols: number, r0: number, r1: number): void;
  rope(x: number, stride: number, y: number, table: number, nHeads: number, headDim: number, dim: number, neox: number, pos0: number, r0: number, r1: number): void;
  attention(q: number, qStride: number, k: number, v: number, out: number, scores: number, nHead: number, nHeadKv: number, headDim: number, headDimV: number, scale: number, softcap: number, window: number, pos0: number, n: number, r0: number, r1: number): void;
  quantize_q8_k(x: number, q: number, d: number, bsums: number, k: number, r0: number, r1: number): void;
  matmul_q4_k(w: number, q: number, d: number, bsums: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  matmul_q6_k(w: number, q: number, d: number, bsums: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  matmul_q5_k(w: number, q: number, d: number, bsums: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  matmul_q3_k(w: number, q: number, d: number, bsums: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  matmul_q2_k(w: number, q: number, d: number, bsums: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  /** Q8_1 activations: q, d (as quantize_q8_0's, with id = 127/amax) and s = f16(d·Σq) per block */
  quantize_q8_1(x: number, q: number, d: number, s: number, k: number, r0: number, r1: number): void;
  matmul_q4_1(w: number, q: number, d: number, s: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  matmul_q5_0(w: number, q: number, d: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
  matmul_q5_1(w: number, q: number, d: number, s: number, bias: number, add: number, y: number, k: number, out: number, n: number, o0: number, o1: number): void;
}

export interface WasmKernels {
  readonly variant: WasmVariantName;
  /** the compiled module (a pool's workers instantiate it over the same memory) */
  readonly module: WebAssembly.Module;
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  /** the memory is shared (workers may run kernels on it) */
  readonly shared: boolean;
}

/** 64 KiB pages of the whole wasm32 address space */
export const MAX_PAGES = 65536;

/** Whether SharedArrayBuffer (and so a shared memory for threads) is usable here. */
export function threadsAvailable(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean; process?: { versions?: { node?: string } } };
  if (typeof g.SharedArrayBuffer === 'undefined') return false;
  if (g.process?.versions?.node) return true;
  return g.crossOriginIsolated === true;
}

/**
 * Pick the variant to run from the candidates' bytes (see WASM_VARIANTS in build.ts): the first that
 * validates, relaxed before plain, threads only when `threads` (and usable).
 */
export function chooseVariant(bytes: (v: WasmVariantName) => Uint8Array | undefined, threads: boolean): { variant: WasmVariantName; bytes: Uint8Array } {
  for (const v of variantOrder(threads)) {
    const b = bytes(v);
    if (b && WebAssembly.validate(b as Uint8Array<ArrayBuffer>)) return { variant: v, bytes: b };
  }
  return noVariant();
}

/** The variants to try, best first: relaxed before plain SIMD, threads only when asked for and usable. */
export function variantOrder(threads: boolean): WasmVariantName[] {
  return threads && threadsAvailable() ? ['relaxed-mt', 'simd-mt', 'relaxed', 'simd'] : ['relaxed', 'simd'];
}

/** Fetch-as-needed form of chooseVariant: the first variant of `variantOrder` that validates. */
export async function chooseVariantLazily(fetchBytes: (v: WasmVariantName) => Promise<Uint8Array>, threads: boolean): Promise<{ variant: WasmVariantName; bytes: Uint8Array }> {
  for (const v of variantOrder(threads)) {
    const b = await fetchBytes(v);
    if (WebAssembly.validate(b as Uint8Array<ArrayBuffer>)) return { variant: v, bytes: b };
  }
  return noVariant();
}

function noVariant(): never {
  throw new CriaError('webgpu-unavailable', 'this browser cannot run Cria\'s WebAssembly engine: it lacks WebAssembly SIMD (every current Chrome, Edge, Firefox and Safari has it); update the browser');
}

/** Instantiate a variant over a new memory of `initialPages` (grown by the host as it allocates). */
export async function instantiateKernels(variant: WasmVariantName, bytes: Uint8Array, initialPages = 64): Promise<WasmKernels> {
  const shared = variant.endsWith('-mt');
  const memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, ...(shared ? { shared: true } : {}) });
  const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  const instance = await WebAssembly.instantiate(module, {
    env: {
      memory,
      abort: (_msg: number, _file: number, line: number, col: number) => {
        throw new CriaError('internal', `internal error: a WebAssembly kernel aborted at ${line}:${col} (please report this)`);
      },
    },
  });
  return { variant, module, exports: instance.exports as unknown as KernelExports, memory, shared };
}

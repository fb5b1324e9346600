/**
 * The WebAssembly backend in Node (the CLI's CPU engine, tests): the kernels read from build/wasm
 * (built first when stale, src/wasm/build.ts).
 */
import { readWasm } from './build.ts';
import { WasmBackend } from './backend.ts';
import { chooseVariant, instantiateKernels, type WasmVariantName } from './module.ts';
import { SingleThread } from './runner.ts';

export interface NodeWasmOptions {
  /** a variant to use instead of the best this Node can run */
  variant?: WasmVariantName;
}

export async function createNodeWasmBackend(opts: NodeWasmOptions = {}): Promise<WasmBackend> {
  const all = new Map<WasmVariantName, Uint8Array>();
  for (const v of ['simd', 'simd-mt', 'relaxed', 'relaxed-mt'] as const) all.set(v, await readWasm(v));
  const chosen = opts.variant ? { variant: opts.variant, bytes: all.get(opts.variant)! } : chooseVariant((v) => all.get(v), false);
  const kernels = await instantiateKernels(chosen.variant, chosen.bytes);
  return new WasmBackend(kernels, new SingleThread(kernels.exports));
}

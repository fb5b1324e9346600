/**
 * The WebAssembly kernel suites (test/wasm/suites) in Chromium: every variant the browser validates
 * (relaxed SIMD included, which Node 20 lacks; the threaded builds over a shared memory, since the dev
 * server isolates the page), each kernel against its CPU reference. test/gpu/wasm-kernels.spec.ts reads
 * `window.criaWasmKernels`.
 */
import relaxedMtUrl from '../../../build/wasm/relaxed-mt.wasm?url';
import relaxedUrl from '../../../build/wasm/relaxed.wasm?url';
import simdMtUrl from '../../../build/wasm/simd-mt.wasm?url';
import simdUrl from '../../../build/wasm/simd.wasm?url';
import type { WasmVariantName } from '../../../src/wasm/module.ts';
import { makeContext, type CaseReport } from '../../wasm/harness.ts';
import { suites } from '../../wasm/suites/index.ts';

const URLS: Record<WasmVariantName, string> = { simd: simdUrl, 'simd-mt': simdMtUrl, relaxed: relaxedUrl, 'relaxed-mt': relaxedMtUrl };

export interface VariantReport {
  variant: WasmVariantName;
  /** WebAssembly.validate: false means this browser cannot run the variant (reported, not run) */
  valid: boolean;
  cases: number;
  /** the cases that broke their bound, and any suite that threw */
  failures: (CaseReport | { suite: string; error: string })[];
  ms: number;
}

declare global {
  interface Window {
    criaWasmKernels?: (variant: WasmVariantName) => Promise<VariantReport>;
  }
}

window.criaWasmKernels = async (variant) => {
  const t0 = performance.now();
  const bytes = new Uint8Array(await (await fetch(URLS[variant])).arrayBuffer());
  if (!WebAssembly.validate(bytes)) return { variant, valid: false, cases: 0, failures: [], ms: 0 };
  const ctx = await makeContext(variant, bytes);
  const failures: VariantReport['failures'] = [];
  let cases = 0;
  for (const suite of suites) {
    for (const c of suite.cases) {
      cases++;
      try {
        const r = c.run(ctx);
        if (!r.ok) failures.push(r);
      } catch (e) {
        failures.push({ suite: `${suite.name} / ${c.name}`, error: (e as Error).message });
      }
    }
  }
  return { variant, valid: true, cases, failures, ms: performance.now() - t0 };
};

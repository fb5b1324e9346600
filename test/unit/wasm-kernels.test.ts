/**
 * Every WebAssembly kernel against its CPU reference, in Node (the suites in test/wasm/suites/; the
 * same suites run in Chromium: test/gpu/wasm-kernels.spec.ts), on each variant this Node can run.
 */
import { describe, expect, it } from 'vitest';
import { readWasm } from '../../src/wasm/build.ts';
import type { WasmVariantName } from '../../src/wasm/module.ts';
import { makeContext } from '../wasm/harness.ts';
import { suites } from '../wasm/suites/index.ts';

const variants: WasmVariantName[] = ['simd', 'simd-mt', 'relaxed', 'relaxed-mt'];

describe.each(variants)('WebAssembly kernels (%s)', (variant) => {
  for (const suite of suites) {
    it(suite.name, async () => {
      const bytes = await readWasm(variant);
      if (variant.startsWith('relaxed') && !WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
        console.warn(`SKIPPED ${suite.name} (${variant}): this Node has no relaxed SIMD (it is behind --experimental-wasm-relaxed-simd); Chromium runs it`);
        return;
      }
      const ctx = await makeContext(variant, bytes);
      const bad = [];
      for (const c of suite.cases) {
        const r = c.run(ctx);
        if (!r.ok) bad.push(r);
      }
      expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
    });
  }
});

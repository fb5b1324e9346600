/**
 * Every WebAssembly kernel against its CPU reference in Chromium (the suites of test/wasm/suites, as
 * test/unit/wasm-kernels.test.ts runs them in Node): all four builds. Chromium has relaxed SIMD, so
 * the relaxed builds, which Node 20 cannot validate, are checked here; the threaded builds run over a
 * shared memory (the dev server sends COOP/COEP).
 */
import { expect, test } from '@playwright/test';
import type { WasmVariantName } from '../../src/wasm/module.ts';

const VARIANTS: WasmVariantName[] = ['simd', 'simd-mt', 'relaxed', 'relaxed-mt'];

for (const variant of VARIANTS) {
  test(`WebAssembly kernels (${variant}) in Chromium match their CPU references`, async ({ page }) => {
    test.setTimeout(300_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/test/gpu/pages/wasm-kernels.html');
    await page.waitForFunction(() => window.criaWasmKernels !== undefined);
    expect(await page.evaluate(() => crossOriginIsolated), 'the page is isolated (shared memory for the -mt builds)').toBe(true);
    const r = await page.evaluate((v) => window.criaWasmKernels!(v), variant);
    // Chromium validates all four (relaxed SIMD and threads): a build it rejects is a failure here
    expect(r.valid, `${variant} validates in Chromium`).toBe(true);
    expect(r.cases).toBeGreaterThan(50);
    expect(r.failures, JSON.stringify(r.failures, null, 1)).toEqual([]);
    expect(errors).toEqual([]);
    console.log(`${variant}: ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s`);
  });
}

/**
 * Every kernel test suite (test/gpu/kernels/<kernel>.test.ts) on real WebGPU:
 * the page runs each case (GPU kernel vs CPU reference on the same seeded
 * inputs) and this spec asserts every case, printing the variant, shape and
 * first mismatches of any failure.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

const dir = fileURLToPath(new URL('./kernels/', import.meta.url));
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => f.replace(/\.test\.ts$/, ''))
  .sort();

for (const name of names) {
  test(`kernel ${name} matches its CPU reference`, async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/test/gpu/pages/kernels.html');
    await page.waitForFunction(() => window.criaKernels !== undefined);
    const results = await page.evaluate((n) => window.criaKernels!.run(n), name);
    expect(results.length, 'the suite has cases').toBeGreaterThan(0);
    for (const r of results.filter((x) => x.skipped)) console.warn(`SKIPPED ${name} ${r.variant} ${r.name}: ${r.skipped}`);
    for (const r of results.filter((x) => !x.skipped)) {
      const c = r.comparison;
      const detail = r.error
        ? `${r.variant} ${r.name}: ${r.error}`
        : `${r.variant} ${r.name}: nmse ${c!.nmse.toExponential(2)} (≤ ${c!.tol.nmse}), max|Δ| ${c!.maxAbs.toExponential(2)}, ${c!.bad}/${c!.n} outside ${c!.tol.atol} + ${c!.tol.rtol}·|want| (${c!.tol.why}); first: ${JSON.stringify(c!.first)}`;
      expect.soft(!r.error && c!.ok, detail).toBe(true);
    }
    console.log(`${name}: ${results.length} cases, ${results.filter((r) => !r.error && r.comparison?.ok).length} passed, ${results.filter((r) => r.skipped).length} skipped, ${results.reduce((a, r) => a + r.ms, 0).toFixed(0)} ms`);
    expect(errors, 'page errors').toEqual([]);
  });
}

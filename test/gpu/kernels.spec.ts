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
    // matmul: 13 types × 3 plans × plain and fused variants, each compiled by SwiftShader (~100 s here)
    test.setTimeout(name === 'matmul' ? 300_000 : 120_000);
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
    // headroom of absolute-only tolerances (rtol = 0, e.g. matmul's error bound)
    const worst = results.filter((r) => r.comparison && r.comparison.tol.atol > 0 && r.comparison.tol.rtol === 0).map((r) => ({ r, q: r.comparison!.maxAbs / r.comparison!.tol.atol })).sort((a, b) => b.q - a.q)[0];
    if (worst) console.log(`${name}: largest max|Δ| / atol ${worst.q.toPrecision(2)} (${worst.r.variant} ${worst.r.name})`);
    console.log(`${name}: ${results.length} cases, ${results.filter((r) => !r.error && r.comparison?.ok).length} passed, ${results.filter((r) => r.skipped).length} skipped, ${results.reduce((a, r) => a + r.ms, 0).toFixed(0)} ms`);
    expect(errors, 'page errors').toEqual([]);
  });
}

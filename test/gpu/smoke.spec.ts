/**
 * WebGPU smoke test: the browser gives us an adapter and a device, compiles a
 * WGSL compute shader, runs it and reads the result back correctly.
 * The page (pages/smoke.ts) does the GPU work; this spec checks the numbers.
 */
import { expect, test } from '@playwright/test';
import type { SmokeReport } from './pages/smoke.ts';

test('WebGPU: adapter, device and a saxpy compute shader', async ({ page }, testInfo) => {
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  await page.goto('/test/gpu/pages/smoke.html');
  await page.waitForFunction(() => window.criaSmoke !== undefined);
  const report: SmokeReport = await page.evaluate(() => window.criaSmoke!);

  // The page says what failed and what to do (e.g. navigator.gpu missing); fail with exactly that.
  if (!report.ok) throw new Error(`${report.error}\nconsole: ${consoleErrors.join('\n') || '(nothing)'}`);

  const adapter = report.adapter!;
  const facts = {
    info: adapter.info,
    features: adapter.features,
    // Reported, never assumed: SwiftShader has no shader-f16, real GPUs usually do.
    shaderF16: adapter.features.includes('shader-f16'),
    limits: adapter.limits,
    ms: report.ms,
  };
  console.log(`adapter: ${JSON.stringify(facts, null, 2)}`);
  await testInfo.attach('adapter.json', { body: JSON.stringify(facts, null, 2), contentType: 'application/json' });

  expect(report.compilationMessages.filter((m) => m.startsWith('error'))).toEqual([]);
  expect(adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);

  const s = report.saxpy!;
  expect(s.n % s.wg, 'n must not be a multiple of the workgroup size').not.toBe(0);
  expect(s.y).toHaveLength(s.yLength);

  // Exact equality is right here: x = k/8 with |k| <= 500 and a = 1.5, b = 0.25 are
  // short dyadic fractions, so a*x and a*x + b are exactly representable in f32.
  // Every conforming rounding (separate mul+add, or a fused multiply-add, which
  // WGSL compilers may emit) then gives the same bits as this CPU computation.
  const expected = s.x.map((xi) => Math.fround(Math.fround(s.a * xi) + s.b));
  expect(s.y.slice(0, s.n)).toEqual(expected);
  // Threads past n must not write: the tail keeps the sentinel.
  expect(s.y.slice(s.n)).toEqual(new Array(s.yLength - s.n).fill(s.sentinel));
});

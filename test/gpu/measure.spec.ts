/**
 * The adapter measurement through the engine API, as the app's Device page uses it:
 * createClient() → worker → measureDevice(). Checks that the numbers are positive,
 * finite and consistent with how they were obtained (GB/s = bytes / median seconds,
 * GFLOP/s = flops / median seconds, the timed passes fit inside the reported wall
 * time), and prints them. Speeds are reported, never asserted.
 */
import { expect, test } from '@playwright/test';
import type { MeasureReport } from './pages/measure.ts';

const MiB = 2 ** 20;
const positive = (x: number) => Number.isFinite(x) && x > 0;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function check(r: MeasureReport) {
  expect(r.error, `measureDevice failed: ${r.error?.code} ${r.error?.message}`).toBeNull();
  const m = r.m!;
  const info = r.info!;
  for (const k of ['readGBps', 'fmaGflops', 'bytes', 'ms'] as const) expect(positive(m[k]), `${k} = ${m[k]}`).toBe(true);

  // bandwidth: bytes read per dispatch / median seconds per dispatch
  expect(m.bytes).toBe(m.read.bytes);
  expect(m.bytes % 16).toBe(0);
  expect(m.bytes).toBeLessThanOrEqual(Math.min(info.limits.maxStorageBufferBindingSize, info.limits.maxBufferSize));
  expect(m.read.samples.length).toBeGreaterThanOrEqual(3);
  expect(m.read.samples.every(positive)).toBe(true);
  expect(m.read.seconds).toBeCloseTo(median(m.read.samples), 12);
  expect(m.readGBps / (m.bytes / m.read.seconds / 1e9)).toBeCloseTo(1, 9);

  // compute: 16 chains × 2 flops per multiply-add, per thread and iteration
  expect(m.fma.flops).toBe(m.fma.threads * m.fma.iters * 16 * 2);
  expect(m.fma.samples.length).toBeGreaterThanOrEqual(3);
  expect(m.fma.samples.every(positive)).toBe(true);
  expect(m.fma.seconds).toBeCloseTo(median(m.fma.samples), 12);
  expect(m.fmaGflops / (m.fma.flops / m.fma.seconds / 1e9)).toBeCloseTo(1, 9);

  // every timed pass happened inside the measurement's wall time, itself inside the round trip
  const timedMs = 1000 * (m.read.samples.reduce((a, s) => a + s, 0) * m.read.dispatchesPerPass + m.fma.samples.reduce((a, s) => a + s, 0) * m.fma.dispatchesPerPass);
  expect(timedMs).toBeLessThanOrEqual(m.ms);
  expect(m.ms).toBeLessThanOrEqual(r.roundTripMs);

  // timing method and sizes follow the device
  expect(['timestamp-query', 'wall-clock']).toContain(m.timing);
  if (m.timing === 'timestamp-query') expect(info.features).toContain('timestamp-query');
  if (info.isFallbackAdapter) expect(m.cpuAdapter).toBe(true);
  expect(m.bytes).toBeGreaterThanOrEqual(m.cpuAdapter ? 4 * MiB : 16 * MiB);
  expect(m.ms, 'sanity: a measurement is seconds, not minutes').toBeLessThan(60_000);
}

function describe(r: MeasureReport): string {
  const m = r.m!;
  const us = (s: number) => `${(s * 1e6).toFixed(0)} µs`;
  return [
    `adapter: ${JSON.stringify({ vendor: r.info!.vendor, architecture: r.info!.architecture, description: r.info!.description, isFallbackAdapter: r.info!.isFallbackAdapter })}`,
    `timing: ${m.timing}${m.cpuAdapter ? ' (CPU adapter: small sizes)' : ''}`,
    `read:  ${m.readGBps.toFixed(2)} GB/s — ${m.bytes / MiB} MiB per dispatch, median ${us(m.read.seconds)}, ${m.read.dispatchesPerPass} dispatches/pass, samples ${m.read.samples.map(us).join(' ')} (${m.read.variant})`,
    `fma:   ${m.fmaGflops.toFixed(2)} GFLOP/s — ${m.fma.threads} threads × ${m.fma.iters} iters × 16 chains, median ${us(m.fma.seconds)}, ${m.fma.dispatchesPerPass} dispatches/pass, samples ${m.fma.samples.map(us).join(' ')} (${m.fma.variant})`,
    `whole measurement: ${m.ms.toFixed(0)} ms (round trip ${r.roundTripMs.toFixed(0)} ms)`,
  ].join('\n');
}

test('measureDevice through the engine API: positive, finite, self-consistent; twice in a row', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/test/gpu/pages/measure.html');
  await page.waitForFunction(() => window.criaMeasure !== undefined);

  const first = await page.evaluate(() => window.criaMeasure!.run());
  check(first);
  console.log(`measureDevice, first run:\n${describe(first)}`);
  // again: pipelines come from the cache, the first run's buffers were released
  const second = await page.evaluate(() => window.criaMeasure!.run());
  check(second);
  console.log(`measureDevice, second run:\n${describe(second)}`);
  await testInfo.attach('measure.json', { body: JSON.stringify([first, second], null, 2), contentType: 'application/json' });
  expect(errors, 'page errors').toEqual([]);
});

test('measureDevice timed by the wall clock (the path for devices without timestamp-query)', async ({ page }) => {
  await page.goto('/test/gpu/pages/measure.html');
  await page.waitForFunction(() => window.criaMeasure !== undefined);
  const r = await page.evaluate(() => window.criaMeasure!.runDirect({ timing: 'wall-clock' }));
  check(r);
  expect(r.m!.timing).toBe('wall-clock');
  console.log(`measureDevice, wall-clock timing, on the page's own device:\n${describe(r)}`);
});

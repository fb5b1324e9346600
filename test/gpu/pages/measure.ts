/**
 * Device measurement page: `window.criaMeasure.run()` measures the adapter the
 * way the app does — createClient() → engine worker → measureDevice — and
 * returns the result (with the worker's detail fields: timing, per-benchmark
 * samples), the device info and the round-trip time, or the error.
 * `runDirect(opts)` calls src/gpu/measure.ts on this page's own device, with
 * options (e.g. wall-clock timing where timestamp queries exist).
 * test/gpu/measure.spec.ts asserts them.
 */
import { createClient, type DeviceInfo, type DeviceMeasurement } from '../../../src/client/index.ts';
import { createGpu } from '../../../src/gpu/device.ts';
import { measureDevice, type DeviceMeasurementDetail, type MeasureOptions } from '../../../src/gpu/measure.ts';

const client = createClient();

const errorOf = (e: unknown) => {
  const err = e as { code?: string; message?: string };
  return { code: err.code ?? null, message: err.message ?? String(e) };
};

export interface MeasureReport {
  m: DeviceMeasurementDetail | null;
  info: DeviceInfo | null;
  roundTripMs: number;
  error: { code: string | null; message: string } | null;
}

declare global {
  interface Window {
    criaMeasure?: { run(): Promise<MeasureReport>; runDirect(opts: MeasureOptions): Promise<MeasureReport> };
  }
}

window.criaMeasure = {
  async run() {
    const t0 = performance.now();
    try {
      // the worker returns the detail type; the protocol promises its first four fields
      const m: DeviceMeasurement = await client.measureDevice();
      const roundTripMs = performance.now() - t0;
      const info = await client.deviceInfo();
      document.getElementById('out')!.textContent += JSON.stringify(m, null, 2) + '\n';
      return { m: m as DeviceMeasurementDetail, info, roundTripMs, error: null };
    } catch (e) {
      return { m: null, info: null, roundTripMs: performance.now() - t0, error: errorOf(e) };
    }
  },

  async runDirect(opts) {
    const t0 = performance.now();
    try {
      const ctx = await createGpu();
      const m = await measureDevice(ctx, opts);
      const roundTripMs = performance.now() - t0;
      ctx.device.destroy();
      return { m, info: ctx.info, roundTripMs, error: null };
    } catch (e) {
      return { m: null, info: null, roundTripMs: performance.now() - t0, error: errorOf(e) };
    }
  },
};

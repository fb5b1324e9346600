/**
 * WebGPU smoke test page (served by Vite at /test/gpu/pages/smoke.html).
 *
 * Gets an adapter and device, reports what the adapter offers, runs
 * test/gpu/pages/smoke_saxpy.wgsl over N elements and reads the result back.
 * Checking the numbers is the spec's job (test/gpu/smoke.spec.ts); this page
 * only reports. The report is exposed as `window.criaSmoke` (a promise) and
 * printed on the page for people.
 */
import shaderCode from './smoke_saxpy.wgsl?raw';

export interface SmokeReport {
  ok: boolean;
  /** Set when ok is false: what failed and what to do. */
  error?: string;
  adapter?: {
    info: Record<string, string | boolean>;
    features: string[];
    limits: Record<string, number>;
  };
  saxpy?: {
    n: number;
    a: number;
    b: number;
    wg: number;
    workgroups: number;
    /** Length of y on the GPU: workgroups * wg, i.e. longer than n. */
    yLength: number;
    /** Value y was filled with before the dispatch; y[n..] must still hold it. */
    sentinel: number;
    x: number[];
    y: number[];
  };
  compilationMessages: string[];
  ms: { adapter?: number; device?: number; compute?: number };
}

declare global {
  interface Window {
    criaSmoke?: Promise<SmokeReport>;
  }
}

const N = 1000; // not a multiple of WG: exercises the `i >= n` guard
const WG = 64;
const A = 1.5;
const B = 0.25;
const SENTINEL = -7;

/** Every readable attribute of a WebIDL object (its getters live on the prototype, so JSON.stringify sees nothing). */
function attributes<T>(obj: object, keep: (v: unknown) => v is T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key in obj) {
    const value = (obj as Record<string, unknown>)[key];
    if (keep(value)) out[key] = value;
  }
  return out;
}
const isNumber = (v: unknown): v is number => typeof v === 'number';
const isInfo = (v: unknown): v is string | boolean => typeof v === 'string' || typeof v === 'boolean';

async function run(): Promise<SmokeReport> {
  const report: SmokeReport = { ok: false, compilationMessages: [], ms: {} };
  if (!('gpu' in navigator) || !navigator.gpu) {
    report.error =
      'WebGPU unavailable: navigator.gpu is missing. Use a recent Chrome or Edge over http://127.0.0.1 or https ' +
      '(a secure context), launched with the flags in src/cli/chromium.ts.';
    return report;
  }

  let t = performance.now();
  const adapter = await navigator.gpu.requestAdapter();
  report.ms.adapter = performance.now() - t;
  if (!adapter) {
    report.error =
      'WebGPU unavailable: navigator.gpu.requestAdapter() returned null (no usable GPU adapter). ' +
      'Headless Chromium needs the SwiftShader flags in src/cli/chromium.ts; see chrome://gpu in a real browser.';
    return report;
  }
  report.adapter = {
    info: attributes(adapter.info, isInfo),
    features: [...adapter.features].sort(),
    limits: attributes(adapter.limits, isNumber),
  };

  t = performance.now();
  const device = await adapter.requestDevice();
  report.ms.device = performance.now() - t;
  let lostReason: string | undefined;
  void device.lost.then((info) => {
    lostReason = `${info.reason}: ${info.message}`;
  });

  try {
    t = performance.now();
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');

    const module = device.createShaderModule({ label: 'smoke_saxpy', code: shaderCode });
    const info = await module.getCompilationInfo();
    report.compilationMessages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
    const pipeline = await device.createComputePipelineAsync({
      label: 'smoke_saxpy',
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: { WG } },
    });

    const workgroups = Math.ceil(N / WG);
    const yLength = workgroups * WG;

    // Params { n: u32 @0, a: f32 @4, b: f32 @8, _pad: u32 @12 }, as in test/gpu/pages/smoke_saxpy.wgsl.
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 1)[0] = N;
    new Float32Array(params, 4, 2).set([A, B]);
    const paramsBuf = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(paramsBuf, 0, params);

    // x[i] = (i - 500) / 8: small multiples of 1/8, so a*x and a*x+b are exact in f32 (see the spec).
    const x = Float32Array.from({ length: N }, (_, i) => (i - 500) / 8);
    const xBuf = device.createBuffer({ size: x.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(xBuf, 0, x);

    const yBytes = yLength * 4;
    const yBuf = device.createBuffer({
      size: yBytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Float32Array(yBuf.getMappedRange()).fill(SENTINEL);
    yBuf.unmap();
    const readBuf = device.createBuffer({ size: yBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: paramsBuf } },
        { binding: 1, resource: { buffer: xBuf } },
        { binding: 2, resource: { buffer: yBuf } },
      ],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups);
    pass.end();
    encoder.copyBufferToBuffer(yBuf, 0, readBuf, 0, yBytes);
    device.queue.submit([encoder.finish()]);

    await readBuf.mapAsync(GPUMapMode.READ);
    const y = Array.from(new Float32Array(readBuf.getMappedRange().slice(0)));
    readBuf.unmap();
    report.ms.compute = performance.now() - t;

    const oom = await device.popErrorScope();
    const validation = await device.popErrorScope();
    const gpuError = validation ?? oom;
    if (gpuError) throw new Error(`WebGPU ${validation ? 'validation' : 'out-of-memory'} error: ${gpuError.message}`);
    if (lostReason) throw new Error(`WebGPU device lost: ${lostReason}`);

    report.saxpy = { n: N, a: A, b: B, wg: WG, workgroups, yLength, sentinel: SENTINEL, x: Array.from(x), y };
    report.ok = true;
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
  } finally {
    device.destroy();
  }
  return report;
}

function show(report: SmokeReport): void {
  const status = document.getElementById('status')!;
  status.dataset.status = report.ok ? 'ok' : 'error';
  status.textContent = report.ok ? 'WebGPU works: saxpy ran and was read back.' : report.error ?? 'failed';
  const { saxpy, ...rest } = report;
  const summary = saxpy ? { ...rest, saxpy: { ...saxpy, x: `[${saxpy.x.length} values]`, y: saxpy.y.slice(0, 8) } } : rest;
  document.getElementById('report')!.textContent = JSON.stringify(summary, null, 2);
}

window.criaSmoke = run().catch(
  (e: unknown): SmokeReport => ({
    ok: false,
    error: `smoke page crashed: ${e instanceof Error ? e.message : String(e)}`,
    compilationMessages: [],
    ms: {},
  }),
);
void window.criaSmoke.then(show);

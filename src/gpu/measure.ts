/**
 * Measuring the adapter: streaming read bandwidth (kernels/bench_read.wgsl)
 * and f32 multiply-add throughput (kernels/bench_fma.wgsl), for the app's
 * Device page and as the roof of the roofline that benchmarks compare decode
 * speed against.
 *
 * Each benchmark: compile, one warm-up pass, one calibration pass that picks
 * how many dispatches a timed pass holds (so a pass lasts ~`targetPassMs`,
 * far above timer granularity and submit overhead), then a few timed passes;
 * the result is the median time per dispatch.
 *
 * Timing: with the `timestamp-query` feature (createGpu enables it when the
 * adapter has it) each pass writes GPU timestamps at its beginning and end —
 * pure GPU time. Without it, wall-clock from `queue.submit` to
 * `onSubmittedWorkDone()`: it includes the submit and the callback latency
 * (tens to hundreds of µs), which the long passes make small, and errs on the
 * slow side. The result says which was used (`timing`).
 *
 * Sizes (GPU_SIZES, CPU_SIZES below): 256 MiB of reads on a GPU (more than
 * any GPU's last-level cache; capped by maxStorageBufferBindingSize and
 * maxBufferSize, halved on out-of-memory), 32 MiB on a CPU adapter
 * (SwiftShader, llvmpipe, WARP), where everything runs on the CPU and the
 * whole measurement must stay around a second. The read buffer holds pseudo-random words (no
 * zero pages a GPU could compress), and both results are checked against the
 * CPU references afterwards, so a dispatch that silently did nothing cannot
 * report an absurd speed.
 */
import type { DeviceMeasurement } from '../protocol/api.ts';
import { isCpuAdapter } from './device.ts';
import { CriaError } from '../shared/errors.ts';
import { Rng } from '../shared/rng.ts';
import { benchFma as benchFmaReference } from '../reference/bench_fma.ts';
import { wrappingSum } from '../reference/bench_read.ts';
import { assertAlive, type DeviceInfo, type GpuContext } from './device.ts';
import { PipelineCache, variantKey, type KernelDef, type Variant } from './kernel.ts';
import { benchFmaKernel, benchFmaPlan } from './kernels/bench_fma.ts';
import { benchReadKernel, benchReadPlan } from './kernels/bench_read.ts';
import { encodeStruct } from './wgsl.ts';

export type TimingMethod = 'timestamp-query' | 'wall-clock';

export interface BenchResult {
  /** variant key of the pipeline measured */
  variant: string;
  /** median seconds per dispatch */
  seconds: number;
  /** seconds per dispatch of each timed pass */
  samples: number[];
  /** dispatches per timed pass */
  dispatchesPerPass: number;
}

/** `DeviceMeasurement` plus how it was obtained (structured-clone safe; the protocol type is the first four fields). */
export interface DeviceMeasurementDetail extends DeviceMeasurement {
  /** 'wall-clock' also when some pass's timestamps were unusable (0 or reversed) and it was timed by the clock */
  timing: TimingMethod;
  /** a CPU implementation of WebGPU (sizes were chosen small) */
  cpuAdapter: boolean;
  /** readGBps = read.bytes / read.seconds / 1e9 */
  read: BenchResult & { bytes: number };
  /** fmaGflops = fma.flops / fma.seconds / 1e9 */
  fma: BenchResult & { flops: number; threads: number; iters: number };
}

export interface MeasureOptions {
  /** bytes read per dispatch (default: 256 MiB on a GPU, 32 MiB on a CPU adapter, within the limits) */
  readBytes?: number;
  /** bench_fma threads per dispatch (default 2²⁰ on a GPU, 2¹⁴ on a CPU adapter) */
  fmaThreads?: number;
  /** how long a timed pass should last (default 20 ms) */
  targetPassMs?: number;
  /** timed passes per benchmark (default 5; fewer when a pass is slow) */
  reps?: number;
  /** force wall-clock timing even when timestamp queries exist */
  timing?: TimingMethod;
}

const MiB = 2 ** 20;
/** the fill pattern's period: pseudo-random words, repeated */
const PATTERN_BYTES = MiB;
const MIN_READ_BYTES = 4 * MiB;
/** at most this many dispatches in one timed pass */
const MAX_DISPATCHES_PER_PASS = 256;
/** per benchmark, after calibration: fewer repetitions when passes are slow (a CPU adapter) */
const BUDGET_MS = 600;
/** bench_fma constants: a = 15/16 keeps every chain bounded (→ b / (1 − a) = 1.6) and normal */
const FMA_A = 0.9375;
const FMA_B = 0.1;

/**
 * Sizes and tunables per kind of adapter.
 * GPU: 256 MiB of reads (above any GPU's last-level cache) in 64 KiB slices: thousands of
 * workgroups; 2²⁰ threads × 256 multiply-adds per chain: 8.6 GFLOP per dispatch.
 * CPU adapter (SwiftShader, llvmpipe, WARP): 32 MiB in 1 MiB slices and 2¹⁴ threads × 1024
 * steps. Every workgroup costs ~0.1 ms there (its invocations run as coroutines on a few cores),
 * which 64 KiB slices or short chains would measure instead of memory and arithmetic: on
 * SwiftShader with 2 cores, 64 KiB slices gave 0.15 GB/s, 1 MiB slices ~2.5 GB/s.
 */
const GPU_SIZES = { readBytes: 256 * MiB, VEC4_PER_THREAD: 16, fmaThreads: 2 ** 20, ITERS: 256 };
const CPU_SIZES = { readBytes: 32 * MiB, VEC4_PER_THREAD: 256, fmaThreads: 2 ** 14, ITERS: 1024 };

export { isCpuAdapter };

/** Bytes the bandwidth benchmark reads per dispatch on this device (a multiple of the 1 MiB pattern). */
export function readBytesFor(ctx: GpuContext, opts: MeasureOptions = {}): number {
  const cap = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const want = opts.readBytes ?? (isCpuAdapter(ctx.info) ? CPU_SIZES : GPU_SIZES).readBytes;
  const bytes = Math.floor(Math.min(want, cap) / PATTERN_BYTES) * PATTERN_BYTES;
  if (bytes < PATTERN_BYTES) throw new CriaError('bad-argument', `measureDevice: read size ${want} B is below the ${PATTERN_BYTES} B pattern (cap ${cap} B)`);
  return bytes;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Times one compute pass: GPU timestamps when available, else wall-clock around the submit. */
class PassTimer {
  private readonly querySet?: GPUQuerySet;
  private readonly resolve?: GPUBuffer;
  private readonly readBuf?: GPUBuffer;
  /** passes whose timestamps were unusable (0 or reversed), timed by wall clock instead */
  fellBack = 0;

  constructor(
    private readonly device: GPUDevice,
    readonly method: TimingMethod,
  ) {
    if (method === 'timestamp-query') {
      this.querySet = device.createQuerySet({ label: 'measure timestamps', type: 'timestamp', count: 2 });
      this.resolve = device.createBuffer({ label: 'measure timestamps', size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.readBuf = device.createBuffer({ label: 'measure timestamps readback', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
  }

  /** seconds the pass took */
  async time(encode: (pass: GPUComputePassEncoder) => void): Promise<number> {
    const enc = this.device.createCommandEncoder({ label: 'measure' });
    const pass = enc.beginComputePass(this.querySet ? { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    encode(pass);
    pass.end();
    if (this.querySet) {
      enc.resolveQuerySet(this.querySet, 0, 2, this.resolve!, 0);
      enc.copyBufferToBuffer(this.resolve!, 0, this.readBuf!, 0, 16);
    }
    this.device.pushErrorScope('validation');
    const cmd = enc.finish();
    const t0 = performance.now();
    this.device.queue.submit([cmd]);
    const err = this.device.popErrorScope();
    await this.device.queue.onSubmittedWorkDone();
    const wall = (performance.now() - t0) / 1000;
    const e = await err;
    if (e) throw new CriaError('internal', `measureDevice: WebGPU validation error: ${e.message}`);
    if (!this.readBuf) return wall;
    await this.readBuf.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(this.readBuf.getMappedRange().slice(0));
    this.readBuf.unmap();
    const ns = Number(end - begin);
    if (begin === 0n || !(ns > 0)) {
      this.fellBack++;
      return wall;
    }
    return ns / 1e9;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
    this.readBuf?.destroy();
  }
}

interface Dispatch {
  kernel: KernelDef;
  variant: Variant;
  params: Record<string, number>;
  grid: readonly [number, number, number];
}

/** warm-up, calibration, timed passes of `d` bound to `buffers` (storage bindings 1..n) */
async function bench(device: GPUDevice, timer: PassTimer, pipeline: GPUComputePipeline, d: Dispatch, buffers: GPUBuffer[], opts: MeasureOptions, made: GPUBuffer[]): Promise<BenchResult> {
  const layout = d.kernel.params!;
  const uniform = device.createBuffer({ label: `${d.kernel.name} params`, size: layout.size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  made.push(uniform);
  device.queue.writeBuffer(uniform, 0, encodeStruct(layout, d.params));
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: uniform } }, ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }))],
  });
  const run = (k: number) =>
    timer.time((pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      for (let i = 0; i < k; i++) pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
    });
  await run(1); // first use: lazy allocation, cold caches and TLBs
  const one = await run(1);
  const target = (opts.targetPassMs ?? 20) / 1000;
  const k = Math.max(1, Math.min(MAX_DISPATCHES_PER_PASS, Math.round(target / one)));
  const reps = Math.max(3, Math.min(opts.reps ?? 5, Math.floor(BUDGET_MS / 1000 / (one * k))));
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) samples.push((await run(k)) / k);
  return { variant: variantKey(d.kernel, d.variant), seconds: median(samples), samples, dispatchesPerPass: k };
}

async function readBack(device: GPUDevice, src: GPUBuffer, bytes: number, made: GPUBuffer[]): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ label: 'measure readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  made.push(staging);
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.unmap();
  return out;
}

/** A storage buffer of `bytes`, halved on out-of-memory down to MIN_READ_BYTES. */
async function createReadBuffer(device: GPUDevice, bytes: number): Promise<GPUBuffer> {
  for (let b = bytes; ; b = Math.floor(b / 2 / PATTERN_BYTES) * PATTERN_BYTES) {
    device.pushErrorScope('out-of-memory');
    const buf = device.createBuffer({ label: 'bench_read src', size: b, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const oom = await device.popErrorScope();
    if (!oom) return buf;
    buf.destroy();
    if (b / 2 < MIN_READ_BYTES) throw new CriaError('out-of-memory', `measureDevice: the GPU could not allocate ${b / MiB} MiB for the bandwidth test; close other GPU-heavy tabs and try again`);
  }
}

export async function measureDevice(ctx: GpuContext, opts: MeasureOptions = {}): Promise<DeviceMeasurementDetail> {
  assertAlive(ctx);
  const t0 = performance.now();
  const device = ctx.device;
  const cpuAdapter = isCpuAdapter(ctx.info);
  const sizes = cpuAdapter ? CPU_SIZES : GPU_SIZES;
  const method: TimingMethod = opts.timing ?? (device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock');
  const timer = new PassTimer(device, method);
  const made: GPUBuffer[] = [];
  try {
    // bandwidth: pseudo-random words, a 1 MiB pattern repeated
    const src = await createReadBuffer(device, readBytesFor(ctx, opts));
    made.push(src);
    const bytes = src.size;
    const rng = new Rng(0x5eed);
    const pattern = Uint32Array.from({ length: PATTERN_BYTES / 4 }, () => rng.nextU32());
    for (let o = 0; o < bytes; o += PATTERN_BYTES) device.queue.writeBuffer(src, o, pattern);
    const readPlan = benchReadPlan(device.limits, bytes / 16, { VEC4_PER_THREAD: sizes.VEC4_PER_THREAD });
    const fmaThreads = opts.fmaThreads ?? sizes.fmaThreads;
    const fmaPlan = benchFmaPlan(device.limits, fmaThreads, FMA_A, FMA_B, { ITERS: sizes.ITERS });
    const pipelines = PipelineCache.for(device);
    const [readPipe, fmaPipe] = await Promise.all([pipelines.get(benchReadKernel, readPlan.variant), pipelines.get(benchFmaKernel, fmaPlan.variant)]);

    const readOut = device.createBuffer({ label: 'bench_read out', size: readPlan.groups * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    made.push(readOut);
    const read = await bench(device, timer, readPipe, { kernel: benchReadKernel, ...readPlan }, [src, readOut], opts, made);
    // the group sums add up (mod 2³²) to the sum of every word: each byte was read
    const got = wrappingSum(new Uint32Array(await readBack(device, readOut, readPlan.groups * 4, made)));
    const want = Math.imul(wrappingSum(pattern), bytes / PATTERN_BYTES) >>> 0;
    if (got !== want) throw new CriaError('internal', `measureDevice: bench_read summed ${got}, expected ${want}; the bandwidth would be meaningless`, { got, want });

    const fmaOut = device.createBuffer({ label: 'bench_fma out', size: fmaThreads * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    made.push(fmaOut);
    const fma = await bench(device, timer, fmaPipe, { kernel: benchFmaKernel, ...fmaPlan }, [fmaOut], opts, made);
    // the first threads against the CPU recurrence (1e-5: fused vs separate rounding, test/gpu/kernels/bench_fma.test.ts)
    const n = Math.min(fmaThreads, 8);
    const gotF = new Float32Array(await readBack(device, fmaOut, n * 4, made));
    const wantF = benchFmaReference(Array.from({ length: n }, (_, i) => i), fmaPlan.ITERS, FMA_A, FMA_B);
    for (let i = 0; i < n; i++) {
      if (!(Math.abs(gotF[i] - wantF[i]) <= 1e-5 * Math.abs(wantF[i]))) {
        throw new CriaError('internal', `measureDevice: bench_fma thread ${i} gave ${gotF[i]}, expected ${wantF[i]}; the throughput would be meaningless`);
      }
    }

    return {
      readGBps: bytes / read.seconds / 1e9,
      fmaGflops: fmaPlan.flops / fma.seconds / 1e9,
      bytes,
      ms: performance.now() - t0,
      timing: timer.fellBack ? 'wall-clock' : method,
      cpuAdapter,
      read: { ...read, bytes },
      fma: { ...fma, flops: fmaPlan.flops, threads: fmaThreads, iters: fmaPlan.ITERS },
    };
  } catch (e) {
    if (ctx.isLost) throw new CriaError('device-lost', 'the GPU device was lost while measuring it (driver reset, sleep, or too much memory); try again');
    throw e;
  } finally {
    for (const b of made) b.destroy();
    timer.destroy();
  }
}

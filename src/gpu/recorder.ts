/**
 * The recorder: ops append dispatches and copies; `flush()` resolves their
 * pipelines, writes every uniform in one write, encodes everything into ONE
 * command encoder, submits once and maps the requested readbacks. Counters
 * (dispatches, submits, bytes read back, buffers created, bytes allocated)
 * make the cost per token and the memory visible to tests and benchmarks.
 *
 * Temporaries (`temp()`) are handles, not buffers: at flush time each gets a
 * pooled physical buffer for exactly the commands between its first and last
 * use (a liveness pass, as ggml's graph allocator does), so a forward pass
 * over many tokens needs the memory of a few live activations, not of all
 * of them. Physical buffers return to a size-bucketed pool; a steady decode
 * loop creates none, and buffers unused for two flushes (e.g. after a long
 * prompt) are destroyed.
 *
 * Lifetime rule: a temporary is valid until the end of the next `flush()`;
 * read what you need before (with `readback`).
 */
import { CriaError } from '../shared/errors.ts';
import { assertAlive, type GpuContext } from './device.ts';
import { PipelineCache, variantKey, type KernelDef, type Variant } from './kernel.ts';
import { encodeStruct } from './wgsl.ts';

let tempIds = 0;

/** A temporary buffer: a physical one is assigned at flush, for the span of its uses. */
export class TempBuffer {
  readonly id = tempIds++;
  constructor(
    /** bytes (bucketed) */
    readonly size: number,
  ) {}
}

/** A real buffer, or a temporary that becomes one at flush. */
export type GpuBuf = GPUBuffer | TempBuffer;

export interface BufferRef {
  buffer: GpuBuf;
  offset?: number;
  size?: number;
}

export interface DispatchCmd {
  kind: 'dispatch';
  kernel: KernelDef;
  variant: Variant;
  params?: Record<string, number | readonly number[]>;
  /** storage bindings in @binding order, after the Params uniform (binding 0) when the kernel has one */
  bindings: readonly (GpuBuf | BufferRef)[];
  grid: readonly [number, number, number];
}

interface CopyCmd {
  kind: 'copy';
  src: GpuBuf;
  srcOffset: number;
  dst: GpuBuf;
  dstOffset: number;
  size: number;
}

interface Readback {
  src: GpuBuf;
  offset: number;
  size: number;
  resolve: (b: ArrayBuffer) => void;
  reject: (e: unknown) => void;
}

/** One dispatch's GPU time, from timestamp queries (`Recorder.timeDispatches`). */
export interface DispatchTime {
  kernel: string;
  /** the label of the first bound buffer that has one ending in .weight (the weight it multiplies), else '' */
  weight: string;
  ns: number;
}

/** Dispatches timed per flush at most (two queries each; WebGPU allows 4096 queries per set). */
const MAX_TIMED = 2048;

export interface RecorderStats {
  dispatches: number;
  submits: number;
  bytesReadBack: number;
  buffersCreated: number;
  /**
   * Bytes of the GPU buffers made by `createBuffer` that are not destroyed yet
   * (weights, KV cache, rope tables, the temp pool, staging, uniforms): the
   * recorder's share of GPU memory, as allocated sizes.
   */
  bytesAllocated: number;
  /** the most `bytesAllocated` has been (e.g. during a long prompt) */
  peakBytesAllocated: number;
  flushes: number;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Pool sizes: multiples of 256 B below 64 KiB, powers of two above (prefill chunks vary in size). */
function bucket(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  return 2 ** Math.ceil(Math.log2(b));
}

const isTemp = (b: GpuBuf): b is TempBuffer => b instanceof TempBuffer;

interface Pooled {
  buffer: GPUBuffer;
  lastFlush: number;
}

export class Recorder {
  readonly device: GPUDevice;
  readonly pipelines: PipelineCache;
  readonly stats: RecorderStats = { dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0, bytesAllocated: 0, peakBytesAllocated: 0, flushes: 0 };
  private cmds: (DispatchCmd | CopyCmd)[] = [];
  /** CPU data for temporaries, written just before the submit that uses them */
  private writes: { dst: TempBuffer; offset: number; data: Uint8Array }[] = [];
  private readonly free = new Map<number, Pooled[]>();
  private readonly stagingFree = new Map<number, GPUBuffer[]>();
  private readbacks: Readback[] = [];
  private uniform?: GPUBuffer;
  private readonly align: number;
  /** profiling: timestamp queries around every dispatch (see timeDispatches) */
  private timing?: { querySet: GPUQuerySet; resolve: GPUBuffer; read: GPUBuffer; results: DispatchTime[] };

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.pipelines = PipelineCache.for(this.device);
    this.align = this.device.limits.minUniformBufferOffsetAlignment;
  }

  /** Create a buffer that lives until `destroy` (weights, KV cache, test inputs). */
  createBuffer(bytes: number, label: string, usage = STORAGE): GPUBuffer {
    this.stats.buffersCreated++;
    const buf = this.device.createBuffer({ label, size: Math.ceil(Math.max(bytes, 4) / 4) * 4, usage });
    // Owners destroy buffers directly (backend.dispose, a replaced uniform
    // buffer, …), so the count is kept by the buffer's own destroy; a second
    // destroy is a no-op in WebGPU and is not subtracted twice.
    this.stats.bytesAllocated += buf.size;
    this.stats.peakBytesAllocated = Math.max(this.stats.peakBytesAllocated, this.stats.bytesAllocated);
    const destroy = buf.destroy.bind(buf);
    let live = true;
    buf.destroy = () => {
      if (live) this.stats.bytesAllocated -= buf.size;
      live = false;
      destroy();
    };
    return buf;
  }

  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buf = this.createBuffer(data.byteLength, label);
    this.write(buf, data);
    return buf;
  }

  /** Write CPU data: to a real buffer now (queue order), to a temporary just before its flush's submit. */
  write(buf: GpuBuf, data: ArrayBufferView, offset = 0): void {
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // writeBuffer needs a size that is a multiple of 4
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    if (isTemp(buf)) this.writes.push({ dst: buf, offset, data: bytes.slice() });
    else this.device.queue.writeBuffer(buf, offset, bytes);
  }

  /** A temporary storage buffer of at least `bytes`, valid until the end of the next flush. */
  temp(bytes: number): TempBuffer {
    return new TempBuffer(bucket(bytes));
  }

  dispatch(cmd: Omit<DispatchCmd, 'kind'>): void {
    const [x, y, z] = cmd.grid;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new CriaError('internal', `${cmd.kernel.name}: grid ${x}×${y}×${z} exceeds maxComputeWorkgroupsPerDimension ${max}`);
    if (x === 0 || y === 0 || z === 0) return;
    this.cmds.push({ kind: 'dispatch', ...cmd });
  }

  copy(src: GpuBuf, srcOffset: number, dst: GpuBuf, dstOffset: number, size: number): void {
    if (size === 0) return;
    if (srcOffset % 4 || dstOffset % 4 || size % 4) throw new CriaError('internal', `unaligned buffer copy (${srcOffset}, ${dstOffset}, ${size})`);
    this.cmds.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  /** Read `size` bytes of `src` at `offset` after the next flush. */
  readback(src: GpuBuf, offset: number, size: number): Promise<ArrayBuffer> {
    return new Promise((resolve, reject) => this.readbacks.push({ src, offset, size, resolve, reject }));
  }

  /**
   * Profiling (test/gpu/pages/cost.ts): from the next flush on, every dispatch runs in its own compute
   * pass with timestamp queries at its start and end, and `takeDispatchTimes` returns their GPU times.
   * One pass per dispatch is not how the engine runs (it records one pass per flush), so use it for
   * where the time goes, not for the step's total. Returns false, and times nothing, on devices
   * without `timestamp-query`.
   */
  timeDispatches(on: boolean): boolean {
    if (!on) {
      if (this.timing) for (const b of [this.timing.resolve, this.timing.read]) b.destroy();
      this.timing?.querySet.destroy();
      this.timing = undefined;
      return false;
    }
    if (!this.device.features.has('timestamp-query')) return false;
    this.timing ??= {
      querySet: this.device.createQuerySet({ label: 'dispatch timing', type: 'timestamp', count: 2 * MAX_TIMED }),
      resolve: this.device.createBuffer({ label: 'dispatch timing', size: 16 * MAX_TIMED, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      read: this.device.createBuffer({ label: 'dispatch timing readback', size: 16 * MAX_TIMED, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
      results: [],
    };
    return true;
  }

  /** The dispatch times of the flushes since the last call, in order. */
  takeDispatchTimes(): DispatchTime[] {
    if (!this.timing) return [];
    const all = this.timing.results;
    this.timing.results = [];
    return all;
  }

  /** Wait for pipelines of everything recorded so far (compile ahead of the hot path). */
  async prepare(): Promise<void> {
    await Promise.all(this.cmds.filter((c): c is DispatchCmd => c.kind === 'dispatch').map((c) => this.pipelines.get(c.kernel, c.variant)));
  }

  /**
   * Give every temporary a physical buffer for the commands from its first to
   * its last use. Temporaries the CPU writes or reads back stay bound for the
   * whole flush (their writes happen before, their readbacks after, all commands).
   */
  private assign(cmds: readonly (DispatchCmd | CopyCmd)[], readbacks: readonly Readback[]): Map<TempBuffer, GPUBuffer> {
    const first = new Map<TempBuffer, number>();
    const last = new Map<TempBuffer, number>();
    const use = (b: GpuBuf, i: number) => {
      if (!isTemp(b)) return;
      if (!first.has(b)) first.set(b, i);
      last.set(b, Math.max(last.get(b) ?? i, i));
    };
    const END = cmds.length;
    for (const w of this.writes) use(w.dst, -1);
    cmds.forEach((c, i) => {
      if (c.kind === 'copy') {
        use(c.src, i);
        use(c.dst, i);
      } else for (const b of c.bindings) use('buffer' in b ? b.buffer : b, i);
    });
    for (const r of readbacks) use(r.src, END);
    for (const w of this.writes) last.set(w.dst, END); // written before the first command: keep it to the end

    const startAt = new Map<number, TempBuffer[]>();
    const endAt = new Map<number, TempBuffer[]>();
    for (const [t, i] of first) (startAt.get(i) ?? startAt.set(i, []).get(i)!).push(t);
    for (const [t, i] of last) (endAt.get(i) ?? endAt.set(i, []).get(i)!).push(t);
    const phys = new Map<TempBuffer, GPUBuffer>();
    const flush = this.stats.flushes;
    const take = (t: TempBuffer) => {
      const p = this.free.get(t.size)?.pop();
      const buffer = p?.buffer ?? this.createBuffer(t.size, `temp${t.size}`);
      phys.set(t, buffer);
    };
    const give = (t: TempBuffer) => {
      const buffer = phys.get(t)!;
      const p = { buffer, lastFlush: flush };
      (this.free.get(t.size) ?? this.free.set(t.size, []).get(t.size)!).push(p);
    };
    for (let i = -1; i <= END; i++) {
      for (const t of startAt.get(i) ?? []) take(t);
      // a buffer released after command i may serve a temporary first used at i + 1
      if (i < END) for (const t of endAt.get(i) ?? []) give(t);
    }
    // the ones used to the end go back to the pool after the flush (see flush's finally)
    this.pendingRelease = (endAt.get(END) ?? []).map((t) => ({ t, buffer: phys.get(t)! }));
    return phys;
  }

  private pendingRelease: { t: TempBuffer; buffer: GPUBuffer }[] = [];

  async flush(): Promise<void> {
    assertAlive(this.ctx);
    const cmds = this.cmds;
    const readbacks = this.readbacks;
    this.cmds = [];
    this.readbacks = [];
    let phys = new Map<TempBuffer, GPUBuffer>();
    try {
      const dispatches = cmds.filter((c): c is DispatchCmd => c.kind === 'dispatch');
      // pipelines: synchronous when cached, otherwise compile now
      const pipes = dispatches.map((d) => this.pipelines.peek(variantKey(d.kernel, d.variant)));
      if (pipes.some((p) => !p)) {
        const all = await Promise.all(dispatches.map((d) => this.pipelines.get(d.kernel, d.variant)));
        all.forEach((p, i) => (pipes[i] = p));
      }
      phys = this.assign(cmds, readbacks);
      const real = (b: GpuBuf): GPUBuffer => (isTemp(b) ? phys.get(b)! : b);
      for (const w of this.writes) this.device.queue.writeBuffer(real(w.dst), w.offset, w.data);
      this.writes = [];

      // uniforms: one slot per dispatch with Params, one writeBuffer
      const slot = (d: DispatchCmd) => Math.ceil((d.kernel.params?.size ?? 0) / this.align) * this.align;
      const total = dispatches.reduce((a, d) => a + slot(d), 0);
      const offsets: number[] = [];
      if (total > 0) {
        if (!this.uniform || this.uniform.size < total) {
          this.uniform?.destroy();
          this.uniform = this.createBuffer(bucket(total), 'uniforms', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
        }
        const data = new DataView(new ArrayBuffer(total));
        let o = 0;
        for (const d of dispatches) {
          offsets.push(o);
          if (d.kernel.params) {
            if (!d.params) throw new CriaError('internal', `${d.kernel.name}: Params values missing`);
            encodeStruct(d.kernel.params, d.params, data, o);
          }
          o += slot(d);
        }
        this.device.queue.writeBuffer(this.uniform, 0, data.buffer);
      }

      this.device.pushErrorScope('validation');
      const enc = this.device.createCommandEncoder();
      let pass: GPUComputePassEncoder | undefined;
      let di = 0;
      const timing = this.timing;
      const timed: { kernel: string; weight: string }[] | undefined = timing && [];
      for (const c of cmds) {
        if (c.kind === 'copy') {
          pass?.end();
          pass = undefined;
          enc.copyBufferToBuffer(real(c.src), c.srcOffset, real(c.dst), c.dstOffset, c.size);
          continue;
        }
        const i = di++;
        const pipeline = pipes[i]!;
        const entries: GPUBindGroupEntry[] = [];
        let b = 0;
        if (c.kernel.params) entries.push({ binding: b++, resource: { buffer: this.uniform!, offset: offsets[i], size: c.kernel.params.size } });
        for (const r of c.bindings) {
          entries.push({ binding: b++, resource: 'buffer' in r ? { buffer: real(r.buffer), offset: r.offset ?? 0, size: r.size } : { buffer: real(r) } });
        }
        const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
        if (timing && timed && timed.length < MAX_TIMED) {
          pass?.end();
          const q = 2 * timed.length;
          pass = enc.beginComputePass({ timestampWrites: { querySet: timing.querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
          const weight = c.bindings.map((r) => ('buffer' in r ? r.buffer : r)).find((r): r is GPUBuffer => !isTemp(r) && r.label.endsWith('.weight'));
          timed.push({ kernel: c.kernel.name, weight: weight?.label ?? '' });
        }
        pass ??= enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(c.grid[0], c.grid[1], c.grid[2]);
        this.stats.dispatches++;
      }
      pass?.end();
      if (timing && timed?.length) {
        enc.resolveQuerySet(timing.querySet, 0, 2 * timed.length, timing.resolve, 0);
        enc.copyBufferToBuffer(timing.resolve, 0, timing.read, 0, 16 * timed.length);
      }
      const staging = readbacks.map((r) => {
        const size = Math.ceil(r.size / 4) * 4;
        const s = this.stagingFree.get(size)?.pop() ?? this.createBuffer(size, 'staging', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
        enc.copyBufferToBuffer(real(r.src), r.offset, s, 0, size);
        return s;
      });
      this.device.queue.submit([enc.finish()]);
      this.stats.submits++;
      const err = await this.device.popErrorScope();
      if (err) throw new CriaError('internal', `WebGPU validation error: ${err.message}`);
      if (timing && timed?.length) {
        // mapped here, before the next flush can reuse the readback buffer
        await timing.read.mapAsync(GPUMapMode.READ, 0, 16 * timed.length);
        const t = new BigUint64Array(timing.read.getMappedRange(0, 16 * timed.length).slice(0));
        timing.read.unmap();
        timing.results.push(...timed.map((d, i) => ({ ...d, ns: Number(t[2 * i + 1] - t[2 * i]) })));
      }

      await Promise.all(
        readbacks.map(async (r, i) => {
          const s = staging[i];
          try {
            await s.mapAsync(GPUMapMode.READ);
          } catch (e) {
            assertAlive(this.ctx);
            throw e;
          }
          const out = s.getMappedRange(0, r.size).slice(0);
          s.unmap();
          this.stats.bytesReadBack += r.size;
          let list = this.stagingFree.get(s.size);
          if (!list) this.stagingFree.set(s.size, (list = []));
          list.push(s);
          r.resolve(out);
        }),
      );
    } catch (e) {
      const err = this.ctx.isLost ? new CriaError('device-lost', 'the GPU device was lost (driver reset, sleep, or too much memory); load the model again') : e;
      for (const r of readbacks) r.reject(err);
      throw err;
    } finally {
      this.writes = [];
      for (const { t, buffer } of this.pendingRelease) (this.free.get(t.size) ?? this.free.set(t.size, []).get(t.size)!).push({ buffer, lastFlush: this.stats.flushes });
      this.pendingRelease = [];
      this.stats.flushes++;
      this.trim();
    }
  }

  /** Destroy pooled temporaries unused in the last two flushes (e.g. a long prompt's activations). */
  private trim(): void {
    const keepFrom = this.stats.flushes - 2;
    for (const [size, list] of this.free) {
      const keep = list.filter((p) => p.lastFlush >= keepFrom);
      for (const p of list) if (p.lastFlush < keepFrom) p.buffer.destroy();
      if (keep.length) this.free.set(size, keep);
      else this.free.delete(size);
    }
  }

  /** Drop recorded work without running it (after an error). */
  discard(): void {
    this.cmds = [];
    this.writes = [];
    for (const r of this.readbacks) r.reject(new CriaError('aborted', 'discarded'));
    this.readbacks = [];
  }

  destroy(): void {
    for (const list of this.free.values()) for (const p of list) p.buffer.destroy();
    for (const list of this.stagingFree.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stagingFree.clear();
    this.uniform?.destroy();
  }
}

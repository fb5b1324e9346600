/**
 * The recorder: ops append dispatches and copies; `flush()` resolves their
 * pipelines, writes every uniform in one write, encodes everything into ONE
 * command encoder, submits once and maps the requested readbacks. Temporary
 * buffers come from a size-bucketed pool and return to it after the flush,
 * so a steady decode loop creates no buffers at all. Counters (dispatches,
 * submits, bytes read back, buffers created, bytes allocated) make the cost
 * per token and the memory visible to tests and benchmarks.
 *
 * Lifetime rule: a temporary buffer from `temp()` is valid until the end of
 * the next `flush()`; read what you need before (with `readback`).
 */
import { CriaError } from '../shared/errors.ts';
import { assertAlive, type GpuContext } from './device.ts';
import { PipelineCache, variantKey, type KernelDef, type Variant } from './kernel.ts';
import { encodeStruct } from './wgsl.ts';

export interface BufferRef {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

export interface DispatchCmd {
  kind: 'dispatch';
  kernel: KernelDef;
  variant: Variant;
  params?: Record<string, number | readonly number[]>;
  /** storage bindings in @binding order, after the Params uniform (binding 0) when the kernel has one */
  bindings: readonly (GPUBuffer | BufferRef)[];
  grid: readonly [number, number, number];
}

interface CopyCmd {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  size: number;
}

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
  flushes: number;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Pool sizes: multiples of 256 B below 64 KiB, powers of two above (prefill chunks vary in size). */
function bucket(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  return 2 ** Math.ceil(Math.log2(b));
}

export class Recorder {
  readonly device: GPUDevice;
  readonly pipelines: PipelineCache;
  readonly stats: RecorderStats = { dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0, bytesAllocated: 0, flushes: 0 };
  private cmds: (DispatchCmd | CopyCmd)[] = [];
  private readonly free = new Map<number, GPUBuffer[]>();
  private inUse: GPUBuffer[] = [];
  private readonly stagingFree = new Map<number, GPUBuffer[]>();
  private readbacks: { src: GPUBuffer; offset: number; size: number; resolve: (b: ArrayBuffer) => void; reject: (e: unknown) => void }[] = [];
  private uniform?: GPUBuffer;
  private readonly align: number;

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

  write(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // writeBuffer needs a size that is a multiple of 4
    if (bytes.byteLength % 4 === 0) this.device.queue.writeBuffer(buf, offset, bytes);
    else {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      this.device.queue.writeBuffer(buf, offset, padded);
    }
  }

  /** A temporary storage buffer of at least `bytes`, valid until the end of the next flush. */
  temp(bytes: number): GPUBuffer {
    const size = bucket(bytes);
    const list = this.free.get(size);
    const buf = list?.pop() ?? this.createBuffer(size, `temp${size}`);
    this.inUse.push(buf);
    return buf;
  }

  dispatch(cmd: Omit<DispatchCmd, 'kind'>): void {
    const [x, y, z] = cmd.grid;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new CriaError('internal', `${cmd.kernel.name}: grid ${x}×${y}×${z} exceeds maxComputeWorkgroupsPerDimension ${max}`);
    if (x === 0 || y === 0 || z === 0) return;
    this.cmds.push({ kind: 'dispatch', ...cmd });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size === 0) return;
    if (srcOffset % 4 || dstOffset % 4 || size % 4) throw new CriaError('internal', `unaligned buffer copy (${srcOffset}, ${dstOffset}, ${size})`);
    this.cmds.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  /** Read `size` bytes of `src` at `offset` after the next flush. */
  readback(src: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
    return new Promise((resolve, reject) => this.readbacks.push({ src, offset, size, resolve, reject }));
  }

  /** Wait for pipelines of everything recorded so far (compile ahead of the hot path). */
  async prepare(): Promise<void> {
    await Promise.all(this.cmds.filter((c): c is DispatchCmd => c.kind === 'dispatch').map((c) => this.pipelines.get(c.kernel, c.variant)));
  }

  async flush(): Promise<void> {
    assertAlive(this.ctx);
    const cmds = this.cmds;
    const readbacks = this.readbacks;
    this.cmds = [];
    this.readbacks = [];
    try {
      const dispatches = cmds.filter((c): c is DispatchCmd => c.kind === 'dispatch');
      // pipelines: synchronous when cached, otherwise compile now
      const pipes = dispatches.map((d) => this.pipelines.peek(variantKey(d.kernel, d.variant)));
      if (pipes.some((p) => !p)) {
        const all = await Promise.all(dispatches.map((d) => this.pipelines.get(d.kernel, d.variant)));
        all.forEach((p, i) => (pipes[i] = p));
      }
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
      for (const c of cmds) {
        if (c.kind === 'copy') {
          pass?.end();
          pass = undefined;
          enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
          continue;
        }
        const i = di++;
        const pipeline = pipes[i]!;
        const entries: GPUBindGroupEntry[] = [];
        let b = 0;
        if (c.kernel.params) entries.push({ binding: b++, resource: { buffer: this.uniform!, offset: offsets[i], size: c.kernel.params.size } });
        for (const r of c.bindings) {
          entries.push({ binding: b++, resource: 'buffer' in r ? { buffer: r.buffer, offset: r.offset ?? 0, size: r.size } : { buffer: r } });
        }
        const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
        pass ??= enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(c.grid[0], c.grid[1], c.grid[2]);
        this.stats.dispatches++;
      }
      pass?.end();
      const staging = readbacks.map((r) => {
        const size = Math.ceil(r.size / 4) * 4;
        const s = this.stagingFree.get(size)?.pop() ?? this.createBuffer(size, 'staging', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
        enc.copyBufferToBuffer(r.src, r.offset, s, 0, size);
        return s;
      });
      this.device.queue.submit([enc.finish()]);
      this.stats.submits++;
      this.stats.flushes++;
      const err = await this.device.popErrorScope();
      if (err) throw new CriaError('internal', `WebGPU validation error: ${err.message}`);

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
      for (const buf of this.inUse) {
        let list = this.free.get(buf.size);
        if (!list) this.free.set(buf.size, (list = []));
        list.push(buf);
      }
      this.inUse = [];
    }
  }

  /** Drop recorded work without running it (after an error). */
  discard(): void {
    this.cmds = [];
    for (const r of this.readbacks) r.reject(new CriaError('aborted', 'discarded'));
    this.readbacks = [];
  }

  destroy(): void {
    for (const list of [...this.free.values(), ...this.stagingFree.values()]) for (const b of list) b.destroy();
    this.free.clear();
    this.stagingFree.clear();
    this.uniform?.destroy();
  }
}

/**
 * The WebGPU backend: `Ops` mapped onto the kernels in src/gpu/kernels/,
 * recorded into one command encoder per forward call (see recorder.ts) and
 * submitted once, when something is read (`read`, `argmax`, `topk`,
 * `logprobs`) or on `sync`. Weights stay quantized in GPU buffers; the KV
 * cache is one K and one V buffer per layer; the RoPE cos/sin table is
 * built once per (dim, base, scale, factors). It asks the loader for fused
 * weights (`fuseWeights`: attn_qkv, ffn_gate_up), so a llama layer is 7
 * dispatches: matmul (norm + qkv), rope_kv, attention, matmul (o + residual),
 * matmul (norm + gate_up), swiglu, matmul (down + residual).
 */
import { CriaError } from '../shared/errors.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import { dequantize } from '../formats/quant.ts';
import type { Backend, BackendStats, KvCacheSpec, WeightPart } from '../model/backend.ts';
import type { AttentionParams, Ops, RopeSpec } from '../model/ops.ts';
import { checkBinding, type GpuContext } from './device.ts';
import { resolveActivations } from './activations.ts';
import { add } from './kernels/add.ts';
import { argmax } from './kernels/argmax.ts';
import { MAX_ATTENTION_HEAD_DIM, attention, storeKv } from './kernels/attention.ts';
import { embedding } from './kernels/embedding.ts';
import { geglu } from './kernels/geglu.ts';
import { decodeLogprobs, logSoftmaxGather } from './kernels/log_softmax_gather.ts';
import { maskLogits } from './kernels/mask_logits.ts';
import { matmul } from './kernels/matmul.ts';
import { rmsNorm } from './kernels/rms_norm.ts';
import { createRopeTable, rope } from './kernels/rope.ts';
import { ropeKv } from './kernels/rope_kv.ts';
import { scale } from './kernels/scale.ts';
import { sliceColumns } from './kernels/slice_columns.ts';
import { softcap } from './kernels/softcap.ts';
import { swiglu } from './kernels/swiglu.ts';
import { TOPK_MAX_K, decodeTopK, topk } from './kernels/topk.ts';
import { Recorder, type GpuBuf } from './recorder.ts';
import type { RopeTable } from './rope-table.ts';
import type { GpuTensor } from './tensor.ts';
import { canMix, uploadMixedWeight } from './mixed.ts';
import { gpuSupportsType, uploadWeight, type GpuWeight } from './weights.ts';

export interface GpuBackendOptions {
  /** ask the loader for fused weights (default true; false runs the plain path, for tests) */
  fuseWeights?: boolean;
  /**
   * How matrix products with Q8_0 and Q4_0 weights take their input:
   * - `int8`: x quantized per block of 32 to 8 bits, integer dot products (kernels/matmul_int8.wgsl):
   *   what llama.cpp's CPU backend computes for these types. Needs WGSL's
   *   packed_4x8_integer_dot_product (an error without it).
   * - `f32`: dequantized weights times f32 x (every other type always).
   * - `auto` (default): `int8` on CPU adapters (SwiftShader, llvmpipe: measured 1.5× faster per decoded
   *   token there, bench/where-time-goes.md) when the feature is present, `f32` on GPUs (bandwidth-bound, where
   *   dequantizing costs nothing and f32 is the more accurate).
   */
  activations?: 'auto' | 'f32' | 'int8';
}


export class GpuBackend implements Backend<GpuTensor, GpuWeight> {
  readonly name = 'webgpu';
  readonly fuseWeights: boolean;
  /** resolved `GpuBackendOptions.activations` */
  readonly activations: 'f32' | 'int8';
  readonly maxWeightBytes: number;
  readonly maxHeadDim = MAX_ATTENTION_HEAD_DIM;
  readonly maxTopK = TOPK_MAX_K;
  readonly rec: Recorder;
  readonly lost: Promise<string>;
  private readonly weights: GpuWeight[] = [];
  private kCache: GPUBuffer[] = [];
  private vCache: GPUBuffer[] = [];
  private cacheSpec?: KvCacheSpec;
  private readonly ropeTables = new Map<string, RopeTable>();

  constructor(
    readonly ctx: GpuContext,
    opts: GpuBackendOptions = {},
  ) {
    this.fuseWeights = opts.fuseWeights ?? true;
    this.activations = resolveActivations(opts.activations, ctx.info);
    this.maxWeightBytes = Math.min(ctx.device.limits.maxStorageBufferBindingSize, ctx.device.limits.maxBufferSize);
    this.rec = new Recorder(ctx);
    this.lost = ctx.lost.then((l) => l.message || String(l.reason));
  }

  describe(): { detail: string; threads: number } {
    const i = this.ctx.info;
    const name = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || 'unknown adapter';
    return { detail: `WebGPU: ${name}${i.isFallbackAdapter ? ' (fallback adapter)' : ''}, ${this.activations} activations`, threads: 1 };
  }

  supportsType(type: GgmlTypeInfo): boolean {
    return gpuSupportsType(type);
  }

  canMixTypes(a: GgmlTypeInfo, b: GgmlTypeInfo): boolean {
    return canMix(a, b);
  }

  loadMixedWeight(name: string, runs: readonly [WeightPart, WeightPart], dims: readonly number[]): Promise<GpuWeight> {
    return this.upload(name, () => uploadMixedWeight(this.rec, name, runs, dims));
  }

  async loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<GpuWeight> {
    const w = await this.upload(name, () => uploadWeight(this.rec, name, type, dims, bytes));
    if (name.startsWith('rope_freqs') || name.startsWith('rope_factors')) this.factorValues.set(name, dequantize(type, bytes, w.cols * w.rows));
    return w;
  }

  /** One upload, with out-of-memory turned into a clear error. */
  private async upload(name: string, make: () => GpuWeight): Promise<GpuWeight> {
    this.ctx.device.pushErrorScope('out-of-memory');
    const w = make();
    const err = await this.ctx.device.popErrorScope();
    if (err) {
      w.buffer.destroy();
      throw new CriaError('out-of-memory', `the GPU ran out of memory while loading ${name}; close other tabs or choose a smaller model`, { tensor: name });
    }
    this.weights.push(w);
    return w;
  }

  allocateCache(spec: KvCacheSpec): void {
    for (const b of [...this.kCache, ...this.vCache]) b.destroy();
    checkBinding(this.ctx, spec.nCtx * spec.kvDim * 4, `the KV cache of one layer (${spec.nCtx} positions)`);
    this.cacheSpec = spec;
    this.kCache = Array.from({ length: spec.nLayer }, (_, l) => this.rec.createBuffer(spec.nCtx * spec.kvDim * 4, `k_cache.${l}`));
    this.vCache = Array.from({ length: spec.nLayer }, (_, l) => this.rec.createBuffer(spec.nCtx * spec.kvDimV * 4, `v_cache.${l}`));
  }

  /** the cos/sin table of a RoPE spec for this cache (built once; training reads it for the backward pass) */
  ropeTable(p: RopeSpec): RopeTable {
    const factors = p.freqFactors as GpuWeight | undefined;
    const key = `${p.dim}|${p.base}|${p.freqScale}|${p.attnFactor ?? 1}|${factors?.name ?? ''}`;
    let t = this.ropeTables.get(key);
    if (!t) {
      if (!this.cacheSpec) throw new CriaError('internal', 'rope before the KV cache was allocated');
      const freqFactors = factors ? this.factorValues.get(factors.name) : undefined;
      if (factors && !freqFactors) throw new CriaError('internal', `rope factors ${factors.name} were not kept on the CPU`);
      t = createRopeTable(this.rec, { dim: p.dim, base: p.base, freqScale: p.freqScale, freqFactors, attnFactor: p.attnFactor }, this.cacheSpec.nCtx);
      this.ropeTables.set(key, t);
    }
    return t;
  }

  /** CPU copies of rope frequency factors (the table is built on the CPU). */
  private readonly factorValues = new Map<string, Float32Array>();

  private async readBuffer(buf: GpuBuf, bytes: number): Promise<ArrayBuffer> {
    const p = this.rec.readback(buf, 0, bytes);
    await this.rec.flush();
    return p;
  }

  async read(a: GpuTensor): Promise<Float32Array> {
    return new Float32Array(await this.readBuffer(a.buffer, a.rows * a.cols * 4));
  }

  async argmax(logits: GpuTensor): Promise<Uint32Array> {
    return new Uint32Array(await this.readBuffer(argmax(this.rec, logits), logits.rows * 4));
  }

  async topk(logits: GpuTensor, k: number): Promise<{ ids: Uint32Array; values: Float32Array }> {
    const t = topk(this.rec, logits, k);
    return decodeTopK(await this.readBuffer(t.buffer, t.rows * t.k * 8), t.rows, t.k);
  }

  /** Recorded, in place on the logits buffer (returns `logits`); the mask rides in the token's one submit. */
  maskLogits(logits: GpuTensor, allowed: Uint32Array): GpuTensor {
    return maskLogits(this.rec, logits, allowed);
  }

  async logprobs(logits: GpuTensor, targets: readonly number[]): Promise<{ logprobs: ArrayLike<number>; argmax: Uint32Array }> {
    const ids = this.rec.temp(targets.length * 4);
    this.rec.write(ids, Uint32Array.from(targets));
    const r = logSoftmaxGather(this.rec, logits, ids);
    return decodeLogprobs(await this.readBuffer(r.buffer, r.rows * 8), r.rows);
  }

  async sync(): Promise<void> {
    await this.rec.flush();
  }

  async compileRecorded(): Promise<void> {
    try {
      await this.rec.prepare();
    } finally {
      this.rec.discard();
    }
  }

  stats(): BackendStats {
    const s = this.rec.stats;
    return { dispatches: s.dispatches, submits: s.submits, bytesReadBack: s.bytesReadBack, buffersCreated: s.buffersCreated };
  }

  dispose(): void {
    this.rec.discard();
    for (const w of this.weights) w.buffer.destroy();
    for (const b of [...this.kCache, ...this.vCache]) b.destroy();
    for (const t of this.ropeTables.values()) t.buffer.destroy();
    this.weights.length = 0;
    this.kCache = [];
    this.vCache = [];
    this.ropeTables.clear();
    this.rec.destroy();
  }

  readonly ops: Ops<GpuTensor, GpuWeight> = {
    embed: (table, tokens) => {
      for (const id of tokens) {
        if (!Number.isInteger(id) || id < 0 || id >= table.rows) throw new CriaError('bad-argument', `token id ${id} is outside the vocabulary (0..${table.rows - 1})`);
      }
      const ids = this.rec.temp(tokens.length * 4);
      this.rec.write(ids, Uint32Array.from(tokens));
      return embedding(this.rec, table, ids, tokens.length);
    },
    rmsNorm: (x, w, eps, groupSize) => rmsNorm(this.rec, x, w.buffer, eps, groupSize),
    matmul: (x, w, bias, fuse) => matmul(this.rec, x, w, bias, { norm: fuse?.norm, add: fuse?.add, int8: this.activations === 'int8' }),
    add: (a, b) => add(this.rec, a, b),
    scale: (x, s) => scale(this.rec, x, s),
    rope: (x, p, pos0) => rope(this.rec, x, this.ropeTable(p), p, pos0),
    attention: (q, k, v, p: AttentionParams, pos0) => {
      if (!this.cacheSpec) throw new CriaError('internal', 'attention before the KV cache was allocated');
      storeKv(this.rec, k, v, this.kCache[p.layer], this.vCache[p.layer], pos0);
      return attention(this.rec, q, this.kCache[p.layer], this.vCache[p.layer], p, pos0);
    },
    ropeAttention: (qkv, p: AttentionParams, r: RopeSpec, pos0) => {
      if (!this.cacheSpec) throw new CriaError('internal', 'attention before the KV cache was allocated');
      const k = this.kCache[p.layer];
      const v = this.vCache[p.layer];
      return attention(this.rec, ropeKv(this.rec, qkv, this.ropeTable(r), r, p, k, v, pos0), k, v, p, pos0);
    },
    swiglu: (g, u) => swiglu(this.rec, g, u),
    geglu: (g, u) => geglu(this.rec, g, u),
    softcap: (x, cap) => softcap(this.rec, x, cap),
    columns: (x, col0, cols) => sliceColumns(this.rec, x, col0, cols),
    rows: (x, row0, n) => {
      const y: GpuTensor = { rows: n, cols: x.cols, buffer: this.rec.temp(n * x.cols * 4) };
      this.rec.copy(x.buffer, row0 * x.cols * 4, y.buffer, 0, n * x.cols * 4);
      return y;
    },
  };
}

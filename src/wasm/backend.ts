/**
 * The WebAssembly backend: `Ops` on the CPU, in one wasm memory (src/wasm/heap.ts), with the kernels of
 * kernels/wasm (SIMD128, llama.cpp's int8 arithmetic for the quantized products) run by a `Runner`
 * (one thread, or a pool of workers over a shared memory). Weights stay quantized as in the file;
 * activations are f32 rows in the scratch arena, emptied at the start of every forward pass; the KV
 * cache is one K and one V block per layer, f32. It asks the loader for fused weights (attn_qkv,
 * ffn_gate_up), so a layer's q, k and v share one activation quantization and one product.
 *
 * Work is eager: every op runs when called (there is nothing to record), so `sync` has nothing to do.
 * Small, row-bound steps (the embedding lookup, column and row copies, reading logits back, argmax,
 * top-k, log-softmax) run in JavaScript on views of the memory; everything that scales with the
 * weights or the context runs in a kernel.
 */
import { CriaError } from '../shared/errors.ts';
import { dequantizeRows, isDequantizable } from '../formats/quant.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { Backend, BackendStats, KvCacheSpec } from '../model/backend.ts';
import type { Act, AttentionParams, Ops, RopeParams, RopeSpec } from '../model/ops.ts';
import { argmax } from '../reference/argmax.ts';
import { logSoftmaxGather } from '../reference/log_softmax_gather.ts';
import { maskLogits } from '../reference/mask_logits.ts';
import { topk } from '../reference/topk.ts';
import { buildRopeTable } from '../shared/rope-table.ts';
import { WasmHeap } from './heap.ts';
import { attention } from './kernels/attention.ts';
import { elementwise } from './kernels/elementwise.ts';
import { glu } from './kernels/glu.ts';
import { WASM_MATMUL_TYPES, matmul } from './kernels/matmul.ts';
import { rmsNorm } from './kernels/rms_norm.ts';
import { rope } from './kernels/rope.ts';
import type { WasmKernels } from './module.ts';
import type { Runner } from './runner.ts';
import { uploadWeight, type WasmWeight } from './weights.ts';

export interface WasmAct extends Act {
  /** f32 [rows, cols] in the heap */
  readonly ptr: number;
}

interface RopeTable {
  readonly ptr: number;
  readonly nCtx: number;
}

export class WasmBackend implements Backend<WasmAct, WasmWeight> {
  readonly name = 'wasm';
  readonly activations = 'int8' as const;
  readonly fuseWeights = true;
  readonly heap: WasmHeap;
  private kCache: number[] = [];
  private vCache: number[] = [];
  private cacheSpec?: KvCacheSpec;
  private readonly ropeTables = new Map<string, RopeTable>();
  private readonly counters: BackendStats = { dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0 };

  constructor(
    readonly kernels: WasmKernels,
    readonly runner: Runner,
  ) {
    this.heap = new WasmHeap(kernels.memory, kernels.exports.heap_base());
  }

  /** wasm32's address space: weights, KV cache and scratch must fit it */
  readonly memoryLimitBytes = 4 * 2 ** 30;
  describe(): { detail: string; threads: number } {
    const v = this.kernels.variant;
    const simd = v.startsWith('relaxed') ? 'relaxed SIMD' : 'SIMD128';
    return { detail: `WebAssembly ${simd}${this.kernels.shared ? ', shared memory' : ''}`, threads: this.runner.threads };
  }

  supportsType(type: GgmlTypeInfo): boolean {
    return WASM_MATMUL_TYPES.has(type.name) && isDequantizable(type);
  }

  async loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<WasmWeight> {
    return uploadWeight(this.heap, name, type, dims, bytes);
  }

  allocateCache(spec: KvCacheSpec): void {
    this.heap.clearScratch();
    this.cacheSpec = spec;
    this.kCache = Array.from({ length: spec.nLayer }, (_, l) => this.heap.alloc(spec.nCtx * spec.kvDim * 4, `the K cache of layer ${l}`));
    this.vCache = Array.from({ length: spec.nLayer }, (_, l) => this.heap.alloc(spec.nCtx * spec.kvDimV * 4, `the V cache of layer ${l}`));
  }

  beginForward(): void {
    this.heap.clearScratch();
  }

  private act(rows: number, cols: number, ptr: number): WasmAct {
    return { rows, cols, ptr };
  }

  private view(a: WasmAct): Float32Array {
    return this.heap.f32(a.ptr, a.rows * a.cols);
  }

  async read(a: WasmAct): Promise<Float32Array> {
    this.counters.bytesReadBack += a.rows * a.cols * 4;
    return this.view(a).slice();
  }

  async argmax(logits: WasmAct): Promise<Uint32Array> {
    return argmax(this.view(logits), logits.cols);
  }

  async topk(logits: WasmAct, k: number): Promise<{ ids: Uint32Array; values: Float32Array }> {
    const r = topk(this.view(logits), logits.cols, k);
    return { ids: r.ids, values: r.values };
  }

  /** In place, in JavaScript on a view of the row in the heap (a row-bound step, like argmax): returns `logits`. */
  maskLogits(logits: WasmAct, allowed: Uint32Array): WasmAct {
    if (logits.rows !== 1) throw new CriaError('internal', `maskLogits: one row of logits expected, got ${logits.rows}×${logits.cols}`);
    const row = this.view(logits);
    maskLogits(row, allowed, row);
    return logits;
  }

  async logprobs(logits: WasmAct, targets: readonly number[]): Promise<{ logprobs: ArrayLike<number>; argmax: Uint32Array }> {
    return logSoftmaxGather(this.view(logits), logits.cols, targets);
  }

  async sync(): Promise<void> {}

  stats(): BackendStats {
    return { ...this.counters };
  }

  dispose(): void {
    this.heap.reset();
    this.kCache = [];
    this.vCache = [];
    this.ropeTables.clear();
    this.runner.dispose?.();
  }

  /** The cos/sin table for this rotation, built on first use (in float64, src/shared/rope-table.ts) and kept. */
  private ropeTable(p: RopeSpec): number {
    const spec = this.cacheSpec;
    if (!spec) throw new CriaError('internal', 'rope before the KV cache was allocated');
    const factors = p.freqFactors as WasmWeight | undefined;
    const key = `${p.dim}|${p.base}|${p.freqScale}|${p.attnFactor ?? 1}|${factors?.name ?? ''}`;
    let t = this.ropeTables.get(key);
    if (!t) {
      const freqFactors = factors?.f32 !== undefined ? this.heap.f32(factors.f32, p.dim / 2).slice() : undefined;
      const values = buildRopeTable({ dim: p.dim, base: p.base, freqScale: p.freqScale, freqFactors, attnFactor: p.attnFactor }, spec.nCtx);
      const ptr = this.heap.alloc(values.byteLength, 'a RoPE table');
      this.heap.f32(ptr, values.length).set(values);
      t = { ptr, nCtx: spec.nCtx };
      this.ropeTables.set(key, t);
    }
    return t.ptr;
  }

  private checkPositions(pos0: number, n: number): void {
    const spec = this.cacheSpec;
    if (!spec) throw new CriaError('internal', 'attention before the KV cache was allocated');
    if (pos0 + n > spec.nCtx) throw new CriaError('context-overflow', `position ${pos0 + n} is past the context size ${spec.nCtx}`);
  }

  /** Copy `cols` columns starting at `col0` of each of the n rows of x into the layer's cache at rows [pos0, pos0+n). */
  private storeRows(cache: number, cacheCols: number, x: WasmAct, col0: number, cols: number, pos0: number): void {
    const bytes = new Uint8Array(this.heap.memory.buffer);
    for (let t = 0; t < x.rows; t++) {
      const src = x.ptr + (t * x.cols + col0) * 4;
      bytes.copyWithin(cache + (pos0 + t) * cacheCols * 4, src, src + cols * 4);
    }
  }

  private attend(q: number, qStride: number, n: number, p: AttentionParams, pos0: number): WasmAct {
    this.counters.dispatches++;
    const out = attention(this.runner, this.heap, q, qStride, n, this.kCache[p.layer], this.vCache[p.layer], p, pos0);
    return this.act(n, p.nHead * p.headDimV, out);
  }

  readonly ops: Ops<WasmAct, WasmWeight> = {
    embed: (table, tokens) => {
      const dim = table.cols;
      const y = this.heap.scratch(tokens.length * dim * 4, 'embeddings');
      const bytes = this.heap.u8(table.ptr, table.byteLength);
      tokens.forEach((id, t) => {
        if (!Number.isInteger(id) || id < 0 || id >= table.rows) throw new CriaError('bad-argument', `token id ${id} is outside the vocabulary (0..${table.rows - 1})`);
        dequantizeRows(table.type, bytes, dim, id, 1, this.heap.f32(y + t * dim * 4, dim));
      });
      return this.act(tokens.length, dim, y);
    },

    rmsNorm: (x, w, eps, groupSize = x.cols) => {
      this.counters.dispatches++;
      return this.act(x.rows, x.cols, rmsNorm(this.runner, this.heap, x.ptr, x.rows, x.cols, w.f32!, eps, groupSize));
    },

    matmul: (x, w, bias, fuse) => {
      if (w.cols !== x.cols) throw new CriaError('internal', `matmul ${w.name}: input has ${x.cols} columns, weight rows have ${w.cols}`);
      const xn = fuse?.norm ? this.ops.rmsNorm(x, fuse.norm.weight, fuse.norm.eps) : x;
      this.counters.dispatches++;
      const y = matmul(this.runner, this.heap, xn.ptr, x.rows, w, bias?.f32, fuse?.add?.ptr);
      return this.act(x.rows, w.rows, y);
    },

    add: (a, b) => {
      if (a.rows !== b.rows || a.cols !== b.cols) throw new CriaError('internal', `add: shapes ${a.rows}×${a.cols} and ${b.rows}×${b.cols} differ`);
      this.counters.dispatches++;
      return this.act(a.rows, a.cols, elementwise(this.runner, this.heap, 'add', a.ptr, b.ptr, a.rows * a.cols));
    },

    scale: (x, s) => {
      this.counters.dispatches++;
      return this.act(x.rows, x.cols, elementwise(this.runner, this.heap, 'scale', x.ptr, 0, x.rows * x.cols, s));
    },

    softcap: (x, cap) => {
      this.counters.dispatches++;
      return this.act(x.rows, x.cols, elementwise(this.runner, this.heap, 'softcap', x.ptr, 0, x.rows * x.cols, cap));
    },

    rope: (x, p: RopeParams, pos0) => {
      if (x.cols !== p.nHeads * p.headDim) throw new CriaError('internal', `rope: ${x.cols} columns ≠ ${p.nHeads}×${p.headDim}`);
      this.checkPositions(pos0, x.rows);
      this.counters.dispatches++;
      const y = rope(this.runner, this.heap, x.ptr, x.cols, x.rows, { nHeads: p.nHeads, headDim: p.headDim, dim: p.dim, neox: p.type === 'neox', table: this.ropeTable(p) }, pos0);
      return this.act(x.rows, x.cols, y);
    },

    attention: (q, k, v, p: AttentionParams, pos0) => {
      this.checkPositions(pos0, q.rows);
      this.storeRows(this.kCache[p.layer], p.nHeadKv * p.headDim, k, 0, k.cols, pos0);
      this.storeRows(this.vCache[p.layer], p.nHeadKv * p.headDimV, v, 0, v.cols, pos0);
      return this.attend(q.ptr, q.cols, q.rows, p, pos0);
    },

    ropeAttention: (qkv, p: AttentionParams, r: RopeSpec, pos0) => {
      const qDim = p.nHead * p.headDim;
      const kDim = p.nHeadKv * p.headDim;
      const vDim = p.nHeadKv * p.headDimV;
      if (qkv.cols !== qDim + kDim + vDim) throw new CriaError('internal', `ropeAttention: qkv has ${qkv.cols} columns, q ${qDim} + k ${kDim} + v ${vDim} expected`);
      this.checkPositions(pos0, qkv.rows);
      const n = qkv.rows;
      const table = this.ropeTable(r);
      this.counters.dispatches += 2;
      const q = rope(this.runner, this.heap, qkv.ptr, qkv.cols, n, { nHeads: p.nHead, headDim: p.headDim, dim: r.dim, neox: r.type === 'neox', table }, pos0);
      const k = rope(this.runner, this.heap, qkv.ptr + qDim * 4, qkv.cols, n, { nHeads: p.nHeadKv, headDim: p.headDim, dim: r.dim, neox: r.type === 'neox', table }, pos0);
      this.storeRows(this.kCache[p.layer], kDim, this.act(n, kDim, k), 0, kDim, pos0);
      this.storeRows(this.vCache[p.layer], vDim, qkv, qDim + kDim, vDim, pos0);
      return this.attend(q, qDim, n, p, pos0);
    },

    swiglu: (g, u) => this.glu('silu', g, u),
    geglu: (g, u) => this.glu('gelu', g, u),

    columns: (x, col0, cols) => {
      const y = this.heap.scratch(x.rows * cols * 4);
      const bytes = new Uint8Array(this.heap.memory.buffer);
      for (let t = 0; t < x.rows; t++) {
        const src = x.ptr + (t * x.cols + col0) * 4;
        bytes.copyWithin(y + t * cols * 4, src, src + cols * 4);
      }
      return this.act(x.rows, cols, y);
    },

    rows: (x, row0, n) => {
      const y = this.heap.scratch(n * x.cols * 4);
      const src = x.ptr + row0 * x.cols * 4;
      new Uint8Array(this.heap.memory.buffer).copyWithin(y, src, src + n * x.cols * 4);
      return this.act(n, x.cols, y);
    },
  };

  private glu(act: 'silu' | 'gelu', g: WasmAct, u?: WasmAct): WasmAct {
    this.counters.dispatches++;
    if (u) {
      if (g.rows !== u.rows || g.cols !== u.cols) throw new CriaError('internal', `${act}: shapes ${g.rows}×${g.cols} and ${u.rows}×${u.cols} differ`);
      return this.act(g.rows, g.cols, glu(this.runner, this.heap, act, g.ptr, u.ptr, g.rows, g.cols, false));
    }
    if (g.cols % 2 !== 0) throw new CriaError('internal', `${act}: a fused gate|up activation needs an even column count, has ${g.cols}`);
    const f = g.cols / 2;
    return this.act(g.rows, f, glu(this.runner, this.heap, act, g.ptr, g.ptr + f * 4, g.rows, f, true));
  }
}

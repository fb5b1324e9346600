/**
 * The CPU reference backend: plain TypeScript on Float32Array, slow and
 * obvious. It is what the WebGPU backend is diffed against, and what
 * `cria --engine cpu` runs. Weights stay in their file encoding and are
 * dequantized row by row inside each op.
 */
import { CriaError } from '../shared/errors.ts';
import { dequantize, isDequantizable } from '../formats/quant.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { Backend, BackendStats, KvCacheSpec } from '../model/backend.ts';
import { argmax } from './argmax.ts';
import { logSoftmaxGather } from './log_softmax_gather.ts';
import { maskLogits } from './mask_logits.ts';
import { topk } from './topk.ts';
import type { Act, AttentionParams, Ops, RopeParams, RopeSpec, Weight } from '../model/ops.ts';
import { add } from './add.ts';
import { attention } from './attention.ts';
import { embedding } from './embedding.ts';
import { geglu } from './geglu.ts';
import { matmul } from './matmul.ts';
import { INT8_ACTIVATION_TYPES, matmulInt8 } from './matmul_int8.ts';
import { rmsNorm } from './rms_norm.ts';
import { rope } from './rope.ts';
import { scale } from './scale.ts';
import { sliceColumns } from './slice_columns.ts';
import { softcap } from './softcap.ts';
import { swiglu } from './swiglu.ts';

export interface CpuAct extends Act {
  readonly data: Float32Array;
}

export interface CpuWeight extends Weight {
  readonly bytes: Uint8Array;
  /** dequantized values, kept only for 1-D tensors (norms, biases) */
  readonly vec?: Float32Array;
}

const act = (rows: number, cols: number, data: Float32Array): CpuAct => {
  if (data.length !== rows * cols) throw new CriaError('internal', `activation size ${data.length} ≠ ${rows}×${cols}`);
  return { rows, cols, data };
};

function vecOf(w: CpuWeight): Float32Array {
  return w.vec ?? dequantize(w.type, w.bytes, w.dims.reduce((a, b) => a * b, 1));
}

function sameShape(a: Act, b: Act, what: string) {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new CriaError('internal', `${what}: shapes ${a.rows}×${a.cols} and ${b.rows}×${b.cols} differ`);
}

export interface CpuBackendOptions {
  /**
   * `int8`: products with quantized weights quantize x per block first, as llama.cpp's CPU backend does
   * (src/reference/matmul_int8.ts: Q8_0 blocks for the legacy types, Q8_K for the K-quants), the reference
   * of the WebAssembly backend and of the WebGPU backend's int8 activations; `f32` (default): f32 x.
   */
  activations?: 'f32' | 'int8';
  /**
   * With `int8`: the weight types whose products take int8 activations (default INT8_ACTIVATION_TYPES,
   * all of llama.cpp's; the WebGPU backend computes GPU_INT8_ACTIVATION_TYPES so, the rest in f32).
   */
  int8Types?: ReadonlySet<string>;
}

export class CpuBackend implements Backend<CpuAct, CpuWeight> {
  readonly name = 'reference';
  describe(): { detail: string; threads: number } {
    return { detail: `TypeScript reference (${this.activations} activations)`, threads: 1 };
  }
  readonly activations: 'f32' | 'int8';
  private readonly int8Types: ReadonlySet<string>;
  constructor(opts: CpuBackendOptions = {}) {
    this.activations = opts.activations ?? 'f32';
    this.int8Types = opts.int8Types ?? INT8_ACTIVATION_TYPES;
  }
  private kCache: Float32Array[] = [];
  private vCache: Float32Array[] = [];
  private cacheSpec?: KvCacheSpec;

  supportsType(type: GgmlTypeInfo): boolean {
    return isDequantizable(type);
  }

  async loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<CpuWeight> {
    const w: CpuWeight = { name, type, dims, bytes };
    return dims.length === 1 ? { ...w, vec: vecOf(w) } : w;
  }

  allocateCache(spec: KvCacheSpec): void {
    this.cacheSpec = spec;
    this.kCache = Array.from({ length: spec.nLayer }, () => new Float32Array(spec.nCtx * spec.kvDim));
    this.vCache = Array.from({ length: spec.nLayer }, () => new Float32Array(spec.nCtx * spec.kvDimV));
  }

  async read(a: CpuAct): Promise<Float32Array> {
    this.counters.bytesReadBack += a.data.byteLength;
    return a.data;
  }

  async argmax(logits: CpuAct): Promise<Uint32Array> {
    return argmax(logits.data, logits.cols);
  }

  async topk(logits: CpuAct, k: number): Promise<{ ids: Uint32Array; values: Float32Array }> {
    const r = topk(logits.data, logits.cols, k);
    return { ids: r.ids, values: r.values };
  }

  /** In place: the row's own array is masked and the same activation returned. */
  maskLogits(logits: CpuAct, allowed: Uint32Array): CpuAct {
    if (logits.rows !== 1) throw new CriaError('internal', `maskLogits: one row of logits expected, got ${logits.rows}×${logits.cols}`);
    maskLogits(logits.data, allowed, logits.data);
    return logits;
  }

  async logprobs(logits: CpuAct, targets: readonly number[]): Promise<{ logprobs: ArrayLike<number>; argmax: Uint32Array }> {
    return logSoftmaxGather(logits.data, logits.cols, targets);
  }

  async sync(): Promise<void> {}

  private readonly counters: BackendStats = { dispatches: 0, submits: 0, bytesReadBack: 0, buffersCreated: 0 };
  stats(): BackendStats {
    return { ...this.counters };
  }

  dispose(): void {
    this.kCache = [];
    this.vCache = [];
  }

  /** gate and up of a fused gate_up activation `[n, 2F]`: its first and second F columns */
  private halves(gu: CpuAct, what: string): [CpuAct, CpuAct] {
    if (gu.cols % 2 !== 0) throw new CriaError('internal', `${what}: a fused gate|up activation needs an even column count, has ${gu.cols}`);
    const f = gu.cols / 2;
    return [this.ops.columns(gu, 0, f), this.ops.columns(gu, f, f)];
  }

  readonly ops: Ops<CpuAct, CpuWeight> = {
    embed: (table, tokens) => act(tokens.length, table.dims[0], embedding(table, tokens)),

    rmsNorm: (x, w, eps, groupSize = x.cols) => act(x.rows, x.cols, rmsNorm(x.data, x.cols, vecOf(w), eps, groupSize)),

    // the fusions are compositions of the plain ops: rmsNorm, then the product, then the residual add
    matmul: (x, w, bias, fuse) => {
      if (w.dims[0] !== x.cols) throw new CriaError('internal', `matmul ${w.name}: input has ${x.cols} columns, weight rows have ${w.dims[0]}`);
      const xn = fuse?.norm ? this.ops.rmsNorm(x, fuse.norm.weight, fuse.norm.eps) : x;
      const int8 = this.activations === 'int8' && this.int8Types.has(w.type.name);
      const y = (int8 ? matmulInt8 : matmul)(xn.data, x.rows, w, bias ? vecOf(bias) : undefined);
      const out = act(x.rows, w.dims.slice(1).reduce((a, b) => a * b, 1), y);
      return fuse?.add ? this.ops.add(out, fuse.add) : out;
    },

    add: (a, b) => {
      sameShape(a, b, 'add');
      return act(a.rows, a.cols, add(a.data, b.data));
    },

    scale: (x, s) => act(x.rows, x.cols, scale(x.data, s)),

    rope: (x, p: RopeParams, pos0) => {
      if (x.cols !== p.nHeads * p.headDim) throw new CriaError('internal', `rope: ${x.cols} columns ≠ ${p.nHeads}×${p.headDim}`);
      const freqFactors = p.freqFactors ? vecOf(p.freqFactors as CpuWeight) : undefined;
      return act(x.rows, x.cols, rope(x.data, x.rows, { ...p, freqFactors }, pos0));
    },

    attention: (q, k, v, p: AttentionParams, pos0) => {
      const spec = this.cacheSpec;
      if (!spec) throw new CriaError('internal', 'attention before the KV cache was allocated');
      if (pos0 + q.rows > spec.nCtx) {
        throw new CriaError('context-overflow', `position ${pos0 + q.rows} is past the context size ${spec.nCtx}`);
      }
      const out = attention(q.data, k.data, v.data, q.rows, this.kCache[p.layer], this.vCache[p.layer], p, pos0);
      return act(q.rows, p.nHead * p.headDimV, out);
    },

    ropeAttention: (qkv, p: AttentionParams, r: RopeSpec, pos0) => {
      const qDim = p.nHead * p.headDim;
      const kDim = p.nHeadKv * p.headDim;
      const vDim = p.nHeadKv * p.headDimV;
      if (qkv.cols !== qDim + kDim + vDim) throw new CriaError('internal', `ropeAttention: qkv has ${qkv.cols} columns, q ${qDim} + k ${kDim} + v ${vDim} expected`);
      const q = this.ops.rope(this.ops.columns(qkv, 0, qDim), { ...r, nHeads: p.nHead, headDim: p.headDim }, pos0);
      const k = this.ops.rope(this.ops.columns(qkv, qDim, kDim), { ...r, nHeads: p.nHeadKv, headDim: p.headDim }, pos0);
      return this.ops.attention(q, k, this.ops.columns(qkv, qDim + kDim, vDim), p, pos0);
    },

    swiglu: (g, u) => {
      [g, u] = u ? [g, u] : this.halves(g, 'swiglu');
      sameShape(g, u, 'swiglu');
      return act(g.rows, g.cols, swiglu(g.data, u.data));
    },

    geglu: (g, u) => {
      [g, u] = u ? [g, u] : this.halves(g, 'geglu');
      sameShape(g, u, 'geglu');
      return act(g.rows, g.cols, geglu(g.data, u.data));
    },

    softcap: (x, cap) => act(x.rows, x.cols, softcap(x.data, cap)),

    columns: (x, col0, cols) => act(x.rows, cols, sliceColumns(x.data, x.cols, col0, cols)),

    rows: (x, row0, n) => act(n, x.cols, x.data.slice(row0 * x.cols, (row0 + n) * x.cols)),
  };
}

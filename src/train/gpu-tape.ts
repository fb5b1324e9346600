/**
 * Reverse-mode differentiation of a forward pass on WebGPU: `GpuTapeBackend` wraps the WebGPU backend
 * (plain weights, f32 activations), records each op the architecture's forward asks for, and
 * `backward(logits, dlogits)` records the backward kernels (kernels/*_backward*.wgsl) in reverse,
 * gradients summed with the `add` kernel. Nothing is read back in between: forward, loss and backward
 * are one recording, so the recorder's liveness pass keeps every activation the backward pass needs
 * (and frees each after its last use) and the whole step is one submit when the gradients are read.
 *
 * As on the CPU (src/train/tape.ts): gradients are kept for the weights marked trainable (F32: a LoRA
 * adapter's A and B), a training forward feeds one whole sequence from position 0, and the
 * architectures' own forward runs unchanged. Fused projections are not made (`fuseWeights` off);
 * a file that is already fused (phi3's attn_qkv, its gate|up) is refused for GPU training, as are the
 * ops a LoRA training step on llama/qwen2 never differentiates (columns, rows).
 */
import { CriaError } from '../shared/errors.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { Backend, BackendStats, KvCacheSpec } from '../model/backend.ts';
import type { AttentionParams, MatmulFusion, Ops, RopeParams, RopeSpec } from '../model/ops.ts';
import type { GpuBackend } from '../gpu/backend.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import type { GpuWeight } from '../gpu/weights.ts';
import { attentionBackward } from '../gpu/kernels/attention_backward.ts';
import { gegluBackward, softcapBackward } from '../gpu/kernels/elementwise_backward.ts';
import { matmulBackwardInput, matmulBackwardWeight } from '../gpu/kernels/matmul_backward.ts';
import { rmsNormBackward } from '../gpu/kernels/rms_norm_backward.ts';
import { ropeBackward } from '../gpu/kernels/rope.ts';
import { swigluBackward } from '../gpu/kernels/swiglu_backward.ts';
import { backprop, type TapeNode } from './backprop.ts';

type Node = TapeNode<GpuTensor, GpuWeight, GpuTensor>;

const refuse = (what: string) => (): never => {
  throw new CriaError('not-implemented', `training on WebGPU does not differentiate ${what} yet; train this model on the CPU reference`);
};

export class GpuTapeBackend implements Backend<GpuTensor, GpuWeight> {
  readonly name = 'webgpu';
  readonly fuseWeights = false;
  private tape: Node[] = [];
  private readonly trainable = new Set<GpuWeight>();

  /** `gpu`: a WebGPU backend made with `{ fuseWeights: false, activations: 'f32' }` */
  constructor(readonly gpu: GpuBackend) {
    if (gpu.fuseWeights || gpu.activations !== 'f32') throw new CriaError('internal', 'GPU training needs a backend with plain weights and f32 activations');
  }

  get rec() {
    return this.gpu.rec;
  }

  supportsType(type: GgmlTypeInfo): boolean {
    return this.gpu.supportsType(type);
  }

  loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<GpuWeight> {
    return this.gpu.loadWeight(name, type, dims, bytes);
  }

  /** From now on the weight's gradient is computed (F32 weights only). */
  train(w: GpuWeight): void {
    if (w.type.name !== 'F32') throw new CriaError('bad-argument', `only F32 weights can be trained; ${w.name} is ${w.type.name}`);
    this.trainable.add(w);
  }

  beginForward(): void {
    this.tape = [];
  }

  allocateCache(spec: KvCacheSpec): void {
    this.gpu.allocateCache(spec);
  }

  /**
   * Records the backward pass from `dlogits` (the loss's gradient w.r.t. the last forward's result):
   * the trainable weights' gradients, still on the device (read them with `readAll`).
   */
  backward(logits: GpuTensor, dlogits: GpuTensor): Map<GpuWeight, GpuTensor> {
    return backprop(this.tape, logits, dlogits, this.trainable, (a, b) => this.gpu.ops.add(a, b));
  }

  /** Reads tensors back in one flush (the whole recorded step runs in it). */
  async readAll(ts: readonly GpuTensor[]): Promise<Float32Array[]> {
    const ps = ts.map((t) => this.rec.readback(t.buffer, 0, t.rows * t.cols * 4));
    await this.rec.flush();
    return (await Promise.all(ps)).map((b) => new Float32Array(b));
  }

  private record(out: GpuTensor, back: Node['back']): GpuTensor {
    this.tape.push({ out, back });
    return out;
  }

  readonly ops: Ops<GpuTensor, GpuWeight> = {
    embed: (table, tokens) => this.record(this.gpu.ops.embed(table, tokens), () => undefined),

    rmsNorm: (x, w, eps, groupSize = x.cols) => {
      const y = this.gpu.ops.rmsNorm(x, w, eps, groupSize);
      return this.record(y, (dy, g) => g(x, rmsNormBackward(this.rec, x, { rows: 1, cols: groupSize, buffer: w.buffer }, eps, dy, groupSize)));
    },

    matmul: (x: GpuTensor, w: GpuWeight, bias?: GpuWeight, fuse?: MatmulFusion<GpuTensor, GpuWeight>) => {
      const xn = fuse?.norm ? this.ops.rmsNorm(x, fuse.norm.weight, fuse.norm.eps) : x;
      const y = this.record(this.gpu.ops.matmul(xn, w, bias), (dy, g, wg) => {
        g(xn, matmulBackwardInput(this.rec, dy, w));
        wg(w, () => matmulBackwardWeight(this.rec, dy, xn));
      });
      return fuse?.add ? this.ops.add(y, fuse.add) : y;
    },

    add: (a, b) =>
      this.record(this.gpu.ops.add(a, b), (dy, g) => {
        g(a, dy);
        g(b, dy);
      }),

    scale: (x, s) => this.record(this.gpu.ops.scale(x, s), (dy, g) => g(x, this.gpu.ops.scale(dy, s))),

    rope: (x, p: RopeParams, pos0) => this.record(this.gpu.ops.rope(x, p, pos0), (dy, g) => g(x, ropeBackward(this.rec, dy, this.gpu.ropeTable(p), p, pos0))),

    attention: (q, k, v, p: AttentionParams, pos0) =>
      this.record(this.gpu.ops.attention(q, k, v, p, pos0), (dy, g) => {
        if (pos0 !== 0) throw new CriaError('internal', 'a training forward feeds a whole sequence from position 0 (pos0 = 0)');
        const r = attentionBackward(this.rec, q, k, v, dy, p);
        g(q, r.dq);
        g(k, r.dk);
        g(v, r.dv);
      }),

    ropeAttention: (qkv, p: AttentionParams, r: RopeSpec, pos0) => this.record(this.gpu.ops.ropeAttention(qkv, p, r, pos0), refuse('a fused q|k|v projection (a file with attn_qkv)')),

    swiglu: (gate, up) => {
      if (!up) return this.record(this.gpu.ops.swiglu(gate), refuse('a fused gate|up projection'));
      return this.record(this.gpu.ops.swiglu(gate, up), (dy, g) => {
        const r = swigluBackward(this.rec, gate, up, dy);
        g(gate, r.dg);
        g(up, r.du);
      });
    },

    geglu: (gate, up) => {
      if (!up) return this.record(this.gpu.ops.geglu(gate), refuse('a fused gate|up projection'));
      return this.record(this.gpu.ops.geglu(gate, up), (dy, g) => {
        const r = gegluBackward(this.rec, gate, up, dy);
        g(gate, r.dg);
        g(up, r.du);
      });
    },

    softcap: (x, cap) => this.record(this.gpu.ops.softcap(x, cap), (dy, g) => g(x, softcapBackward(this.rec, x, cap, dy))),

    columns: (x, col0, cols) => this.record(this.gpu.ops.columns(x, col0, cols), refuse('a column slice')),

    rows: (x, row0, n) => this.record(this.gpu.ops.rows(x, row0, n), refuse('a row slice (train on every position: logits "all")')),
  };

  read(a: GpuTensor): Promise<Float32Array> {
    return this.gpu.read(a);
  }
  argmax(logits: GpuTensor): Promise<Uint32Array> {
    return this.gpu.argmax(logits);
  }
  topk(logits: GpuTensor, k: number): Promise<{ ids: Uint32Array; values: Float32Array }> {
    return this.gpu.topk(logits, k);
  }
  maskLogits(logits: GpuTensor, allowed: Uint32Array): GpuTensor {
    return this.gpu.maskLogits(logits, allowed);
  }
  logprobs(logits: GpuTensor, targets: readonly number[]): Promise<{ logprobs: ArrayLike<number>; argmax: Uint32Array }> {
    return this.gpu.logprobs(logits, targets);
  }
  sync(): Promise<void> {
    return this.gpu.sync();
  }
  stats(): BackendStats {
    return this.gpu.stats();
  }
  dispose(): void {
    this.tape = [];
    this.gpu.dispose();
  }
}

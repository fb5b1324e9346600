/**
 * Reverse-mode differentiation of a forward pass on the CPU reference: `TapeBackend` is a `Backend`
 * whose ops compute with the CPU reference (src/reference/backend.ts) and record each op on a tape;
 * `backward(logits, dlogits)` then walks the tape from the end, applying each op's backward
 * reference (src/reference/*_backward.ts) and summing gradients per activation. The architectures'
 * own `forward` (src/model/arch/) runs on it unchanged, LoRA included (src/model/lora.ts composes
 * matmul and scale), so training differentiates exactly what inference computes.
 *
 * Gradients are kept for the weights marked trainable (`train(weight)`: F32 weights, e.g. a LoRA
 * adapter's A and B, or every weight of a small F32 model for full training); every other weight is
 * frozen (still quantized, its values used but never changed). A training forward feeds one whole
 * sequence at positions [0, n) in one batch (`Batch.pos0 = 0`), so attention's cache holds exactly
 * that sequence's k and v and its backward needs nothing else. Fused weights are not made
 * (`fuseWeights` is off), but a file that is already fused (phi3's attn_qkv) runs through
 * `ropeAttention`, recorded as its parts.
 */
import { CriaError } from '../shared/errors.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import { dequantize } from '../formats/quant.ts';
import type { Backend, BackendStats, KvCacheSpec } from '../model/backend.ts';
import type { AttentionParams, MatmulFusion, Ops, RopeParams, RopeSpec } from '../model/ops.ts';
import { CpuBackend, type CpuAct, type CpuWeight } from '../reference/backend.ts';
import { attentionBackward } from '../reference/attention_backward.ts';
import { gegluBackward } from '../reference/geglu_backward.ts';
import { matmulBackwardBias, matmulBackwardInput, matmulBackwardWeight } from '../reference/matmul_backward.ts';
import { rmsNormBackward } from '../reference/rms_norm_backward.ts';
import { ropeBackward } from '../reference/rope_backward.ts';
import { softcapBackward } from '../reference/softcap_backward.ts';
import { swigluBackward } from '../reference/swiglu_backward.ts';
import { backprop, type TapeNode } from './backprop.ts';

/** One recorded op: its output and how to send the output's gradient to its inputs. */
type Node = TapeNode<CpuAct, CpuWeight, Float32Array>;

const values = (w: CpuWeight): Float32Array => w.vec ?? dequantize(w.type, w.bytes, w.dims.reduce((a, b) => a * b, 1));

export class TapeBackend implements Backend<CpuAct, CpuWeight> {
  readonly name = 'reference';
  readonly fuseWeights = false;
  private readonly cpu = new CpuBackend();
  private tape: Node[] = [];
  private readonly trainable = new Set<CpuWeight>();

  describe(): { detail: string; threads: number } {
    return { detail: 'TypeScript reference with gradients (training)', threads: 1 };
  }

  supportsType(type: GgmlTypeInfo): boolean {
    return this.cpu.supportsType(type);
  }

  async loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<CpuWeight> {
    return this.cpu.loadWeight(name, type, dims, bytes);
  }

  /**
   * Marks an F32 weight trainable: from now on its gradient is computed, and `param(w)` is its values,
   * changed in place by an optimizer (the forward reads them at every op).
   */
  train(w: CpuWeight): void {
    if (w.type.name !== 'F32') throw new CriaError('bad-argument', `only F32 weights can be trained; ${w.name} is ${w.type.name}`);
    this.trainable.add(w);
  }

  /** the values of a trainable weight, as the forward reads them (change them in place) */
  param(w: CpuWeight): Float32Array {
    if (w.vec) return w.vec;
    return new Float32Array(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength / 4);
  }

  /** forget the recorded ops (a new forward begins) */
  beginForward(): void {
    this.tape = [];
  }

  allocateCache(spec: KvCacheSpec): void {
    this.cpu.allocateCache(spec);
  }

  /**
   * Back-propagates `dlogits` (the gradient of the loss w.r.t. the forward's result `logits`) through
   * the recorded ops: the trainable weights' gradients, summed over their uses.
   */
  backward(logits: CpuAct, dlogits: Float32Array): Map<CpuWeight, Float32Array> {
    return backprop(this.tape, logits, dlogits, this.trainable, (a, b) => a.map((v, i) => v + b[i]!));
  }

  private record<T extends CpuAct>(out: T, back: Node['back']): T {
    this.tape.push({ out, back });
    return out;
  }

  readonly ops: Ops<CpuAct, CpuWeight> = {
    embed: (table, tokens) => {
      const y = this.cpu.ops.embed(table, tokens);
      return this.record(y, (dy, _g, wg) =>
        wg(table, () => {
          const dim = table.dims[0]!;
          const d = new Float32Array(dim * table.dims[1]!);
          tokens.forEach((id, t) => {
            for (let i = 0; i < dim; i++) d[id * dim + i]! += dy[t * dim + i]!;
          });
          return d;
        }),
      );
    },

    rmsNorm: (x, w, eps, groupSize = x.cols) => {
      const y = this.cpu.ops.rmsNorm(x, w, eps, groupSize);
      return this.record(y, (dy, g, wg) => {
        const r = rmsNormBackward(x.data, x.cols, values(w), eps, dy, groupSize);
        g(x, r.dx);
        wg(w, () => r.dw);
      });
    },

    matmul: (x: CpuAct, w: CpuWeight, bias?: CpuWeight, fuse?: MatmulFusion<CpuAct, CpuWeight>) => {
      const xn = fuse?.norm ? this.ops.rmsNorm(x, fuse.norm.weight, fuse.norm.eps) : x;
      const y = this.cpu.ops.matmul(xn, w, bias);
      const inDim = w.dims[0]!;
      const outDim = y.cols;
      this.record(y, (dy, g, wg) => {
        g(xn, matmulBackwardInput(dy, xn.rows, values(w), inDim, outDim));
        wg(w, () => matmulBackwardWeight(dy, xn.data, xn.rows, inDim, outDim));
        if (bias) wg(bias, () => matmulBackwardBias(dy, xn.rows, outDim));
      });
      return fuse?.add ? this.ops.add(y, fuse.add) : y;
    },

    add: (a, b) => {
      const y = this.cpu.ops.add(a, b);
      return this.record(y, (dy, g) => {
        g(a, dy);
        g(b, dy);
      });
    },

    scale: (x, s) => {
      const y = this.cpu.ops.scale(x, s);
      return this.record(y, (dy, g) => g(x, dy.map((v) => v * s)));
    },

    rope: (x, p: RopeParams, pos0) => {
      const y = this.cpu.ops.rope(x, p, pos0);
      return this.record(y, (dy, g) => {
        const freqFactors = p.freqFactors ? values(p.freqFactors as CpuWeight) : undefined;
        g(x, ropeBackward(dy, x.rows, { ...p, freqFactors }, pos0));
      });
    },

    attention: (q, k, v, p: AttentionParams, pos0) => {
      const y = this.cpu.ops.attention(q, k, v, p, pos0);
      return this.record(y, (dy, g) => {
        // (inference on this backend may continue a sequence; a gradient needs the whole one)
        if (pos0 !== 0) throw new CriaError('internal', 'a training forward feeds a whole sequence from position 0 (pos0 = 0)');
        const r = attentionBackward(q.data, k.data, v.data, q.rows, p, dy);
        g(q, r.dq);
        g(k, r.dk);
        g(v, r.dv);
      });
    },

    ropeAttention: (qkv, p: AttentionParams, r: RopeSpec, pos0) => {
      const qDim = p.nHead * p.headDim;
      const kDim = p.nHeadKv * p.headDim;
      const vDim = p.nHeadKv * p.headDimV;
      const q = this.ops.rope(this.ops.columns(qkv, 0, qDim), { ...r, nHeads: p.nHead, headDim: p.headDim }, pos0);
      const k = this.ops.rope(this.ops.columns(qkv, qDim, kDim), { ...r, nHeads: p.nHeadKv, headDim: p.headDim }, pos0);
      return this.ops.attention(q, k, this.ops.columns(qkv, qDim + kDim, vDim), p, pos0);
    },

    swiglu: (gate, up) => {
      if (!up) {
        const f = gate.cols / 2;
        return this.ops.swiglu(this.ops.columns(gate, 0, f), this.ops.columns(gate, f, f));
      }
      const y = this.cpu.ops.swiglu(gate, up);
      return this.record(y, (dy, g) => {
        const r = swigluBackward(gate.data, up.data, dy);
        g(gate, r.dg);
        g(up, r.du);
      });
    },

    geglu: (gate, up) => {
      if (!up) {
        const f = gate.cols / 2;
        return this.ops.geglu(this.ops.columns(gate, 0, f), this.ops.columns(gate, f, f));
      }
      const y = this.cpu.ops.geglu(gate, up);
      return this.record(y, (dy, g) => {
        const r = gegluBackward(gate.data, up.data, dy);
        g(gate, r.dg);
        g(up, r.du);
      });
    },

    softcap: (x, cap) => {
      const y = this.cpu.ops.softcap(x, cap);
      return this.record(y, (dy, g) => g(x, softcapBackward(x.data, cap, dy)));
    },

    columns: (x, col0, cols) => {
      const y = this.cpu.ops.columns(x, col0, cols);
      return this.record(y, (dy, g) => {
        const d = new Float32Array(x.rows * x.cols);
        for (let r = 0; r < x.rows; r++) d.set(dy.subarray(r * cols, (r + 1) * cols), r * x.cols + col0);
        g(x, d);
      });
    },

    rows: (x, row0, n) => {
      const y = this.cpu.ops.rows(x, row0, n);
      return this.record(y, (dy, g) => {
        const d = new Float32Array(x.rows * x.cols);
        d.set(dy, row0 * x.cols);
        g(x, d);
      });
    },
  };

  async read(a: CpuAct): Promise<Float32Array> {
    return this.cpu.read(a);
  }
  async argmax(logits: CpuAct): Promise<Uint32Array> {
    return this.cpu.argmax(logits);
  }
  async topk(logits: CpuAct, k: number): Promise<{ ids: Uint32Array; values: Float32Array }> {
    return this.cpu.topk(logits, k);
  }
  maskLogits(logits: CpuAct, allowed: Uint32Array): CpuAct {
    return this.cpu.maskLogits(logits, allowed);
  }
  async logprobs(logits: CpuAct, targets: readonly number[]): Promise<{ logprobs: ArrayLike<number>; argmax: Uint32Array }> {
    return this.cpu.logprobs(logits, targets);
  }
  async sync(): Promise<void> {}
  stats(): BackendStats {
    return this.cpu.stats();
  }
  dispose(): void {
    this.tape = [];
    this.cpu.dispose();
  }
}

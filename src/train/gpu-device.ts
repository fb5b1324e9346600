/**
 * LoRA training on WebGPU (a `TrainDevice` for src/train/lora-train.ts): each example's forward, loss
 * (kernels/cross_entropy.wgsl) and backward are recorded on the GPU training tape (src/train/gpu-tape.ts)
 * and run as one submit that reads back the loss and the adapter's gradients (a few hundred KB); AdamW
 * updates CPU copies of A and B, which are written back to their GPU buffers before the next step.
 */
import { crossEntropy } from '../gpu/kernels/cross_entropy.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import type { GpuWeight } from '../gpu/weights.ts';
import type { GpuTapeBackend } from './gpu-tape.ts';
import type { TrainDevice } from './trainer.ts';

export function gpuDevice(tape: GpuTapeBackend): TrainDevice<GpuTensor, GpuWeight> {
  const values = new Map<GpuWeight, Float32Array>();
  const param = (w: GpuWeight) => {
    const v = values.get(w);
    if (!v) throw new Error(`internal: ${w.name} is not trained here`);
    return v;
  };
  return {
    train(w, initial) {
      tape.train(w);
      values.set(w, initial.slice());
    },
    param,
    commit(ws) {
      for (const w of ws) tape.rec.write(w.buffer, param(w));
    },
    async lossAndGrads(model, ex, ws, grads) {
      const nCtx = model.config.nCtxTrain;
      const logits = model.forward({ tokens: ex.tokens, pos0: 0, logits: 'all', nCtx });
      const ce = crossEntropy(tape.rec, logits, ex.targets);
      const mean = (l: Float32Array) => (ce.count ? l.reduce((s, v) => s + v, 0) / ce.count : 0);
      if (!grads || ce.count === 0) {
        const [l] = await tape.readAll([ce.loss]);
        return { loss: mean(l!), count: ce.count };
      }
      const g = tape.backward(logits, ce.dlogits);
      const withGrad = ws.filter((w) => g.has(w));
      const read = await tape.readAll([ce.loss, ...withGrad.map((w) => g.get(w)!)]);
      const byWeight = new Map(withGrad.map((w, k) => [w, read[k + 1]!]));
      return { loss: mean(read[0]!), count: ce.count, grads: ws.map((w) => byWeight.get(w) ?? new Float32Array(param(w).length)) };
    },
  };
}

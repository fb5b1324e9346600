/**
 * Training on WebGPU (driven by test/gpu/train.spec.ts): `loraGrads` loads a model on the WebGPU
 * training tape (src/train/gpu-tape.ts), adds a LoRA adapter and marks its A and B trainable, runs one
 * training forward over `tokens`, the cross-entropy of `targets` (kernels/cross_entropy.wgsl) and the
 * backward pass, and reads the loss and every A and B gradient back in one flush.
 */
import { readGguf } from '../../../src/formats/gguf.ts';
import { bytesSource, urlSource } from '../../../src/formats/source.ts';
import { GpuBackend } from '../../../src/gpu/backend.ts';
import { createGpu } from '../../../src/gpu/device.ts';
import { crossEntropy } from '../../../src/gpu/kernels/cross_entropy.ts';
import type { GpuTensor } from '../../../src/gpu/tensor.ts';
import type { GpuWeight } from '../../../src/gpu/weights.ts';
import { Model } from '../../../src/model/model.ts';
import { Session } from '../../../src/engine/session.ts';
import { GpuTapeBackend } from '../../../src/train/gpu-tape.ts';
import { gpuDevice } from '../../../src/train/gpu-device.ts';
import { LoraTrainer, type LoraConfig, type TrainExample } from '../../../src/train/lora-train.ts';
import { runFinetune } from '../../../src/train/run.ts';

export interface GradReport {
  loss: number;
  /** weight names (`<tensor>.lora_a@<id>`, …), sorted */
  names: string[];
  grads: number[][];
  submits: number;
}

/** `finetune`: a LoRA fine-tune on WebGPU, then greedy answers (`answerLength` tokens) to the held-out prompts */
export interface FinetuneReport {
  heldOut: number[];
  steps: number;
  seconds: number;
  greedy: number[][];
  /** submits per training example (forward, loss, backward and reading the gradients) */
  submitsPerExample: number;
}

declare global {
  interface Window {
    criaTrain?: {
      loraGrads(url: string, adapterBase64: string, tokens: number[], targets: number[], scale: number): Promise<GradReport>;
      finetune(url: string, train: TrainExample[], heldOut: TrainExample[], prompts: { prompt: number[]; answerLength: number }[], config: Partial<LoraConfig> & { epochs: number }): Promise<FinetuneReport>;
    };
  }
}

window.criaTrain = {
  finetune: (...a) => finetune(...a),
  async loraGrads(url, adapterBase64, tokens, targets, scale) {
    const gpu = new GpuBackend(await createGpu(), { fuseWeights: false, activations: 'f32' });
    const tape = new GpuTapeBackend(gpu);
    const model = (await Model.load(await readGguf(await urlSource(url)), tape)) as Model<GpuTensor, GpuWeight>;
    new Session(model, { nCtx: Math.max(64, tokens.length) });
    const bytes = Uint8Array.from(atob(adapterBase64), (c) => c.charCodeAt(0));
    await model.addAdapter('t', await readGguf(bytesSource(bytes)));
    model.setAdapters([{ id: 't', scale }]);
    const weights: GpuWeight[] = [];
    for (const { a, b } of model.adapterWeights('t').values()) weights.push(a, b);
    for (const w of weights) tape.train(w);
    const before = gpu.stats().submits;
    const logits = model.forward({ tokens, pos0: 0, logits: 'all', nCtx: Math.max(64, tokens.length) });
    const ce = crossEntropy(tape.rec, logits, targets);
    const grads = tape.backward(logits, ce.dlogits);
    const order = [...weights].sort((x, y) => x.name.localeCompare(y.name));
    const read = await tape.readAll([ce.loss, ...order.map((w) => grads.get(w)!)]);
    const submits = gpu.stats().submits - before;
    tape.dispose();
    return { loss: read[0]!.reduce((s, v) => s + v, 0) / ce.count, names: order.map((w) => w.name), grads: read.slice(1).map((g) => Array.from(g)), submits };
  },
};
async function finetune(url: string, train: TrainExample[], heldOut: TrainExample[], prompts: { prompt: number[]; answerLength: number }[], config: Partial<LoraConfig> & { epochs: number }): Promise<FinetuneReport> {
  const gpu = new GpuBackend(await createGpu(), { fuseWeights: false, activations: 'f32' });
  const tape = new GpuTapeBackend(gpu);
  const model = (await Model.load(await readGguf(await urlSource(url)), tape)) as Model<GpuTensor, GpuWeight>;
  new Session(model, { nCtx: model.config.nCtxTrain });
  const trainer = await LoraTrainer.on(model, gpuDevice(tape), config);
  const s0 = gpu.stats().submits;
  const first = await trainer.lossAndGrads(train[0]!);
  const submitsPerExample = gpu.stats().submits - s0;
  void first;
  const r = await runFinetune(trainer, train, heldOut, { epochs: config.epochs, seed: config.seed ?? 0 });
  const greedy: number[][] = [];
  for (const p of prompts) {
    const s = new Session(model, { nCtx: 128 });
    const out: number[] = [];
    let logits = await s.forward(p.prompt);
    for (let i = 0; i < p.answerLength; i++) {
      const id = (await gpu.argmax(logits))[0]!;
      out.push(id);
      if (i + 1 < p.answerLength) logits = await s.forward([id]);
    }
    greedy.push(out);
  }
  tape.dispose();
  return { heldOut: r.heldOut, steps: r.steps, seconds: r.seconds, greedy, submitsPerExample };
}
document.body.dataset.ready = 'true';

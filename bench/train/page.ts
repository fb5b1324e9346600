/**
 * LoRA training cost on WebGPU, driven by bench/train/run.ts: loads a model on the WebGPU training
 * tape (src/train/gpu-tape.ts, as test/gpu/pages/train.ts does), makes a fresh LoRA adapter
 * (LoraTrainer.on with src/train/gpu-device.ts) and takes optimizer steps of batch 1 on one example,
 * timing each step (forward, loss, backward and reading the gradients on the GPU; clipping and AdamW on
 * the CPU copies of A and B; writing them back). Reports the submits per step and the GPU buffer bytes
 * the recorder allocated (src/gpu/recorder.ts stats: weights, KV cache, activations kept for the
 * backward pass, temporaries, staging).
 */
import { readGguf } from '../../src/formats/gguf.ts';
import { urlSource } from '../../src/formats/source.ts';
import { GpuBackend } from '../../src/gpu/backend.ts';
import { createGpu } from '../../src/gpu/device.ts';
import type { GpuTensor } from '../../src/gpu/tensor.ts';
import type { GpuWeight } from '../../src/gpu/weights.ts';
import { Model } from '../../src/model/model.ts';
import { Session } from '../../src/engine/session.ts';
import { GpuTapeBackend } from '../../src/train/gpu-tape.ts';
import { gpuDevice } from '../../src/train/gpu-device.ts';
import { LoraTrainer, type TrainExample } from '../../src/train/lora-train.ts';

export interface GpuBenchCase {
  url: string;
  example: TrainExample;
  steps: number;
  /** the KV cache's positions (the Session the training forward writes into) */
  nCtx: number;
  rank: number;
}

export interface StepTiming {
  ms: number;
  loss: number;
  submits: number;
  dispatches: number;
  bytesReadBack: number;
}

export interface GpuBenchResult {
  adapter: string;
  isFallbackAdapter: boolean;
  loadMs: number;
  trainableParams: number;
  steps: StepTiming[];
  /** GPU buffer bytes allocated by the recorder after the model loaded (weights, KV cache, rope tables) */
  bytesAfterLoad: number;
  /** ... after the adapter was added */
  bytesAfterAdapter: number;
  /** ... after the steps (the temp pool keeps its buffers for reuse) */
  bytesAfterSteps: number;
  /** the most allocated at once, over the whole run */
  peakBytes: number;
  buffersCreated: number;
  /** Chromium's JS heap of the page (performance.memory, non-standard), bytes */
  jsHeapUsed?: number;
}

declare global {
  interface Window {
    criaTrainBench?: { run(c: GpuBenchCase): Promise<GpuBenchResult> };
  }
}

window.criaTrainBench = {
  async run(c) {
    const ctx = await createGpu();
    const gpu = new GpuBackend(ctx, { fuseWeights: false, activations: 'f32' });
    const tape = new GpuTapeBackend(gpu);
    const t0 = performance.now();
    const model = (await Model.load(await readGguf(await urlSource(c.url)), tape)) as Model<GpuTensor, GpuWeight>;
    new Session(model, { nCtx: c.nCtx });
    const loadMs = performance.now() - t0;
    const bytesAfterLoad = gpu.rec.stats.bytesAllocated;
    const trainer = await LoraTrainer.on(model, gpuDevice(tape), { rank: c.rank, batchSize: 1, seed: 0 });
    const bytesAfterAdapter = gpu.rec.stats.bytesAllocated;
    const steps: StepTiming[] = [];
    for (let s = 0; s < c.steps; s++) {
      const before = { ...gpu.rec.stats };
      const t = performance.now();
      const r = await trainer.step([c.example], c.steps);
      const ms = performance.now() - t;
      const after = gpu.rec.stats;
      steps.push({ ms, loss: r.loss, submits: after.submits - before.submits, dispatches: after.dispatches - before.dispatches, bytesReadBack: after.bytesReadBack - before.bytesReadBack });
      console.log(`webgpu step ${s + 1}/${c.steps}: ${(ms / 1000).toFixed(1)} s, loss ${r.loss.toFixed(4)}`);
    }
    const st = gpu.rec.stats;
    const mem = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
    const result: GpuBenchResult = {
      adapter: [ctx.info.vendor, ctx.info.architecture, ctx.info.description].filter(Boolean).join(' / '),
      isFallbackAdapter: ctx.info.isFallbackAdapter,
      loadMs,
      trainableParams: trainer.trainableCount,
      steps,
      bytesAfterLoad,
      bytesAfterAdapter,
      bytesAfterSteps: st.bytesAllocated,
      peakBytes: st.peakBytesAllocated,
      buffersCreated: st.buffersCreated,
      ...(mem ? { jsHeapUsed: mem.usedJSHeapSize } : {}),
    };
    tape.dispose();
    return result;
  },
};
document.body.dataset.ready = 'true';

/**
 * Whole-model tests on WebGPU (driven by test/gpu/model.spec.ts):
 * - `parity`: the same forward on the GPU backend and on the CPU reference,
 *   every named intermediate both traced compared in order; reports the first
 *   one whose error exceeds its bound. The GPU backend (options as given) loads
 *   fused weights unless told not to and the reference does not, so their traces differ
 *   where the paths do: the GPU's fused projections (`wqkv`, `ffn_gate_up`) are
 *   compared with the reference's parts side by side (Qcur|Kcur|Vcur,
 *   ffn_gate|ffn_up), and tensors only one path has (Qcur_rope, …) are skipped.
 * - `greedy`: greedy continuations on the GPU (argmax on the device).
 * - `logits`: logits of every prompt position, read back.
 * Model files come from /fixtures/ (the dev server serves ../shared/fixtures with Range).
 */
import { Session } from '../../../src/engine/session.ts';
import { GpuBackend, type GpuBackendOptions } from '../../../src/gpu/backend.ts';
import { PipelineCache } from '../../../src/gpu/kernel.ts';
import { createGpu, type GpuContext } from '../../../src/gpu/device.ts';
import type { GpuTensor } from '../../../src/gpu/tensor.ts';
import { readGguf, type GgufFile } from '../../../src/formats/gguf.ts';
import { bytesSource, urlSource } from '../../../src/formats/source.ts';
import { Model } from '../../../src/model/model.ts';
import { CpuBackend, type CpuAct } from '../../../src/reference/backend.ts';
import { GPU_INT8_ACTIVATION_TYPES } from '../../../src/reference/matmul_int8.ts';
import { Engine } from '../../../src/engine/engine.ts';
import type { CriaError } from '../../../src/shared/errors.ts';
import { syntheticModel, type SyntheticShape } from '../../../src/model/synthetic.ts';

export interface TensorDiff {
  name: string;
  layer: number;
  rows: number;
  cols: number;
  maxAbs: number;
  maxRef: number;
  /** maxAbs / max(1, maxRef) */
  rel: number;
  nmse: number;
}

export interface ParityReport {
  tensors: TensorDiff[];
  /** the first tensor with rel > bound, or null */
  firstBad: TensorDiff | null;
}

declare global {
  interface Window {
    criaModel?: {
      parity(url: string, tokens: number[], bound: number, opts?: GpuBackendOptions): Promise<ParityReport>;
      greedy(url: string, prompt: number[], n: number, opts?: GpuBackendOptions): Promise<{ tokens: number[]; stats: { dispatches: number; submits: number; bytesReadBack: number; buffersCreated: number }[] }>;
      logits(url: string, tokens: number[], opts?: GpuBackendOptions): Promise<number[]>;
      limitsError(url: string, maxBinding: number): Promise<{ code: string; message: string; detail: unknown } | null>;
      deviceLoss(url: string): Promise<{ during: { code: string; message: string } | null; after: { code: string; message: string } | null; reloaded: string }>;
      hostileShapes(): Promise<Record<'head' | 'kv', { error: { code: string; message: string } | null; nCtx: number; reason: string; largestBuffer: number }>>;
      compileOnly(url: string, prompt: number[], n: number): Promise<CompileOnlyReport>;
      lora(url: string, adapterBase64: string, tokens: number[], scales: number[], opts?: GpuBackendOptions): Promise<LoraReport>;
    };
  }
}

/** `compileRecorded` (the engine's warm-up): counters and pipelines around it, then a real run of the same prompt */
export interface CompileOnlyReport {
  /** counter differences across forward(prompt) + compileRecorded */
  compiled: { dispatches: number; submits: number; bytesReadBack: number };
  pipelines: { before: number; afterCompile: number; afterRun: number };
  /** greedy tokens of the same prompt run for real after the compile-only pass was truncated away */
  tokens: number[];
}

/** `lora`: logits of every prompt position per scale (the adapter at that scale; 0 = none), and one decode step's counters with it */
export interface LoraReport {
  logits: number[][];
  step: { dispatches: number; submits: number; bytesReadBack: number; buffersCreated: number };
  stepWithout: { dispatches: number; submits: number; bytesReadBack: number; buffersCreated: number };
}

let gpu: Promise<GpuContext> | undefined;
const files = new Map<string, Promise<GgufFile>>();
const open = (url: string) => {
  let f = files.get(url);
  if (!f) files.set(url, (f = urlSource(url).then((s) => readGguf(s))));
  return f;
};

async function gpuModel(url: string, opts: GpuBackendOptions = {}) {
  gpu ??= createGpu();
  return Model.load(await open(url), new GpuBackend(await gpu, opts));
}

/** The reference's counterparts of the GPU's fused projections: their parts, side by side. */
const FUSED_PARTS: Record<string, string[]> = { wqkv: ['Qcur', 'Kcur', 'Vcur'], ffn_gate_up: ['ffn_gate', 'ffn_up'] };

function sideBySide(parts: CpuAct[]): CpuAct {
  const rows = parts[0].rows;
  const cols = parts.reduce((a, p) => a + p.cols, 0);
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let o = r * cols;
    for (const p of parts) {
      data.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), o);
      o += p.cols;
    }
  }
  return { rows, cols, data };
}

window.criaModel = {
  async parity(url, tokens, bound, opts = {}) {
    const file = await open(url);
    const gm = await gpuModel(url, opts);
    // the reference takes x as the GPU backend does (int8 activations: CPU adapters by default)
    const cpu = await Model.load(file, new CpuBackend({ activations: (gm.backend as GpuBackend).activations, int8Types: GPU_INT8_ACTIVATION_TYPES }));
    const cpuTrace = new Map<string, CpuAct>();
    const gpuTrace: { name: string; layer: number; rows: number; cols: number; data: Promise<ArrayBuffer> }[] = [];
    const cs = new Session(cpu);
    const gs = new Session(gm);
    await cs.forward(tokens, (name, layer, x) => (cpuTrace.set(`${name}.${layer}`, x), x));
    const backend = gm.backend as GpuBackend;
    const logits = await gs.forward(tokens, (name, layer, x: GpuTensor) => {
      gpuTrace.push({ name, layer, rows: x.rows, cols: x.cols, data: backend.rec.readback(x.buffer, 0, x.rows * x.cols * 4) });
      return x;
    });
    await backend.read(logits);
    const tensors: TensorDiff[] = [];
    let firstBad: TensorDiff | null = null;
    for (const g of gpuTrace) {
      const parts = FUSED_PARTS[g.name]?.map((p) => cpuTrace.get(`${p}.${g.layer}`));
      const c = parts?.every((p) => p) ? sideBySide(parts as CpuAct[]) : cpuTrace.get(`${g.name}.${g.layer}`);
      if (!c) continue;
      if (c.rows !== g.rows || c.cols !== g.cols) throw new Error(`${g.name}.${g.layer}: gpu ${g.rows}×${g.cols}, cpu ${c.rows}×${c.cols}`);
      const got = new Float32Array(await g.data);
      let maxAbs = 0;
      let maxRef = 0;
      let se = 0;
      let sr = 0;
      for (let j = 0; j < got.length; j++) {
        const d = Math.abs(got[j] - c.data[j]);
        maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
        maxRef = Math.max(maxRef, Math.abs(c.data[j]));
        se += d * d;
        sr += c.data[j] * c.data[j];
      }
      const t: TensorDiff = { name: g.name, layer: g.layer, rows: g.rows, cols: g.cols, maxAbs, maxRef, rel: maxAbs / Math.max(1, maxRef), nmse: sr > 0 ? se / sr : se };
      tensors.push(t);
      if (!firstBad && !(t.rel <= bound)) firstBad = t;
    }
    backend.dispose();
    return { tensors, firstBad };
  },

  async greedy(url, prompt, n, opts) {
    const m = await gpuModel(url, opts);
    const s = new Session(m);
    const b = m.backend;
    const tokens: number[] = [];
    const stats = [];
    let logits = await s.forward(prompt);
    for (;;) {
      const id = (await b.argmax(logits))[0];
      tokens.push(id);
      if (tokens.length >= n) break;
      const before = b.stats();
      logits = await s.forward([id]);
      // the step's cost: forward + argmax + read back, measured around one decode step
      const next = (await b.argmax(logits))[0];
      const after = b.stats();
      stats.push({
        dispatches: after.dispatches - before.dispatches,
        submits: after.submits - before.submits,
        bytesReadBack: after.bytesReadBack - before.bytesReadBack,
        buffersCreated: after.buffersCreated - before.buffersCreated,
      });
      tokens.push(next);
      if (tokens.length >= n) break;
      logits = await s.forward([next]);
    }
    b.dispose();
    return { tokens, stats };
  },

  async compileOnly(url, prompt, n) {
    const m = await gpuModel(url);
    const b = m.backend as GpuBackend;
    const cache = PipelineCache.for(b.ctx.device);
    const s = new Session(m);
    const pipelinesBefore = cache.size;
    const before = b.stats();
    await s.forward(prompt);
    await b.compileRecorded();
    const after = b.stats();
    const afterCompile = cache.size;
    s.truncate(0);
    const tokens: number[] = [];
    let logits = await s.forward(prompt);
    for (;;) {
      const id = (await b.argmax(logits))[0];
      tokens.push(id);
      if (tokens.length >= n) break;
      logits = await s.forward([id]);
    }
    const afterRun = cache.size;
    b.dispose();
    return {
      compiled: { dispatches: after.dispatches - before.dispatches, submits: after.submits - before.submits, bytesReadBack: after.bytesReadBack - before.bytesReadBack },
      pipelines: { before: pipelinesBefore, afterCompile, afterRun },
      tokens,
    };
  },

  async limitsError(url, maxBinding) {
    const ctx = await createGpu({ limits: { maxStorageBufferBindingSize: maxBinding } });
    try {
      await Model.load(await open(url), new GpuBackend(ctx));
      return null;
    } catch (e) {
      const err = e as CriaError;
      return { code: err.code, message: err.message, detail: err.detail };
    } finally {
      ctx.device.destroy();
    }
  },

  /**
   * Hostile shapes through the engine on WebGPU (issue 12, item 3): a head size beyond the attention
   * kernel, and a 5 MB file whose KV cache at its own context is 2 GiB. Reports how each load ended and
   * the largest buffer the backend was asked to create.
   */
  async hostileShapes() {
    const ctx = await createGpu();
    const sizes: number[] = [];
    const create = ctx.device.createBuffer.bind(ctx.device);
    ctx.device.createBuffer = (d: GPUBufferDescriptor) => {
      sizes.push(d.size);
      return create(d);
    };
    const base: SyntheticShape = { name: 'hostile', arch: 'llama', nEmbd: 32, nLayer: 16, nHead: 32, nHeadKv: 32, headDim: 128, nFf: 32, nVocab: 300, nCtxTrain: 4096, tied: true, ropeTheta: 10000, rmsEps: 1e-5 };
    const engine = new Engine({ createBackend: async () => new GpuBackend(ctx), memoryBudgetBytes: 2 ** 30 });
    const outcome = async (shape: SyntheticShape) => {
      const before = sizes.length;
      try {
        const info = await engine.load({ bytes: syntheticModel(shape, 'Q4_0', 1).toBytes().buffer as ArrayBuffer, name: shape.name });
        return { error: null, nCtx: info.nCtx, reason: info.nCtxReason, largestBuffer: Math.max(0, ...sizes.slice(before)) };
      } catch (e) {
        return { error: { code: (e as CriaError).code, message: (e as Error).message }, nCtx: 0, reason: '', largestBuffer: Math.max(0, ...sizes.slice(before)) };
      }
    };
    const head = await outcome({ ...base, name: 'head-4096', nLayer: 1, nHead: 1, nHeadKv: 1, headDim: 4096 });
    const kv = await outcome(base);
    await engine.unload();
    ctx.device.destroy();
    return { head, kv };
  },

  /** The engine (as the worker builds it) loses its device mid-session; it reports it and can load again. */
  async deviceLoss(relative) {
    const url = new URL(relative, location.href).href; // the engine takes absolute URLs (the client resolves them for pages)
    const contexts: GpuContext[] = [];
    const engine = new Engine({
      createBackend: async () => {
        const ctx = await createGpu();
        contexts.push(ctx);
        return new GpuBackend(ctx);
      },
    });
    const req = { prompt: [1, 403], max_tokens: 8, temperature: 0 };
    await engine.load({ url });
    await engine.completion(req);
    const err = (e: unknown) => ({ code: (e as CriaError).code, message: (e as Error).message });
    contexts[0].device.destroy();
    await contexts[0].lost;
    let during = null;
    try {
      await engine.completion(req);
    } catch (e) {
      during = err(e);
    }
    let after = null;
    try {
      await engine.completion(req);
    } catch (e) {
      after = err(e);
    }
    await engine.load({ url });
    const r = await engine.completion(req);
    return { during, after, reloaded: r.choices[0].text };
  },

  async lora(url, adapterBase64, tokens, scales, opts) {
    const m = await gpuModel(url, opts);
    const bytes = Uint8Array.from(atob(adapterBase64), (c) => c.charCodeAt(0));
    await m.addAdapter('a', await readGguf(bytesSource(bytes, 'adapter.gguf')));
    const logits: number[][] = [];
    for (const scale of scales) {
      m.setAdapters(scale === 0 ? [] : [{ id: 'a', scale }]);
      logits.push(Array.from(await new Session(m).eval(tokens, 'all')));
    }
    // one decode step (forward + argmax) with the adapter and without: what it adds to a token's work
    const step = async () => {
      const s = new Session(m);
      await m.backend.argmax(await s.forward(tokens));
      // the first decode step makes the activation buffers of its shapes (kept for the next ones)
      await m.backend.argmax(await s.forward([tokens[1]!]));
      const before = m.backend.stats();
      await m.backend.argmax(await s.forward([tokens[0]!]));
      const after = m.backend.stats();
      return { dispatches: after.dispatches - before.dispatches, submits: after.submits - before.submits, bytesReadBack: after.bytesReadBack - before.bytesReadBack, buffersCreated: after.buffersCreated - before.buffersCreated };
    };
    m.setAdapters([{ id: 'a', scale: 1 }]);
    const withAdapter = await step();
    m.setAdapters([]);
    const without = await step();
    m.backend.dispose();
    return { logits, step: withAdapter, stepWithout: without };
  },

  async logits(url, tokens, opts) {
    const m = await gpuModel(url, opts);
    const s = new Session(m);
    const out = await s.eval(tokens, 'all');
    m.backend.dispose();
    return Array.from(out);
  },
};
document.getElementById('out')!.textContent = 'ready';

/**
 * What a decode step costs on WebGPU, for a real model shape (driven by
 * test/gpu/cost.spec.ts): a synthetic model (src/model/synthetic.ts) is built
 * in memory, loaded with the normal path (bytesSource → readGguf → Model.load
 * on GpuBackend), a prompt is evaluated, then decode steps run with the argmax
 * on the device, as test/gpu/pages/model.ts `greedy` does. Reported per step:
 * the recorder's counters and the wall time; for one step, which op recorded
 * how many dispatches; and GPU memory (the recorder's live bytes) by kind of
 * buffer at each stage.
 * With `mask` (structured output, issue 16), every decode step masks the logits on the device
 * (Session.mask → GpuBackend.maskLogits) before its argmax, a new token bitmask each step (about 1 in
 * 1000 tokens allowed, as a grammar leaves mid-structure; one step allows a single token), and an
 * unmasked step follows each measured one, for comparison.
 */
import { Session } from '../../../src/engine/session.ts';
import { GpuBackend } from '../../../src/gpu/backend.ts';
import { createGpu } from '../../../src/gpu/device.ts';
import type { GpuTensor } from '../../../src/gpu/tensor.ts';
import type { GpuWeight } from '../../../src/gpu/weights.ts';
import { readGguf } from '../../../src/formats/gguf.ts';
import { bytesSource } from '../../../src/formats/source.ts';
import type { ModelConfig } from '../../../src/model/config.ts';
import { Model } from '../../../src/model/model.ts';
import { syntheticModel, type SyntheticType } from '../../../src/model/synthetic.ts';
import { makeMask } from '../harness/mask-cases.ts';

export interface StepCost {
  dispatches: number;
  submits: number;
  bytesReadBack: number;
  buffersCreated: number;
  ms: number;
}

/** GPU bytes by kind of buffer (from the labels the backend gives them). */
export type MemoryByKind = Record<'weights' | 'kvCache' | 'ropeTable' | 'tempPool' | 'staging' | 'uniforms' | 'other', number>;

export interface MemoryAt {
  /** the recorder's live-bytes counter */
  bytesAllocated: number;
  byKind: MemoryByKind;
}

export interface CostReport {
  shape: string;
  type: string;
  nLayer: number;
  adapter: string;
  fileBytes: number;
  /** tensor data in the file */
  tensorBytes: number;
  /** nLayer · nCtx · (kvDim + kvDimV) · 4 */
  kvBytes: number;
  genMs: number;
  loadMs: number;
  prefillMs: number;
  promptTokens: number;
  /** the first decode step after the prompt (new pipeline variants, new temp sizes) */
  warmup: StepCost;
  steps: StepCost[];
  /** dispatches of the last measured step, by traced op: layer 0 ops, ops outside the layers, argmax */
  layer0: Record<string, number>;
  outside: Record<string, number>;
  /** (dispatches of the step − those outside the layers) / nLayer */
  dispatchesPerLayer: number;
  memory: { afterLoad: MemoryAt; afterSession: MemoryAt; afterDecode: MemoryAt; peak: number };
  tokens: number[];
  /**
   * with `profile`: ms of one decode-shaped op, each alone in a submit and waited for (median of 3):
   * the ops of one layer as the forward records them (fused weights), and the LM head (key `matmul output…`)
   */
  opMs?: Record<string, number>;
  /** with `profile`: the unfused alternatives, for comparison (rms_norm, a matmul without prologue or epilogue, add, rope, attention with copies) */
  compareMs?: Record<string, number>;
  /**
   * where the device has `timestamp-query`: one more decode step with every dispatch
   * timed on the GPU (Recorder.timeDispatches: one pass per dispatch), summed per op (kernel + the
   * weight's name without its layer) over the step, and that step's wall-clock ms
   */
  timed?: { byOp: Record<string, { dispatches: number; ms: number }>; gpuMs: number; stepMs: number };
  /**
   * with `mask`: the masked steps (warm-up, measured, timed) in order: the token chosen, whether its mask
   * allowed it, how many tokens the mask allowed, and (for the single-token mask) the one allowed; and
   * the costs of the unmasked steps that alternate with the measured ones (`plainSteps`)
   */
  masked?: { checks: { token: number; allowed: boolean; allowedCount: number; only?: number }[]; plainSteps: StepCost[] };
}

declare global {
  interface Window {
    criaCost?: {
      decode(opts: { shape: string; type: SyntheticType; seed: number; prompt: number[]; steps: number; nCtx: number; profile?: boolean; mask?: boolean }): Promise<CostReport>;
    };
  }
}

function kindOf(label: string): keyof MemoryByKind {
  if (/^(k|v)_cache\./.test(label)) return 'kvCache';
  if (label === 'rope_table') return 'ropeTable';
  if (label.startsWith('temp')) return 'tempPool';
  if (label === 'staging') return 'staging';
  if (label === 'uniforms') return 'uniforms';
  if (/\.(weight|bias)$/.test(label)) return 'weights';
  return 'other';
}

window.criaCost = {
  async decode({ shape, type, seed, prompt, steps, nCtx, profile, mask }) {
    const ctx = await createGpu();
    const t0 = performance.now();
    const synth = syntheticModel(shape, type, seed);
    let bytes: Uint8Array | undefined = synth.toBytes();
    const genMs = performance.now() - t0;

    const backend = new GpuBackend(ctx);
    const rec = backend.rec;
    // Instruments (this page only): buffers by label while alive, dispatches by traced op.
    const live = new Map<GPUBuffer, { label: string; size: number }>();
    const createBuffer = rec.createBuffer.bind(rec);
    rec.createBuffer = (n, label, usage) => {
      const buf = createBuffer(n, label, usage);
      live.set(buf, { label, size: buf.size });
      const destroy = buf.destroy.bind(buf);
      buf.destroy = () => (live.delete(buf), destroy());
      return buf;
    };
    let pending = 0;
    const dispatch = rec.dispatch.bind(rec);
    rec.dispatch = (cmd) => {
      if (cmd.grid.every((g) => g > 0)) pending++;
      dispatch(cmd);
    };
    const memory = (): MemoryAt => {
      const byKind: MemoryByKind = { weights: 0, kvCache: 0, ropeTable: 0, tempPool: 0, staging: 0, uniforms: 0, other: 0 };
      for (const b of live.values()) byKind[kindOf(b.label)] += b.size;
      return { bytesAllocated: rec.stats.bytesAllocated, byKind };
    };

    const loaded = new Map<string, GpuWeight>();
    const loadWeight = backend.loadWeight.bind(backend);
    backend.loadWeight = async (name, t, dims, data) => {
      const w = await loadWeight(name, t, dims, data);
      loaded.set(name, w);
      return w;
    };
    const loadMixedWeight = backend.loadMixedWeight.bind(backend);
    backend.loadMixedWeight = async (name, parts, dims) => {
      const w = await loadMixedWeight(name, parts, dims);
      loaded.set(name, w);
      return w;
    };

    const t1 = performance.now();
    const file = await readGguf(bytesSource(bytes, `${shape}-${type}.gguf`));
    const model = await Model.load(file, backend);
    const loadMs = performance.now() - t1;
    bytes = undefined;
    const afterLoad = memory();

    const c = model.config;
    const session = new Session(model, { nCtx });
    const kvBytes = c.nLayer * nCtx * c.nHeadKv * (c.headDim + c.headDimV) * 4;
    const afterSession = memory();

    const tokens: number[] = [];
    const t2 = performance.now();
    let logits = await session.forward(prompt);
    tokens.push((await backend.argmax(logits))[0]);
    const prefillMs = performance.now() - t2;

    // the bitmasks are made before the steps (a grammar engine's work, not the device's): step 2 allows one token
    const masks = mask ? Array.from({ length: steps + 2 }, (_, k) => makeMask(k === 2 ? 'single' : 'sparse', c.nVocab, 1000 + k)) : [];
    const checks: NonNullable<CostReport['masked']>['checks'] = [];
    let useMask = mask === true;
    const step = async (trace?: (name: string, layer: number, x: GpuTensor) => GpuTensor): Promise<StepCost> => {
      const allowed = useMask ? masks[checks.length] : undefined;
      const before = backend.stats();
      const t = performance.now();
      logits = await session.forward([tokens[tokens.length - 1]], trace);
      if (allowed) logits = session.mask(logits, allowed);
      const token = (await backend.argmax(logits))[0];
      tokens.push(token);
      const ms = performance.now() - t;
      const after = backend.stats();
      if (allowed) {
        const on = (i: number) => ((allowed[i >>> 5] >>> (i & 31)) & 1) === 1;
        const ids = Array.from({ length: c.nVocab }, (_, i) => i).filter(on);
        checks.push({ token, allowed: on(token), allowedCount: ids.length, only: ids.length === 1 ? ids[0] : undefined });
      }
      return {
        dispatches: after.dispatches - before.dispatches,
        submits: after.submits - before.submits,
        bytesReadBack: after.bytesReadBack - before.bytesReadBack,
        buffersCreated: after.buffersCreated - before.buffersCreated,
        ms,
      };
    };

    const warmup = await step();
    const plainSteps: StepCost[] = [];
    const measured: StepCost[] = [];
    const layer0: Record<string, number> = {};
    const outside: Record<string, number> = {};
    let inLayers = 0;
    for (let i = 0; i < steps; i++) {
      const last = i === steps - 1;
      pending = 0;
      // the dispatches recorded since the previous traced op belong to this one
      const trace = (name: string, layer: number, x: GpuTensor) => {
        if (layer === 0) layer0[name] = (layer0[name] ?? 0) + pending;
        if (layer < 0) outside[name] = (outside[name] ?? 0) + pending;
        else inLayers += pending;
        pending = 0;
        return x;
      };
      measured.push(await step(last ? trace : undefined));
      if (last) outside[mask ? 'mask_logits + argmax' : 'argmax'] = pending;
      if (mask) {
        // an unmasked step after each masked one, so drift of the wall clock touches both alike
        useMask = false;
        plainSteps.push(await step());
        useMask = true;
      }
    }
    const afterDecode = memory();
    const lastStep = measured[measured.length - 1];
    const outsideTotal = Object.values(outside).reduce((a, b) => a + b, 0);
    if (inLayers + outsideTotal !== lastStep.dispatches) {
      throw new Error(`dispatch attribution is off: ${inLayers} in layers + ${outsideTotal} outside ≠ ${lastStep.dispatches} counted`);
    }
    let timed: CostReport['timed'];
    if (rec.timeDispatches(true)) {
      rec.takeDispatchTimes();
      const stepMs = (await step()).ms;
      const byOp: Record<string, { dispatches: number; ms: number }> = {};
      let gpuMs = 0;
      for (const d of rec.takeDispatchTimes()) {
        const key = `${d.kernel}${d.weight ? ' ' + d.weight.replace(/^blk\.\d+\./, '') : ''}`;
        const e = (byOp[key] ??= { dispatches: 0, ms: 0 });
        e.dispatches++;
        e.ms += d.ns / 1e6;
        gpuMs += d.ns / 1e6;
      }
      rec.timeDispatches(false);
      timed = { byOp, gpuMs, stepMs };
    }
    const prof = profile ? await profileOps(backend, c, (name) => loaded.get(name)!, session.tokens.length) : undefined;
    backend.dispose();
    ctx.device.destroy();
    return {
      shape,
      type,
      nLayer: c.nLayer,
      adapter: `${ctx.info.vendor} ${ctx.info.architecture} ${ctx.info.description}`.trim(),
      fileBytes: synth.fileSize,
      tensorBytes: synth.tensorBytes,
      kvBytes,
      genMs,
      loadMs,
      prefillMs,
      promptTokens: prompt.length,
      warmup,
      steps: measured,
      layer0,
      outside,
      dispatchesPerLayer: (lastStep.dispatches - outsideTotal) / c.nLayer,
      memory: { afterLoad, afterSession, afterDecode, peak: rec.stats.peakBytesAllocated },
      tokens,
      opMs: prof?.ops,
      compareMs: prof?.compare,
      timed,
      masked: mask ? { checks, plainSteps } : undefined,
    };
  },
};

/**
 * Time each decode-shaped op of layer 0 (as the fused forward records them) and the output, alone: record,
 * submit, wait (median of 3); and the unfused alternatives of the fused ones, for comparison.
 */
async function profileOps(backend: GpuBackend, c: ModelConfig, w: (name: string) => GpuWeight | undefined, pos: number): Promise<{ ops: Record<string, number>; compare: Record<string, number> }> {
  const ops = backend.ops;
  const must = (name: string) => {
    const t = w(name);
    if (!t) throw new Error(`${name} was not loaded (the profile expects fused weights)`);
    return t;
  };
  const act = (cols: number): GpuTensor => {
    const buffer = backend.rec.createBuffer(cols * 4, 'profile');
    backend.rec.write(buffer, Float32Array.from({ length: cols }, (_, i) => Math.sin(i) * 0.5));
    return { rows: 1, cols, buffer };
  };
  const qDim = c.nHead * c.headDim;
  const kvDim = c.nHeadKv * c.headDim;
  const x = act(c.nEmbd);
  const q = act(qDim);
  const qkv = act(qDim + kvDim + c.nHeadKv * c.headDimV);
  const kv = act(kvDim);
  const ff = act(c.nFf);
  const gu = act(2 * c.nFf);
  const p = { layer: 0, nHead: c.nHead, nHeadKv: c.nHeadKv, headDim: c.headDim, headDimV: c.headDimV, scale: c.attnScale, softcap: 0, window: 0 };
  const out = w('output.weight') ? 'output.weight' : 'token_embd.weight';
  const attnNorm = { weight: must('blk.0.attn_norm.weight'), eps: c.rmsEps };
  const ffnNorm = { weight: must('blk.0.ffn_norm.weight'), eps: c.rmsEps };
  const layer: [string, () => unknown][] = [
    ['matmul attn_norm + attn_qkv', () => ops.matmul(x, must('blk.0.attn_qkv.weight'), undefined, { norm: attnNorm })],
    ['rope_kv + attention', () => ops.ropeAttention(qkv, p, c.rope, pos)],
    ['matmul attn_output + residual', () => ops.matmul(q, must('blk.0.attn_output.weight'), undefined, { add: x })],
    ['matmul ffn_norm + ffn_gate_up', () => ops.matmul(x, must('blk.0.ffn_gate_up.weight'), undefined, { norm: ffnNorm })],
    ['swiglu (gate|up)', () => ops.swiglu(gu)],
    ['matmul ffn_down + residual', () => ops.matmul(ff, must('blk.0.ffn_down.weight'), undefined, { add: x })],
    [`matmul output_norm + output (${out})`, () => ops.matmul(x, must(out), undefined, { norm: { weight: must('output_norm.weight'), eps: c.rmsEps } })],
  ];
  const compare: [string, () => unknown][] = [
    ['rms_norm', () => ops.rmsNorm(x, attnNorm.weight, c.rmsEps)],
    [`matmul ${out}`, () => ops.matmul(x, must(out))],
    ['matmul attn_qkv', () => ops.matmul(x, must('blk.0.attn_qkv.weight'))],
    ['matmul ffn_gate_up', () => ops.matmul(x, must('blk.0.ffn_gate_up.weight'))],
    ['matmul attn_output', () => ops.matmul(q, must('blk.0.attn_output.weight'))],
    ['matmul ffn_down', () => ops.matmul(ff, must('blk.0.ffn_down.weight'))],
    ['add', () => ops.add(x, x)],
    ['rope q', () => ops.rope(q, { ...c.rope, nHeads: c.nHead, headDim: c.headDim }, pos)],
    ['attention (store kv + attend)', () => ops.attention(q, kv, kv, p, pos)],
  ];
  const time = async (cases: [string, () => unknown][]) => {
    const res: Record<string, number> = {};
    for (const [name, run] of cases) {
      const t: number[] = [];
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        run();
        await backend.sync();
        await backend.ctx.device.queue.onSubmittedWorkDone();
        if (i > 0) t.push(performance.now() - t0); // the first run may compile
      }
      res[name] = t.sort((a, b) => a - b)[1];
    }
    return res;
  };
  return { ops: await time(layer), compare: await time(compare) };
}
document.getElementById('out')!.textContent = 'ready';

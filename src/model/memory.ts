/**
 * Memory, checked before it is taken. From the hyperparameters and the tensor list alone
 * (nothing uploaded, nothing allocated) this computes what a model needs: its weights, the KV
 * cache for a context of n positions, and the scratch of a prompt batch; then it picks the
 * context size (or checks the caller's) against a memory budget and the backend's per-buffer
 * limit, and refuses with `out-of-memory` / `limits` / `unsupported-arch` naming the numbers.
 *
 * The needs are upper estimates of what the backends allocate (src/gpu/backend.ts,
 * src/reference/backend.ts): the KV cache is f32 K and V rows per layer and position; the
 * scratch is the activations of one prompt batch (`nBatch` rows: x, norm, residual and attention
 * output of width nEmbd, q|k|v, gate, up and their product of width nFf, and the logits of every
 * row, which scoring reads back) plus the RoPE table (nCtx × head size).
 */
import { CriaError } from '../shared/errors.ts';
import type { ModelConfig } from './config.ts';

export interface MemoryLimits {
  /** bytes the model may take in all (weights + KV cache + scratch) */
  budgetBytes: number;
  /** bytes one buffer may hold (WebGPU: maxStorageBufferBindingSize and maxBufferSize); absent: no limit */
  maxBufferBytes?: number;
  /** the largest attention head size the backend's kernels take; absent: any */
  maxHeadDim?: number;
  /** where the budget comes from, when not from the caller (e.g. " (WebAssembly's 4 GiB address space)") */
  budgetNote?: string;
}

export interface ContextRequest {
  /** the caller's context size; absent: choose one (at most `cap` and the training context) */
  nCtx?: number;
  /** the default context when the memory allows it (Cria's: 4096) */
  cap: number;
  /** prompt tokens per forward call (the session's nBatch) */
  nBatch: number;
}

/** What a model takes at a context size, in bytes. */
export interface MemoryUse {
  budgetBytes: number;
  weightBytes: number;
  kvCacheBytes: number;
  scratchBytes: number;
  totalBytes: number;
}

export interface ContextChoice {
  nCtx: number;
  /** why this size, in a sentence (ModelInfo.nCtxReason) */
  reason: string;
  memory: MemoryUse;
}

/** A default context is never chosen below this (or the training context, if shorter): a model that cannot hold it is refused. */
export const MIN_CONTEXT = 256;

const MiB = 2 ** 20;
export const formatBytes = (n: number): string => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / MiB).toFixed(1)} MiB`);

/** KV cache bytes per position (all layers, K and V, f32). */
export function kvBytesPerPosition(c: ModelConfig): number {
  return c.nLayer * c.nHeadKv * (c.headDim + c.headDimV) * 4;
}

export function scratchBytes(c: ModelConfig, nCtx: number, nBatch: number): number {
  const rows = Math.min(nBatch, nCtx);
  const width = 4 * c.nEmbd + (c.nHead + 2 * c.nHeadKv) * Math.max(c.headDim, c.headDimV) + 3 * c.nFf + c.nVocab;
  return rows * width * 4 + nCtx * c.rope.dim * 4;
}

export function memoryUse(c: ModelConfig, weightBytes: number, nCtx: number, nBatch: number, budgetBytes: number): MemoryUse {
  const kvCacheBytes = kvBytesPerPosition(c) * nCtx;
  const scratch = scratchBytes(c, nCtx, nBatch);
  return { budgetBytes, weightBytes, kvCacheBytes, scratchBytes: scratch, totalBytes: weightBytes + kvCacheBytes + scratch };
}

/**
 * Check the model against the backend and the budget, and choose its context size.
 * `largestTensorBytes`: the largest single tensor (it must fit one buffer).
 */
export function chooseContext(c: ModelConfig, weightBytes: number, largestTensorBytes: number, limits: MemoryLimits, req: ContextRequest): ContextChoice {
  const { budgetBytes } = limits;
  const budget = `the memory budget of ${formatBytes(budgetBytes)}${limits.budgetNote ?? ''}`;
  const maxBuffer = limits.maxBufferBytes ?? Infinity;
  if (limits.maxHeadDim !== undefined && Math.max(c.headDim, c.headDimV) > limits.maxHeadDim) {
    throw new CriaError('unsupported-arch', `this model's attention heads have ${Math.max(c.headDim, c.headDimV)} dimensions; Cria's attention kernels take at most ${limits.maxHeadDim}`, {
      headDim: c.headDim,
      headDimV: c.headDimV,
      maxHeadDim: limits.maxHeadDim,
    });
  }
  if (largestTensorBytes > maxBuffer) {
    throw new CriaError('limits', `the model's largest tensor needs a buffer of ${formatBytes(largestTensorBytes)}, but this device allows at most ${formatBytes(maxBuffer)} per buffer; choose a smaller model or a more quantized file`, {
      need: largestTensorBytes,
      have: maxBuffer,
    });
  }
  // one layer's K (or V) cache is one buffer: nCtx × nHeadKv × head size × 4 bytes
  const kvRowBytes = c.nHeadKv * Math.max(c.headDim, c.headDimV) * 4;
  const bufferCtx = Math.floor(maxBuffer / kvRowBytes);
  const use = (n: number) => memoryUse(c, weightBytes, n, req.nBatch, budgetBytes);
  const fits = (n: number) => use(n).totalBytes <= budgetBytes && n <= bufferCtx;
  const explain = (n: number) => {
    const u = use(n);
    return `${formatBytes(u.weightBytes)} of weights + ${formatBytes(u.kvCacheBytes)} of KV cache for ${n} positions + ${formatBytes(u.scratchBytes)} of scratch = ${formatBytes(u.totalBytes)}`;
  };

  if (req.nCtx !== undefined) {
    // as asked, even beyond the training context (as llama.cpp allows: RoPE runs on, quality degrades)
    const nCtx = req.nCtx;
    if (!Number.isInteger(nCtx) || nCtx < 2 || nCtx > 1 << 24) throw new CriaError('bad-argument', `the context size must be a whole number from 2 to 2^24, got ${nCtx}`);
    if (nCtx > bufferCtx) {
      throw new CriaError('limits', `a context of ${nCtx} positions needs a KV cache buffer of ${formatBytes(nCtx * kvRowBytes)} per layer, but this device allows at most ${formatBytes(maxBuffer)} per buffer; ask for at most ${bufferCtx} positions`, {
        nCtx,
        need: nCtx * kvRowBytes,
        have: maxBuffer,
      });
    }
    if (!fits(nCtx)) {
      throw new CriaError('out-of-memory', `a context of ${nCtx} positions needs ${explain(nCtx)}, more than ${budget}; ask for a shorter context, choose a smaller model, or raise the budget`, {
        nCtx,
        ...use(nCtx),
      });
    }
    const reason = nCtx > c.nCtxTrain ? `${nCtx}: as asked, beyond the ${c.nCtxTrain} positions the model was trained with (expect worse text past them)` : `${nCtx}: as asked`;
    return { nCtx, reason, memory: use(nCtx) };
  }

  const target = Math.min(c.nCtxTrain, req.cap);
  if (fits(target)) {
    const reason = target === c.nCtxTrain ? `${target}: the context the model was trained with` : `${target}: Cria's default (the model was trained with ${c.nCtxTrain}; ask for more when loading)`;
    return { nCtx: target, reason, memory: use(target) };
  }
  const floor = Math.min(MIN_CONTEXT, c.nCtxTrain);
  if (!fits(floor)) {
    const why = floor > bufferCtx ? `a KV cache buffer of ${formatBytes(floor * kvRowBytes)} per layer (this device allows ${formatBytes(maxBuffer)})` : explain(floor);
    throw new CriaError(floor > bufferCtx ? 'limits' : 'out-of-memory', `this model does not fit: even a context of ${floor} positions needs ${why}, and the memory budget is ${formatBytes(budgetBytes)}${limits.budgetNote ?? ''}; choose a smaller model or a more quantized file`, {
      nCtx: floor,
      ...use(floor),
    });
  }
  // the largest size that fits, in steps of 256 positions (the total grows with n)
  let lo = floor;
  let hi = target;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  const nCtx = lo >= 256 ? lo - (lo % 256) : lo;
  const limit = lo >= bufferCtx ? `the device's largest buffer (${formatBytes(maxBuffer)}) for one layer's KV cache` : `${budget} with ${formatBytes(weightBytes)} of weights`;
  return { nCtx, reason: `${nCtx}: what fits ${limit} (the model was trained with ${c.nCtxTrain})`, memory: use(nCtx) };
}

/**
 * One sequence on onnxruntime (the runtime seam's `Sequence`, src/engine/runtime.ts) for a causal LM
 * in the Optimum / Transformers.js layout: inputs input_ids, attention_mask, position_ids and
 * past_key_values.{i}.key|value [1, n_kv, past, head_dim]; outputs logits [1, n, vocab] and
 * present.{i}.key|value. Each call feeds the new tokens with the cache the previous call returned.
 *
 * Logits come back to the CPU (ORT returns them as a tensor on the CPU for the WASM EP), so a logits
 * "handle" is the row itself and argmax/top-k run here. Truncating the cache slices the KV tensors.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-web';
import { CriaError } from '../../shared/errors.ts';
import type { Sequence } from '../../engine/runtime.ts';
import { RowSequence, scoreRow } from '../row-sequence.ts';

export interface OnnxShape {
  nLayer: number;
  nHeadKv: number;
  headDim: number;
  nVocab: number;
  /** context size in tokens */
  nCtx: number;
  /** most tokens per session run while evaluating a prompt (default 256) */
  nBatch?: number;
  /**
   * the WebGPU EP's device, when the session keeps its KV outputs on it (`preferredOutputLocation`
   * gpu-buffer): the cache then stays on the GPU between steps, and truncating it copies rows there
   */
  gpu?: GPUDevice;
}

interface Kv {
  key: Tensor;
  value: Tensor;
}

export class OnnxSequence extends RowSequence implements Sequence<Float32Array> {
  readonly nCtx: number;
  readonly nVocab: number;
  private readonly nBatch: number;
  private cached: number[] = [];
  private kv: Kv[];

  constructor(
    private readonly session: InferenceSession,
    private readonly shape: OnnxShape,
  ) {
    super();
    this.nCtx = shape.nCtx;
    this.nVocab = shape.nVocab;
    this.nBatch = shape.nBatch ?? 256;
    this.kv = this.emptyCache();
    this.positionIds = session.inputNames.includes('position_ids');
  }

  private readonly positionIds: boolean;

  private emptyCache(): Kv[] {
    const dims = [1, this.shape.nHeadKv, 0, this.shape.headDim];
    return Array.from({ length: this.shape.nLayer }, () => ({ key: new Tensor('float32', new Float32Array(0), dims), value: new Tensor('float32', new Float32Array(0), dims) }));
  }

  get tokens(): readonly number[] {
    return this.cached;
  }

  protected get held(): readonly number[] {
    return this.cached;
  }

  truncate(n: number): void {
    if (n >= this.cached.length) return;
    this.cached.length = n;
    const old = this.kv;
    if (n === 0) this.kv = this.emptyCache();
    else {
      const slice = (t: Tensor) => (t.location === 'gpu-buffer' ? slicePositionsGpu(this.shape.gpu!, t, n) : slicePositions(t, n));
      this.kv = old.map(({ key, value }) => ({ key: slice(key), value: slice(value) }));
    }
    disposeKv(old);
  }

  private checkRoom(n: number): void {
    if (n === 0) throw new CriaError('bad-argument', 'nothing to evaluate: the token list is empty');
    if (this.cached.length + n > this.nCtx) {
      throw new CriaError('context-overflow', `the text needs ${this.cached.length + n} tokens but the context holds ${this.nCtx}; shorten the prompt or lower max_tokens`, { needed: this.cached.length + n, nCtx: this.nCtx });
    }
  }

  /** Run `tokens` (at most nBatch) after the cache; logits of every one, [n × nVocab]. */
  private async run(tokens: readonly number[]): Promise<Float32Array> {
    const past = this.cached.length;
    const n = tokens.length;
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, n]),
      attention_mask: new Tensor('int64', new BigInt64Array(past + n).fill(1n), [1, past + n]),
    };
    // (graphs exported without position_ids derive the positions from the attention mask)
    if (this.positionIds) feeds.position_ids = new Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(past + i)), [1, n]);
    this.kv.forEach((kv, il) => {
      feeds[`past_key_values.${il}.key`] = kv.key;
      feeds[`past_key_values.${il}.value`] = kv.value;
    });
    const out = await this.session.run(feeds);
    const old = this.kv;
    this.kv = this.kv.map((_, il) => ({ key: out[`present.${il}.key`], value: out[`present.${il}.value`] }));
    disposeKv(old); // (GPU buffers: the present outputs are new ones)
    this.cached.push(...tokens);
    const logits = out.logits;
    if (logits.type !== 'float32' || logits.dims.at(-1) !== this.nVocab) throw new CriaError('bad-file', `the ONNX model's logits are ${logits.type} [${logits.dims}], want float32 [.., ${this.nVocab}]`);
    return logits.data as Float32Array;
  }

  private async eachBatch(tokens: readonly number[], signal: AbortSignal | undefined, use: (logits: Float32Array, i: number, n: number) => void): Promise<void> {
    this.checkRoom(tokens.length);
    for (let i = 0; i < tokens.length; i += this.nBatch) {
      if (signal?.aborted) throw new CriaError('aborted', 'the request was aborted');
      const chunk = tokens.slice(i, i + this.nBatch);
      use(await this.run(chunk), i, chunk.length);
    }
  }

  async append(tokens: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    let last = new Float32Array(0);
    await this.eachBatch(tokens, signal, (l, _i, n) => (last = l.slice((n - 1) * this.nVocab)));
    return last;
  }

  async appendAll(tokens: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    const out = new Float32Array(tokens.length * this.nVocab);
    await this.eachBatch(tokens, signal, (l, i) => out.set(l, i * this.nVocab));
    return out;
  }

  async score(tokens: readonly number[], signal?: AbortSignal): Promise<{ logprobs: number[]; greedy: boolean[] }> {
    if (tokens.length < 2) throw new CriaError('bad-argument', 'scoring needs at least two tokens: one to condition on, one to score');
    const out = { logprobs: [] as number[], greedy: [] as boolean[] };
    await this.eachBatch(tokens.slice(0, -1), signal, (l, i, n) => {
      for (let r = 0; r < n; r++) scoreRow(l.subarray(r * this.nVocab, (r + 1) * this.nVocab), tokens[i + r + 1]!, out);
    });
    return out;
  }

  async sync(): Promise<void> {}

  /** free the cache's device buffers (the session is released by its owner) */
  release(): void {
    disposeKv(this.kv);
    this.kv = this.emptyCache();
    this.cached = [];
  }
}

/** Release the GPU buffers of a cache no longer used (CPU tensors need nothing). */
function disposeKv(kv: Kv[]): void {
  for (const { key, value } of kv) for (const t of [key, value]) if (t.location === 'gpu-buffer') t.dispose();
}

/** The first `n` positions of a KV tensor on the GPU: one buffer copy per head, on the device. */
function slicePositionsGpu(device: GPUDevice, t: Tensor, n: number): Tensor {
  const [b, heads, positions, d] = t.dims;
  const row = d * 4;
  const buffer = device.createBuffer({ size: Math.max(4, b * heads * n * row), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  for (let h = 0; h < b * heads; h++) enc.copyBufferToBuffer(t.gpuBuffer, h * positions * row, buffer, h * n * row, n * row);
  device.queue.submit([enc.finish()]);
  return Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: [b, heads, n, d], dispose: () => buffer.destroy() });
}

/** The first `n` positions of a KV tensor [1, heads, positions, headDim] (CPU data). */
function slicePositions(t: Tensor, n: number): Tensor {
  const [b, heads, positions, d] = t.dims;
  const src = t.data as Float32Array;
  const out = new Float32Array(b * heads * n * d);
  for (let h = 0; h < b * heads; h++) out.set(src.subarray(h * positions * d, h * positions * d + n * d), h * n * d);
  return new Tensor('float32', out, [b, heads, n, d]);
}

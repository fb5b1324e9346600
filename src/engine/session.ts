/**
 * A session: one model, one KV cache, and the tokens currently in it.
 * Prompts are evaluated in batches of at most `nBatch` tokens; generation
 * feeds one token at a time. Reusing a session across requests keeps the
 * longest common prefix of the cached tokens (chat turns only pay for the
 * new part).
 */
import { CriaError } from '../shared/errors.ts';
import type { Model } from '../model/model.ts';
import type { Act, Trace, Weight } from '../model/ops.ts';

export interface SessionOptions {
  /** context size in tokens (default: the model's training context, at most 4096) */
  nCtx?: number;
  /** most tokens per forward call while evaluating a prompt (default 256) */
  nBatch?: number;
}

export class Session<A extends Act = Act, W extends Weight = Weight> {
  readonly nCtx: number;
  readonly nBatch: number;
  private cached: number[] = [];

  constructor(
    readonly model: Model<A, W>,
    opts: SessionOptions = {},
  ) {
    const c = model.config;
    this.nCtx = opts.nCtx ?? Math.min(c.nCtxTrain, 4096);
    this.nBatch = opts.nBatch ?? 256;
    if (!Number.isInteger(this.nCtx) || this.nCtx < 1) throw new CriaError('bad-argument', `context size ${this.nCtx} must be a positive integer`);
    model.backend.allocateCache({ nLayer: c.nLayer, nCtx: this.nCtx, kvDim: c.nHeadKv * c.headDim, kvDimV: c.nHeadKv * c.headDimV });
  }

  /** Tokens whose keys and values are in the cache, in order. */
  get tokens(): readonly number[] {
    return this.cached;
  }

  /** Forget cached positions from `n` on (0 = everything). */
  truncate(n: number): void {
    this.cached.length = Math.min(n, this.cached.length);
  }

  /** Length of the common prefix of the cache and `tokens`. */
  commonPrefix(tokens: readonly number[]): number {
    let i = 0;
    while (i < tokens.length && i < this.cached.length && tokens[i] === this.cached[i]) i++;
    return i;
  }

  /**
   * Append `tokens` to the context and run the model. Returns the logits of
   * the last token (`nVocab` floats), or with `all`, of every appended token
   * (`tokens.length × nVocab`, row-major).
   */
  async eval(tokens: readonly number[], which: 'last' | 'all' = 'last', trace?: Trace<A>, signal?: AbortSignal): Promise<Float32Array> {
    if (tokens.length === 0) throw new CriaError('bad-argument', 'nothing to evaluate: the token list is empty');
    const pos0 = this.cached.length;
    if (pos0 + tokens.length > this.nCtx) {
      throw new CriaError('context-overflow', `the text needs ${pos0 + tokens.length} tokens but the context holds ${this.nCtx}; shorten the prompt or lower max_tokens`, {
        needed: pos0 + tokens.length,
        nCtx: this.nCtx,
      });
    }
    const nVocab = this.model.config.nVocab;
    const out = which === 'all' ? new Float32Array(tokens.length * nVocab) : new Float32Array(nVocab);
    for (let i = 0; i < tokens.length; i += this.nBatch) {
      if (signal?.aborted) {
        this.truncate(pos0 + i);
        throw new CriaError('aborted', 'the request was aborted');
      }
      const chunk = tokens.slice(i, i + this.nBatch);
      const last = i + chunk.length === tokens.length;
      if (which === 'last' && !last) {
        // intermediate prompt chunk: only its KV entries matter, but the forward still ends in logits for one row
        this.model.forward({ tokens: chunk, pos0: pos0 + i, logits: 'last' }, trace);
      } else {
        const logits = this.model.forward({ tokens: chunk, pos0: pos0 + i, logits: which }, trace);
        const data = await this.model.backend.read(logits);
        if (which === 'all') out.set(data, i * nVocab);
        else out.set(data);
      }
      this.cached.push(...chunk);
    }
    return out;
  }
}

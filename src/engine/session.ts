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
import type { Sequence } from './runtime.ts';

export interface SessionOptions {
  /** context size in tokens (default: the model's training context, at most 4096) */
  nCtx?: number;
  /** most tokens per forward call while evaluating a prompt (default 256) */
  nBatch?: number;
}

/** Cria's own sequence (the runtime seam's `Sequence`, src/engine/runtime.ts), on one of its backends. */
export class Session<A extends Act = Act, W extends Weight = Weight> implements Sequence<A> {
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

  private checkRoom(n: number): void {
    if (n === 0) throw new CriaError('bad-argument', 'nothing to evaluate: the token list is empty');
    if (this.cached.length + n > this.nCtx) {
      throw new CriaError('context-overflow', `the text needs ${this.cached.length + n} tokens but the context holds ${this.nCtx}; shorten the prompt or lower max_tokens`, {
        needed: this.cached.length + n,
        nCtx: this.nCtx,
      });
    }
  }

  /**
   * Append `tokens` and run the model, in batches of `nBatch`. Returns the
   * logits activation of the last token, still on the backend (read it, or
   * take its argmax / top-k there). Valid until the next backend call.
   */
  async forward(tokens: readonly number[], trace?: Trace<A>, signal?: AbortSignal): Promise<A> {
    this.checkRoom(tokens.length);
    const pos0 = this.cached.length;
    const backend = this.model.backend;
    for (let i = 0; ; i += this.nBatch) {
      if (signal?.aborted) {
        this.truncate(pos0 + i);
        throw new CriaError('aborted', 'the request was aborted');
      }
      const chunk = tokens.slice(i, i + this.nBatch);
      const logits = this.model.forward({ tokens: chunk, pos0: pos0 + i, logits: 'last', nCtx: this.nCtx }, trace);
      this.cached.push(...chunk);
      if (i + chunk.length >= tokens.length) return logits;
      await backend.sync(); // bound memory: each chunk's temporaries are released
    }
  }

  /**
   * Append `tokens` and read logits back: of the last token (`nVocab` floats)
   * or, with `all`, of every appended token (`tokens.length × nVocab`).
   */
  async eval(tokens: readonly number[], which: 'last' | 'all' = 'last', trace?: Trace<A>, signal?: AbortSignal): Promise<Float32Array> {
    if (which === 'last') return this.model.backend.read(await this.forward(tokens, trace, signal));
    this.checkRoom(tokens.length);
    const nVocab = this.model.config.nVocab;
    const out = new Float32Array(tokens.length * nVocab);
    await this.eachBatch(tokens, trace, signal, async (logits, i) => out.set(await this.model.backend.read(logits), i * nVocab));
    return out;
  }

  get nVocab(): number {
    return this.model.config.nVocab;
  }

  get maxTopK(): number | undefined {
    return this.model.backend.maxTopK;
  }

  append(tokens: readonly number[], signal?: AbortSignal): Promise<A> {
    return this.forward(tokens, undefined, signal);
  }

  appendAll(tokens: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    return this.eval(tokens, 'all', undefined, signal);
  }

  async argmax(logits: A): Promise<number> {
    return (await this.model.backend.argmax(logits))[0];
  }

  topk(logits: A, k: number): Promise<{ ids: Uint32Array; values: Float32Array }> {
    return this.model.backend.topk(logits, k);
  }

  /**
   * Structured output: `logits` (the last token's row) with the tokens `allowed` leaves out set to −∞,
   * on the backend and in place (Backend.maskLogits); take the argmax / top-k / read of the result.
   */
  mask(logits: A, allowed: Uint32Array): A {
    return this.model.backend.maskLogits(logits, allowed);
  }

  read(logits: A): Promise<Float32Array> {
    return this.model.backend.read(logits);
  }

  sync(): Promise<void> {
    return this.model.backend.sync();
  }

  /**
   * Return, for every token of `tokens` after the first, its log-probability given everything
   * before it, and whether it was the model's greedy choice. Only these numbers cross from the
   * backend. All but the last token are appended (the last one's logits predict nothing asked
   * for, so a sequence of nCtx + 1 tokens fits a full context, as lm-eval feeds it); the first is
   * conditioned on what was already cached, when anything was.
   */
  async score(tokens: readonly number[], signal?: AbortSignal): Promise<{ logprobs: number[]; greedy: boolean[] }> {
    if (tokens.length < 2) throw new CriaError('bad-argument', 'scoring needs at least two tokens: one to condition on, one to score');
    const fed = tokens.slice(0, -1);
    this.checkRoom(fed.length);
    const logprobs: number[] = [];
    const greedy: boolean[] = [];
    await this.eachBatch(fed, undefined, signal, async (logits, i, n) => {
      // row r predicts token i + r + 1
      const targets = Array.from({ length: n }, (_, r) => tokens[i + r + 1]);
      const r = await this.model.backend.logprobs(logits, targets);
      for (let k = 0; k < n; k++) {
        logprobs.push(r.logprobs[k]);
        greedy.push(r.argmax[k] === tokens[i + k + 1]);
      }
    });
    return { logprobs, greedy };
  }

  private async eachBatch(tokens: readonly number[], trace: Trace<A> | undefined, signal: AbortSignal | undefined, use: (logits: A, i: number, n: number) => Promise<void>): Promise<void> {
    const pos0 = this.cached.length;
    for (let i = 0; i < tokens.length; i += this.nBatch) {
      if (signal?.aborted) {
        this.truncate(pos0 + i);
        throw new CriaError('aborted', 'the request was aborted');
      }
      const chunk = tokens.slice(i, i + this.nBatch);
      const logits = this.model.forward({ tokens: chunk, pos0: pos0 + i, logits: 'all', nCtx: this.nCtx }, trace);
      await use(logits, i, chunk.length);
      this.cached.push(...chunk);
    }
  }
}

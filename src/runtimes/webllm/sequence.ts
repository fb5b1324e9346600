/**
 * One sequence on WebLLM (the runtime seam's `Sequence`, src/engine/runtime.ts).
 *
 * WebLLM's engine steps a model with `forwardTokensAndSample(ids, isPrefill)`: it appends the ids to
 * its KV cache, runs the model and samples the next token from the last position's logits, which it
 * hands, on the CPU, to the model's `LogitProcessor` first. Cria registers a processor that keeps a
 * copy of that row and ignores WebLLM's own pick: the row is the step's result, and Cria's engine
 * samples from it (so temperature, top-k/p, penalties, seed, stop strings, logprobs and scoring mean
 * what they mean for every other runtime). A step's logits are therefore on the CPU, and argmax /
 * top-k run here.
 *
 * WebLLM's public API empties a KV cache but cannot shorten one, so `truncate(n)` with 0 < n < length
 * empties it and the kept n tokens are fed again, in one prefill, with the next append. Log-probabilities
 * of every position (`appendAll`, `score`) take one step per token: WebLLM returns only the last
 * position's logits of a step.
 */
import { CriaError } from '../../shared/errors.ts';
import type { Sequence } from '../../engine/runtime.ts';
import { RowSequence, scoreRow } from '../row-sequence.ts';

/** What a sequence needs of WebLLM's engine (src/runtimes/webllm/runtime.ts adapts MLCEngine to it). */
export interface MlcStepper {
  /** append `ids` to the KV cache and run the model: the last position's logits (a row of nVocab, owned by the caller) */
  forward(ids: number[]): Promise<Float32Array>;
  /** empty the KV cache */
  reset(): Promise<void>;
  /** wait for the GPU */
  sync(): Promise<void>;
}

export class MlcSequence extends RowSequence implements Sequence<Float32Array> {
  /** the tokens the cache holds, as far as the engine is concerned */
  private readonly cached: number[] = [];
  /** how many of them WebLLM's KV cache really holds (fewer after a truncate: the rest are fed again) */
  private fed = 0;
  /** WebLLM's cache holds tokens that must go (a truncate): empty it before the next step */
  private stale = false;

  constructor(
    private readonly stepper: MlcStepper,
    readonly nCtx: number,
    readonly nVocab: number,
  ) {
    super();
  }

  protected get held(): readonly number[] {
    return this.cached;
  }

  truncate(n: number): void {
    if (n >= this.cached.length) return;
    this.cached.length = n;
    if (this.fed > n) {
      this.stale = true;
      this.fed = 0;
    }
  }

  async append(tokens: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    if (tokens.length === 0) throw new CriaError('internal', 'append needs at least one token');
    if (signal?.aborted) throw new CriaError('aborted', 'the request was aborted');
    if (this.cached.length + tokens.length > this.nCtx) {
      throw new CriaError('context-overflow', `${this.cached.length + tokens.length} tokens do not fit the context of ${this.nCtx}`, { nCtx: this.nCtx });
    }
    if (this.stale) {
      await this.stepper.reset();
      this.stale = false;
    }
    const ids = [...this.cached.slice(this.fed), ...tokens];
    // the cache is unknown if a step fails half-way: empty it before the next one
    this.stale = true;
    const row = await this.stepper.forward(ids);
    if (row.length !== this.nVocab) throw new CriaError('internal', `WebLLM returned ${row.length} logits; the model has ${this.nVocab}`);
    this.stale = false;
    this.cached.push(...tokens);
    this.fed = this.cached.length;
    return row;
  }

  async appendAll(tokens: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    const out = new Float32Array(tokens.length * this.nVocab);
    for (let i = 0; i < tokens.length; i++) out.set(await this.append([tokens[i]!], signal), i * this.nVocab);
    return out;
  }

  async score(tokens: readonly number[], signal?: AbortSignal): Promise<{ logprobs: number[]; greedy: boolean[] }> {
    if (tokens.length < 2) throw new CriaError('bad-argument', 'scoring needs at least two tokens: one to condition on, one to score');
    const out = { logprobs: [] as number[], greedy: [] as boolean[] };
    for (let i = 0; i + 1 < tokens.length; i++) scoreRow(await this.append([tokens[i]!], signal), tokens[i + 1]!, out);
    return out;
  }

  sync(): Promise<void> {
    return this.stepper.sync();
  }
}

/**
 * What every runtime whose steps hand back logits as CPU rows (ONNX, WebLLM) does the same way: the
 * row operations of the runtime seam's `Sequence` (src/engine/runtime.ts) on a `Float32Array`, the
 * common-prefix test of the tokens a cache holds, and one scored position (lm-evaluation-harness's
 * log-likelihood: the log-softmax of the next token; greedy: whether it is the row's argmax).
 */
import { argmax, logSoftmax, topIds } from '../sampling/sampler.ts';
import type { Sequence } from '../engine/runtime.ts';

export type RowOps = Pick<Sequence<Float32Array>, 'argmax' | 'topk' | 'read'>;

export abstract class RowSequence implements RowOps {
  /** the tokens the cache holds, as far as the engine is concerned */
  protected abstract get held(): readonly number[];

  commonPrefix(tokens: readonly number[]): number {
    const held = this.held;
    let i = 0;
    while (i < tokens.length && i < held.length && tokens[i] === held[i]) i++;
    return i;
  }

  async argmax(logits: Float32Array): Promise<number> {
    return argmax(logits);
  }

  async topk(logits: Float32Array, k: number): Promise<{ ids: Uint32Array; values: Float32Array }> {
    const ids = Uint32Array.from(topIds(logits, k));
    return { ids, values: Float32Array.from(ids, (id) => logits[id]!) };
  }

  async read(logits: Float32Array): Promise<Float32Array> {
    return logits;
  }
}

/** Adds one scored position of `row` (the logits before `target`) to `out`. */
export function scoreRow(row: Float32Array, target: number, out: { logprobs: number[]; greedy: boolean[] }): void {
  out.logprobs.push(logSoftmax(row)[target]!);
  out.greedy.push(argmax(row) === target);
}

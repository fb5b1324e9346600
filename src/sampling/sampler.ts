/**
 * The sampler chain, shared by every backend: the GPU engine hands it the
 * logits (or, later, a top-k candidate set computed on the device).
 *
 * Order follows llama.cpp's default chain so results are comparable:
 *   penalties → (greedy if temperature ≤ 0) → top-k → top-p → min-p → temperature → draw
 * top-p and min-p therefore act on the untempered distribution, as in llama.cpp.
 * Ties are broken by the lowest token id everywhere, like llama.cpp's greedy.
 */
import { CriaError } from '../shared/errors.ts';
import { Rng, randomSeed } from '../shared/rng.ts';
import { REQUEST_DEFAULTS, REQUEST_LIMITS } from '../protocol/request-limits.ts';

export interface SamplingParams {
  /** ≤ 0 means greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens; 0 disables. */
  topK: number;
  /** Nucleus: smallest set with cumulative probability ≥ p; 1 disables. */
  topP: number;
  /** Drop tokens with p < minP · p_max; 0 disables. */
  minP: number;
  /** llama.cpp/CTRL-style: positive logits ÷ r, negative × r, for tokens seen in the window; 1 disables. */
  repetitionPenalty: number;
  /** OpenAI-style: logit −= presence · [count > 0] + frequency · count; 0 disables. */
  presencePenalty: number;
  frequencyPenalty: number;
  /** How many recent tokens the penalties look at; -1 = the whole context. */
  penaltyLastN: number;
  /** Seed for the draw; undefined → a random seed. */
  seed?: number;
}

export const GREEDY: SamplingParams = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  penaltyLastN: 64,
};

/** The request defaults (src/protocol/request-limits.ts, the one set every front door uses), as sampler parameters. */
export const CHAT_DEFAULTS: SamplingParams = {
  ...GREEDY,
  temperature: REQUEST_DEFAULTS.temperature,
  topK: REQUEST_DEFAULTS.top_k,
  topP: REQUEST_DEFAULTS.top_p,
  minP: REQUEST_DEFAULTS.min_p,
  repetitionPenalty: REQUEST_DEFAULTS.repetition_penalty,
  presencePenalty: REQUEST_DEFAULTS.presence_penalty,
  frequencyPenalty: REQUEST_DEFAULTS.frequency_penalty,
};

/**
 * An internal check: requests are validated once, against the same limits, by
 * src/engine/request.ts; this catches a caller that builds parameters by hand.
 */
export function validateSampling(p: SamplingParams): void {
  const bad = (what: string) => {
    throw new CriaError('bad-argument', `invalid sampling parameter: ${what}`);
  };
  const L = REQUEST_LIMITS;
  const within = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;
  if (!within(p.temperature, L.temperature)) bad(`temperature ${p.temperature} (${L.temperature[0]} to ${L.temperature[1]}; 0 = greedy)`);
  if (!Number.isInteger(p.topK) || !within(p.topK, L.top_k)) bad(`top_k ${p.topK} (a whole number ≥ 0; 0 = off)`);
  if (!(p.topP > 0 && p.topP <= 1)) bad(`top_p ${p.topP} (greater than 0, at most 1)`);
  if (!within(p.minP, L.min_p)) bad(`min_p ${p.minP} (0 to 1)`);
  if (!(p.repetitionPenalty > 0 && p.repetitionPenalty <= L.repetition_penalty[1])) bad(`repetition_penalty ${p.repetitionPenalty} (above 0, at most ${L.repetition_penalty[1]}; 1 = off)`);
  if (!within(p.presencePenalty, L.presence_penalty)) bad(`presence_penalty ${p.presencePenalty} (-2 to 2)`);
  if (!within(p.frequencyPenalty, L.frequency_penalty)) bad(`frequency_penalty ${p.frequencyPenalty} (-2 to 2)`);
  if (!Number.isInteger(p.penaltyLastN) || p.penaltyLastN < -1) bad(`penalty_last_n ${p.penaltyLastN}`);
  if (p.seed !== undefined && !(Number.isInteger(p.seed) && within(p.seed, L.seed))) bad(`seed ${p.seed} (an integer 0 to 2^32-1)`);
}

/** Index of the largest value; the lowest index wins ties. NaN never wins. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i] > bv) {
      bv = x[i];
      best = i;
    }
  }
  return best;
}

/** Apply repetition/presence/frequency penalties in place to the logits of tokens in `history`. */
export function applyPenalties(logits: Float32Array, history: ArrayLike<number>, p: SamplingParams): void {
  if (p.repetitionPenalty === 1 && p.presencePenalty === 0 && p.frequencyPenalty === 0) return;
  const n = p.penaltyLastN < 0 ? history.length : Math.min(p.penaltyLastN, history.length);
  if (n === 0) return;
  const counts = new Map<number, number>();
  for (let i = history.length - n; i < history.length; i++) counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
  for (const [id, count] of counts) {
    if (id < 0 || id >= logits.length) continue;
    let l = logits[id];
    if (p.repetitionPenalty !== 1) l = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty;
    l -= count * p.frequencyPenalty + (count > 0 ? p.presencePenalty : 0);
    logits[id] = l;
  }
}

export class Sampler {
  private readonly rng: Rng;
  readonly seed: number;
  constructor(readonly params: SamplingParams) {
    validateSampling(params);
    this.seed = params.seed ?? randomSeed();
    this.rng = new Rng(this.seed);
  }

  /**
   * Choose the next token. `logits` is not modified (penalties work on a copy).
   * `history` is the context so far (prompt + generated), for the penalties.
   */
  sample(logits: Float32Array, history: ArrayLike<number> = []): number {
    const p = this.params;
    let l = logits;
    if (p.repetitionPenalty !== 1 || p.presencePenalty !== 0 || p.frequencyPenalty !== 0) {
      l = logits.slice();
      applyPenalties(l, history, p);
    }
    if (p.temperature <= 0) return argmax(l);
    // candidates sorted by logit, descending (lowest id first among equals)
    const ids = topIds(l, p.topK > 0 ? p.topK : l.length);
    return this.draw(ids, ids.map((id) => l[id]));
  }

  /**
   * Choose among candidates already reduced to the top k on the backend:
   * `ids` sorted by logit descending, `values` their logits. The same choice
   * as `sample` on the full row (with the same top_k) when no penalties apply.
   */
  sampleCandidates(ids: ArrayLike<number>, values: ArrayLike<number>): number {
    if (this.params.temperature <= 0) return ids[0];
    return this.draw(Array.from(ids), Array.from(values));
  }

  /** top-p → min-p → temperature → draw, over candidates sorted by logit descending (`logits[i]` is the logit of `ids[i]`). */
  private draw(ids: number[], logits: number[]): number {
    const p = this.params;
    let n = ids.length;
    // probabilities of the untempered distribution over the candidates
    const max = logits[0];
    const probs = logits.map((x) => Math.exp(x - max));
    const sum = probs.reduce((a, b) => a + b, 0);
    if (p.topP < 1) {
      let cum = 0;
      for (let i = 0; i < n; i++) {
        cum += probs[i] / sum;
        if (cum >= p.topP) {
          n = i + 1;
          break;
        }
      }
    }
    if (p.minP > 0) {
      // probs[0] = 1 is the maximum before normalization
      const cut = probs.findIndex((q, i) => i < n && q < p.minP);
      if (cut > 0) n = cut;
    }
    // temperature, then draw
    const weights = logits.slice(0, n).map((x) => Math.exp((x - max) / p.temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    const r = this.rng.uniform() * total;
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += weights[i];
      if (r < cum) return ids[i];
    }
    return ids[n - 1];
  }
}

/** Ids of the k largest logits, sorted descending (ties: lower id first). */
export function topIds(l: ArrayLike<number>, k: number): number[] {
  const n = l.length;
  k = Math.min(k, n);
  const cmp = (a: number, b: number) => l[b] - l[a] || a - b;
  if (k >= n / 4) {
    const all = Array.from({ length: n }, (_, i) => i);
    all.sort(cmp);
    return all.slice(0, k);
  }
  // keep a small sorted buffer: O(n·log k) for the k ≪ n case
  const buf: number[] = [];
  for (let i = 0; i < n; i++) {
    if (buf.length === k && !(l[i] > l[buf[k - 1]])) continue;
    let lo = 0;
    let hi = buf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(buf[mid], i) <= 0) lo = mid + 1;
      else hi = mid;
    }
    buf.splice(lo, 0, i);
    if (buf.length > k) buf.pop();
  }
  return buf;
}

/** log-softmax of one row, in float64 for accuracy. */
export function logSoftmax(l: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < l.length; i++) if (l[i] > max) max = l[i];
  let sum = 0;
  for (let i = 0; i < l.length; i++) sum += Math.exp(l[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(l.length);
  for (let i = 0; i < l.length; i++) out[i] = l[i] - lse;
  return out;
}

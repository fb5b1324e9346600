import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/shared/rng.ts';
import { CHAT_DEFAULTS, GREEDY, Sampler, applyPenalties, argmax, logSoftmax, topIds, type SamplingParams } from '../../src/sampling/sampler.ts';
import { isCriaError } from '../../src/shared/errors.ts';

const P = (over: Partial<SamplingParams>): SamplingParams => ({ ...GREEDY, ...over });

function randomLogits(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal() * 3);
}

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(sa);
  });

  it('gives uniform floats in [0, 1) with a plausible mean and spread', () => {
    const r = new Rng(0);
    const n = 100_000;
    let sum = 0;
    const buckets = new Array(10).fill(0);
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      sum += u;
      buckets[Math.floor(u * 10)]++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    // each decile within 5% of n/10 (≈ 16 standard deviations would be far worse)
    for (const b of buckets) expect(Math.abs(b - n / 10)).toBeLessThan(n / 200);
  });
});

describe('Sampler', () => {
  it('greedy is argmax with the lowest id winning ties', () => {
    expect(argmax([1, 5, 5, 2])).toBe(1);
    expect(new Sampler(GREEDY).sample(Float32Array.from([0, 3, 7, 7, 1]))).toBe(2);
  });

  it('top_k = 1 is greedy at any temperature', () => {
    const l = randomLogits(1000, 1);
    const s = new Sampler(P({ temperature: 1.5, topK: 1, seed: 9 }));
    for (let i = 0; i < 20; i++) expect(s.sample(l)).toBe(argmax(l));
  });

  it('same seed gives the same sequence; another seed a different one', () => {
    const l = randomLogits(500, 2);
    const run = (seed: number) => {
      const s = new Sampler({ ...CHAT_DEFAULTS, temperature: 1, topK: 0, topP: 1, minP: 0, seed });
      return Array.from({ length: 50 }, () => s.sample(l));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('draws with the softmax(logits / T) frequencies', () => {
    const l = Float32Array.from([2, 1, 0, -1]);
    const T = 0.7;
    const p = Array.from(l, (x) => Math.exp(x / T));
    const z = p.reduce((a, b) => a + b);
    const s = new Sampler(P({ temperature: T, seed: 1 }));
    const n = 40_000;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) counts[s.sample(l)]++;
    // binomial std ≤ sqrt(n/4) = 100; allow 5 std
    counts.forEach((c, i) => expect(Math.abs(c - (n * p[i]) / z)).toBeLessThan(500));
  });

  it('top_p keeps the smallest nucleus reaching p', () => {
    // probabilities ≈ 0.64, 0.24, 0.09, 0.03
    const l = Float32Array.from([3, 2, 1, 0]);
    const s = new Sampler(P({ temperature: 1, topP: 0.8, seed: 3 }));
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(s.sample(l));
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('min_p drops tokens below min_p · p_max', () => {
    const l = Float32Array.from([0, Math.log(0.5), Math.log(0.09), Math.log(0.11)]);
    const s = new Sampler(P({ temperature: 1, minP: 0.1, seed: 4 }));
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(s.sample(l));
    expect([...seen].sort()).toEqual([0, 1, 3]);
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens only', () => {
    const l = Float32Array.from([2, -2, 2, -2]);
    applyPenalties(l, [0, 1, 0], P({ repetitionPenalty: 2 }));
    expect(Array.from(l)).toEqual([1, -4, 2, -2]);
  });

  it('presence and frequency penalties follow the OpenAI formula', () => {
    const l = Float32Array.from([1, 1, 1]);
    applyPenalties(l, [0, 0, 0, 1], P({ presencePenalty: 0.5, frequencyPenalty: 0.25 }));
    expect(Array.from(l)).toEqual([1 - 0.75 - 0.5, 1 - 0.25 - 0.5, 1]);
  });

  it('penalties only look at the last penalty_last_n tokens', () => {
    const l = Float32Array.from([1, 1]);
    applyPenalties(l, [0, 1], P({ presencePenalty: 1, penaltyLastN: 1 }));
    expect(Array.from(l)).toEqual([1, 0]);
  });

  it('penalties change greedy choices and leave the input logits untouched', () => {
    const l = Float32Array.from([5, 4.9]);
    const s = new Sampler(P({ repetitionPenalty: 1.5 }));
    expect(s.sample(l, [0])).toBe(1);
    expect(Array.from(l)).toEqual([5, Math.fround(4.9)]);
  });

  it('sampling from backend top-k candidates equals sampling from the full row', () => {
    const l = randomLogits(5000, 11);
    const params = { ...CHAT_DEFAULTS, temperature: 0.9, topK: 40, topP: 0.9, minP: 0.02, seed: 5 };
    const full = new Sampler(params);
    const cand = new Sampler(params);
    const ids = topIds(l, 40);
    const values = ids.map((id) => l[id]);
    for (let i = 0; i < 200; i++) expect(cand.sampleCandidates(ids, values)).toBe(full.sample(l));
  });

  it('rejects invalid parameters with bad-argument', () => {
    for (const bad of [{ temperature: -1 }, { topP: 0 }, { topK: 1.5 }, { minP: 2 }, { repetitionPenalty: 0 }, { seed: -3 }]) {
      let err: unknown;
      try {
        new Sampler(P(bad));
      } catch (e) {
        err = e;
      }
      expect(isCriaError(err, 'bad-argument'), JSON.stringify(bad)).toBe(true);
    }
  });
});

describe('topIds and logSoftmax', () => {
  it('topIds equals a full sort for small and large k', () => {
    const l = randomLogits(3000, 5);
    const full = Array.from({ length: l.length }, (_, i) => i).sort((a, b) => l[b] - l[a] || a - b);
    expect(topIds(l, 10)).toEqual(full.slice(0, 10));
    expect(topIds(l, 2000)).toEqual(full.slice(0, 2000));
  });

  it('logSoftmax exponentiates to a distribution', () => {
    const ls = logSoftmax(randomLogits(100, 6));
    expect(Math.abs(ls.reduce((a, x) => a + Math.exp(x), 0) - 1)).toBeLessThan(1e-12);
  });
});

/**
 * Gradient checks of the training references (src/reference/*_backward.ts, cross_entropy.ts): each
 * backward against central finite differences of its forward CPU reference, over a shape table with
 * odd and prime sizes. The scalar checked is L = Σ r ⊙ y for a fixed random r (so dy = r), in float64;
 * the forward references store f32, so the numerical derivative (step h = 1e-2 on inputs of size ~1)
 * carries f32 rounding of ~1e-7·|y|·√size / h ≈ 1e-5 and truncation of ~h²·|f'''| ≈ 1e-4: the bound is
 * 2e-3·max(1, |analytic|) per entry, checked on up to 40 entries per input (every input, sampled
 * evenly), which still fails on any wrong index, sign, scale or missing term (those are O(1)).
 */
import { describe, expect, it } from 'vitest';
import type { AttentionParams } from '../../src/model/ops.ts';
import { attention } from '../../src/reference/attention.ts';
import { attentionBackward } from '../../src/reference/attention_backward.ts';
import { crossEntropy } from '../../src/reference/cross_entropy.ts';
import { geglu } from '../../src/reference/geglu.ts';
import { gegluBackward } from '../../src/reference/geglu_backward.ts';
import { matmulBackwardBias, matmulBackwardInput, matmulBackwardWeight } from '../../src/reference/matmul_backward.ts';
import { rmsNorm } from '../../src/reference/rms_norm.ts';
import { rmsNormBackward } from '../../src/reference/rms_norm_backward.ts';
import { rope, type RopeArgs } from '../../src/reference/rope.ts';
import { ropeBackward } from '../../src/reference/rope_backward.ts';
import { softcap } from '../../src/reference/softcap.ts';
import { softcapBackward } from '../../src/reference/softcap_backward.ts';
import { swiglu } from '../../src/reference/swiglu.ts';
import { swigluBackward } from '../../src/reference/swiglu_backward.ts';
import { Rng } from '../../src/shared/rng.ts';

const H = 1e-2;
const rand = (rng: Rng, n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** checks `analytic` (dL/dx) against (L(x + h·e_i) − L(x − h·e_i)) / 2h on evenly spaced entries */
function check(what: string, x: Float32Array, analytic: Float32Array, loss: () => number) {
  expect(analytic.length, what).toBe(x.length);
  const step = Math.max(1, Math.floor(x.length / 40));
  let worst = 0;
  for (let i = 0; i < x.length; i += step) {
    const keep = x[i]!;
    x[i] = keep + H;
    const up = loss();
    x[i] = keep - H;
    const down = loss();
    x[i] = keep;
    const numeric = (up - down) / (2 * H);
    const err = Math.abs(numeric - analytic[i]!) / Math.max(1, Math.abs(analytic[i]!));
    worst = Math.max(worst, err);
    expect(err, `${what}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`).toBeLessThan(2e-3);
  }
  return worst;
}

describe('backward references against finite differences of the forward ones', () => {
  it.each([
    [1, 7, 7],
    [3, 64, 64],
    [5, 96, 32], // per-head groups (qwen3's q/k norms)
  ])('rmsNorm, %i rows × %i columns, groups of %i', (rows, cols, group) => {
    const rng = new Rng(rows * 100 + cols);
    const x = rand(rng, rows * cols);
    const w = rand(rng, group, 0.3).map((v) => v + 1);
    const r = rand(rng, rows * cols);
    const { dx, dw } = rmsNormBackward(x, cols, w, 1e-5, r, group);
    const L = () => dot(rmsNorm(x, cols, w, 1e-5, group), r);
    check('dx', x, dx, L);
    check('dw', w, dw, L);
  });

  it.each([
    [1, 13, 7],
    [4, 64, 96],
    [3, 31, 17],
  ])('matmul y = x·Wᵀ + b, %i rows, in %i, out %i', (n, inDim, outDim) => {
    const rng = new Rng(n + inDim * 7 + outDim);
    const x = rand(rng, n * inDim);
    const w = rand(rng, outDim * inDim, 0.2);
    const b = rand(rng, outDim);
    const r = rand(rng, n * outDim);
    const fwd = () => {
      const y = new Float64Array(n * outDim);
      for (let t = 0; t < n; t++) for (let o = 0; o < outDim; o++) y[t * outDim + o] = b[o]! + dot(x.subarray(t * inDim, (t + 1) * inDim), w.subarray(o * inDim, (o + 1) * inDim));
      return dot(y, r);
    };
    check('dx', x, matmulBackwardInput(r, n, w, inDim, outDim), fwd);
    check('dW', w, matmulBackwardWeight(r, x, n, inDim, outDim), fwd);
    check('db', b, matmulBackwardBias(r, n, outDim), fwd);
  });

  const ropeCases: [string, RopeArgs, number, number][] = [
    ['normal, 2 heads of 8', { type: 'normal', nHeads: 2, headDim: 8, dim: 8, base: 10000, freqScale: 1 }, 5, 0],
    ['neox, partial dim 6 of 10, factors, attnFactor', { type: 'neox', nHeads: 3, headDim: 10, dim: 6, base: 500, freqScale: 0.5, freqFactors: Float32Array.from([1, 2.5, 4]), attnFactor: 1.2 }, 3, 7],
  ];
  it.each(ropeCases)('rope %s', (_what, p, n, pos0) => {
    const rng = new Rng(n + pos0);
    const x = rand(rng, n * p.nHeads * p.headDim);
    const r = rand(rng, x.length);
    check('dx', x, ropeBackward(r, n, p, pos0), () => dot(rope(x, n, p, pos0), r));
  });

  const attn = (nHead: number, nHeadKv: number, headDim: number, extra: Partial<AttentionParams> = {}): AttentionParams => ({ layer: 0, nHead, nHeadKv, headDim, headDimV: headDim, scale: 1 / Math.sqrt(headDim), softcap: 0, window: 0, ...extra });
  it.each([
    ['MHA, 1 token', attn(2, 2, 4), 1],
    ['GQA 4:2, 7 tokens', attn(4, 2, 8), 7],
    ['GQA 6:1, softcap 5, window 3, 5 tokens', attn(6, 1, 5, { softcap: 5, window: 3 }), 5],
  ] as const)('attention %s', (_what, p, n) => {
    const rng = new Rng(n * 31 + p.nHead);
    const q = rand(rng, n * p.nHead * p.headDim);
    const k = rand(rng, n * p.nHeadKv * p.headDim);
    const v = rand(rng, n * p.nHeadKv * p.headDimV);
    const r = rand(rng, n * p.nHead * p.headDimV);
    const L = () => dot(attention(q, k, v, n, new Float32Array(n * k.length / n), new Float32Array(n * v.length / n), p, 0), r);
    const { dq, dk, dv } = attentionBackward(q, k, v, n, p, r);
    check('dq', q, dq, L);
    check('dk', k, dk, L);
    check('dv', v, dv, L);
  });

  it.each([[17], [96]])('swiglu and geglu, %i values', (len) => {
    const rng = new Rng(len);
    const g = rand(rng, len, 2);
    const u = rand(rng, len);
    const r = rand(rng, len);
    const s = swigluBackward(g, u, r);
    check('swiglu dg', g, s.dg, () => dot(swiglu(g, u), r));
    check('swiglu du', u, s.du, () => dot(swiglu(g, u), r));
    const e = gegluBackward(g, u, r);
    check('geglu dg', g, e.dg, () => dot(geglu(g, u), r));
    check('geglu du', u, e.du, () => dot(geglu(g, u), r));
  });

  it('softcap', () => {
    const rng = new Rng(5);
    const x = rand(rng, 23, 20);
    const r = rand(rng, 23);
    check('dx', x, softcapBackward(x, 15, r), () => dot(softcap(x, 15), r));
  });

  it('cross-entropy: the loss is the mean negative log-likelihood of the scored rows; its gradient checks; unscored rows get none', () => {
    const rng = new Rng(9);
    const nVocab = 37;
    const targets = [3, -1, 36, 0, -1];
    const logits = rand(rng, targets.length * nVocab, 3);
    const { loss, dlogits, count } = crossEntropy(logits, nVocab, targets);
    expect(count).toBe(3);
    let want = 0;
    for (const [r, t] of targets.entries()) {
      if (t < 0) continue;
      const row = Array.from(logits.subarray(r * nVocab, (r + 1) * nVocab));
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      want += lse - row[t]!;
    }
    expect(loss).toBeCloseTo(want / 3, 5);
    check('dlogits', logits, dlogits, () => crossEntropy(logits, nVocab, targets).loss);
    expect(dlogits.subarray(nVocab, 2 * nVocab).every((v) => v === 0)).toBe(true);
  });
});

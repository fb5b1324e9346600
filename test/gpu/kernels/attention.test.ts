/**
 * attention (+ attention_combine, + storeKv) on WebGPU vs src/reference/attention.ts.
 * The caches are filled through storeKv (history rows, then the new rows) and
 * every cache position past pos0 + n holds NaN, so a read beyond the causal
 * range poisons the output.
 */
import { attention, chooseRowsPerGroup, storeKv } from '../../../src/gpu/kernels/attention.ts';
import { attention as reference } from '../../../src/reference/attention.ts';
import type { AttentionParams } from '../../../src/model/ops.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  n: number;
  pos0: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  headDimV?: number;
  softcap?: number;
  window?: number;
  /** force the number of key splits (default: the launcher's choice) */
  split?: number;
  /** q scale: scores have a standard deviation of about qs (scale = 1/√headDim) */
  qs?: number;
  /** threads per workgroup (default: the launcher's, which differs between GPUs (64) and CPU adapters (fewest)) */
  threads?: number;
  /** cache positions (default pos0 + n + 3) */
  nCtx?: number;
  /** check that storeKv and attention refuse what they cannot do */
  refusals?: boolean;
}

const cases: Case[] = [
  // decode
  { n: 1, pos0: 0, nHead: 9, nHeadKv: 3, headDim: 64 }, // SmolLM2-135M, first token
  { n: 1, pos0: 1, nHead: 4, nHeadKv: 4, headDim: 32 },
  { n: 1, pos0: 37, nHead: 8, nHeadKv: 2, headDim: 128 },
  { n: 1, pos0: 300, nHead: 16, nHeadKv: 2, headDim: 64, threads: 64 },
  { n: 1, pos0: 1500, nHead: 9, nHeadKv: 3, headDim: 64, split: 6 }, // 6 key ranges + combine
  { n: 1, pos0: 1500, nHead: 4, nHeadKv: 2, headDim: 96, split: 1 }, // one pass over 1501 keys
  { n: 1, pos0: 4095, nHead: 8, nHeadKv: 1, headDim: 128, nCtx: 4096 }, // last position of a 4096 context, ranges as the launcher chooses
  { n: 1, pos0: 500, nHead: 4, nHeadKv: 4, headDim: 256, threads: 128 }, // one row per workgroup, 128 keys per tile
  { n: 1, pos0: 300, nHead: 10, nHeadKv: 5, headDim: 80, softcap: 50, qs: 30, threads: 64 },
  { n: 1, pos0: 37, nHead: 8, nHeadKv: 4, headDim: 256, softcap: 50, qs: 30, window: 16 }, // gemma2 head size
  { n: 1, pos0: 37, nHead: 4, nHeadKv: 1, headDim: 64, softcap: 4, qs: 3 }, // gemma2 test model's cap
  { n: 1, pos0: 300, nHead: 9, nHeadKv: 3, headDim: 64, window: 16 },
  { n: 1, pos0: 700, nHead: 6, nHeadKv: 3, headDim: 64, window: 300, split: 3, threads: 64 }, // key ranges of a window
  { n: 1, pos0: 200, nHead: 4, nHeadKv: 2, headDim: 64, headDimV: 32 }, // V heads narrower than K heads
  // prefill
  { n: 5, pos0: 0, nHead: 9, nHeadKv: 3, headDim: 64 },
  { n: 5, pos0: 20, nHead: 4, nHeadKv: 4, headDim: 32, window: 16 },
  { n: 5, pos0: 600, nHead: 4, nHeadKv: 2, headDim: 64, split: 3 }, // causal rows across splits
  { n: 45, pos0: 0, nHead: 8, nHeadKv: 2, headDim: 128, softcap: 50, qs: 30, threads: 64 },
  { n: 45, pos0: 100, nHead: 8, nHeadKv: 8, headDim: 80, window: 16 },
  { n: 45, pos0: 300, nHead: 4, nHeadKv: 1, headDim: 64, window: 100, split: 2 },
  { n: 45, pos0: 7, nHead: 6, nHeadKv: 2, headDim: 64, threads: 32 }, // 32 keys per tile
  { n: 128, pos0: 0, nHead: 9, nHeadKv: 3, headDim: 64 },
  { n: 128, pos0: 37, nHead: 4, nHeadKv: 1, headDim: 96, softcap: 4, qs: 3 },
  { n: 128, pos0: 200, nHead: 16, nHeadKv: 2, headDim: 64, threads: 64 },
  { n: 2, pos0: 3, nHead: 2, nHeadKv: 1, headDim: 32, refusals: true },
];

export default defineSuite<Case>({
  kernel: 'attention',
  cases,
  name: (c) =>
    `n=${c.n} pos0=${c.pos0} heads ${c.nHead}/${c.nHeadKv} d=${c.headDim}${c.headDimV ? `/${c.headDimV}` : ''}` +
    `${c.softcap ? ` softcap ${c.softcap}` : ''}${c.window ? ` window ${c.window}` : ''}${c.split ? ` split ${c.split}` : ''}` +
    `${c.threads ? ` ${c.threads} threads` : ''}${c.refusals ? ' refusals' : ''}`,
  variant: (c) =>
    `attention|BR=${chooseRowsPerGroup(c.n, c.nHead / c.nHeadKv)},WG=${c.threads ?? 'device default'}` +
    `${(c.split ?? 1) > 1 ? ' + attention_combine' : ''} (QD4 by head size)`,
  async run(h, c) {
    const headDimV = c.headDimV ?? c.headDim;
    const p: AttentionParams = {
      layer: 0,
      nHead: c.nHead,
      nHeadKv: c.nHeadKv,
      headDim: c.headDim,
      headDimV,
      scale: 1 / Math.sqrt(c.headDim),
      softcap: c.softcap ?? 0,
      window: c.window ?? 0,
    };
    const nCtx = c.nCtx ?? c.pos0 + c.n + 3;
    const kvDim = c.nHeadKv * c.headDim;
    const kvDimV = c.nHeadKv * headDimV;
    const kc = h.upload(new Float32Array(nCtx * kvDim).fill(NaN), 'kCache');
    const vc = h.upload(new Float32Array(nCtx * kvDimV).fill(NaN), 'vCache');
    const histK = h.randn(c.pos0 * kvDim, 1);
    const histV = h.randn(c.pos0 * kvDimV, 2);
    const k = h.randn(c.n * kvDim, 3);
    const v = h.randn(c.n * kvDimV, 4);
    const q = h.randn(c.n * c.nHead * c.headDim, 5, c.qs ?? 1);
    if (c.pos0 > 0) storeKv(h.rec, h.tensor(c.pos0, kvDim, histK), h.tensor(c.pos0, kvDimV, histV), kc, vc, 0);
    storeKv(h.rec, h.tensor(c.n, kvDim, k), h.tensor(c.n, kvDimV, v), kc, vc, c.pos0);
    const gotK = h.rec.readback(kc, 0, nCtx * kvDim * 4);
    const gotV = h.rec.readback(vc, 0, nCtx * kvDimV * 4);
    if (c.refusals) {
      const qt = h.tensor(c.n, c.nHead * c.headDim, q);
      const refused = (f: () => unknown) => {
        try {
          f();
        } catch {
          return true;
        }
        return false;
      };
      const bad: string[] = [];
      if (!refused(() => storeKv(h.rec, h.tensor(c.n, kvDim, k), h.tensor(c.n, kvDimV, v), kc, vc, nCtx - 1))) bad.push('storeKv past the cache');
      if (!refused(() => attention(h.rec, qt, kc, vc, p, nCtx - 1))) bad.push('queries past the cache');
      if (!refused(() => attention(h.rec, qt, kc, vc, { ...p, nHeadKv: 3 }, c.pos0))) bad.push('heads not a multiple of kv heads');
      if (!refused(() => attention(h.rec, h.tensor(c.n, c.nHead * 260, new Float32Array(c.n * c.nHead * 260)), kc, vc, { ...p, headDim: 260 }, 0))) bad.push('head size 260');
      if (!refused(() => attention(h.rec, h.tensor(c.n, c.nHead * 30, new Float32Array(c.n * c.nHead * 30)), kc, vc, { ...p, headDim: 30 }, 0))) bad.push('head size 30');
      if (!refused(() => attention(h.rec, qt, kc, vc, p, c.pos0, { threads: 48 }))) bad.push('48 threads');
      if (bad.length) throw new Error(`accepted: ${bad.join(', ')}`);
    }
    const out = attention(h.rec, h.tensor(c.n, c.nHead * c.headDim, q), kc, vc, p, c.pos0, { split: c.split, threads: c.threads });
    const got = await h.read(out);

    const kCache = new Float32Array(nCtx * kvDim).fill(NaN);
    const vCache = new Float32Array(nCtx * kvDimV).fill(NaN);
    kCache.set(histK);
    vCache.set(histV);
    const want = reference(q, k, v, c.n, kCache, vCache, p, c.pos0);
    // storeKv: the caches hold exactly what the reference stored (NaN tails included)
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
    if (!same(new Float32Array(await gotK), kCache) || !same(new Float32Array(await gotV), vCache)) {
      throw new Error('storeKv: the GPU caches differ from the reference caches');
    }
    // f32 vs float64: q·k in f32 over ≤ 256 terms with 4 partial sums (relative ~2⁻²⁴·√(d/4) of Σ|q·k|),
    // exp within a few ulp (WGSL allows 3 + 2|x| ulp), one extra rounding per tile from the online
    // rescaling, f32 sums of ≤ 4096 weights. The output is a convex combination of V rows (|v| ≲ 5), so
    // its error is ≈ (error of a score) · |v|, and a score's error grows with its size: ~2e-7 · |s|.
    // Scores have a standard deviation of about qs (up to 30 in the soft-capping cases).
    // Measured max |Δ|: ≤ 7e-7 for qs = 1, 1e-5 for qs = 30; NMSE ≤ 2e-12. Allowed: 4e-6·max(1, qs)
    // absolute (≥ 6× the measured), 1e-5 relative, NMSE 1e-10.
    return compare(got, want, { atol: 4e-6 * Math.max(1, c.qs ?? 1), rtol: 1e-5, nmse: 1e-10, why: 'f32 online softmax vs float64, error ∝ score size' });
  },
});

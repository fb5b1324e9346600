/**
 * Causal multi-head attention over a KV cache, with grouped-query heads,
 * optional tanh soft-capping and sliding window. The reference for the
 * attention kernels.
 *   Writes k, v rows for positions [pos0, pos0+n) into the layer's cache, then
 *   for token t at position p = pos0 + t and query head h (kv head g = ⌊h·nHeadKv/nHead⌋):
 *     s_j = scale · q[t,h]·K[j,g]           for j in [lo, p], lo = window ? max(0, p−window+1) : 0
 *     s_j = cap · tanh(s_j / cap)           when softcap > 0
 *     out[t,h] = Σ_j softmax(s)_j · V[j,g]
 * q [n, nHead·headDim], k [n, nHeadKv·headDim], v [n, nHeadKv·headDimV]
 * kCache [nCtx, nHeadKv·headDim], vCache [nCtx, nHeadKv·headDimV] → out [n, nHead·headDimV].
 * Float64 accumulation.
 */
import type { AttentionParams } from '../model/ops.ts';

export function attention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  n: number,
  kCache: Float32Array,
  vCache: Float32Array,
  p: AttentionParams,
  pos0: number,
): Float32Array {
  const kvDim = p.nHeadKv * p.headDim;
  const kvDimV = p.nHeadKv * p.headDimV;
  kCache.set(k.subarray(0, n * kvDim), pos0 * kvDim);
  vCache.set(v.subarray(0, n * kvDimV), pos0 * kvDimV);
  const group = p.nHead / p.nHeadKv;
  const out = new Float32Array(n * p.nHead * p.headDimV);
  const scores = new Float64Array(pos0 + n);
  const acc = new Float64Array(p.headDimV);
  for (let t = 0; t < n; t++) {
    const pos = pos0 + t;
    const lo = p.window > 0 ? Math.max(0, pos - p.window + 1) : 0;
    for (let h = 0; h < p.nHead; h++) {
      const g = Math.floor(h / group);
      const qo = (t * p.nHead + h) * p.headDim;
      let max = -Infinity;
      for (let j = lo; j <= pos; j++) {
        const ko = j * kvDim + g * p.headDim;
        let s = 0;
        for (let i = 0; i < p.headDim; i++) s += q[qo + i] * kCache[ko + i];
        s *= p.scale;
        if (p.softcap > 0) s = p.softcap * Math.tanh(s / p.softcap);
        scores[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = lo; j <= pos; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      acc.fill(0);
      for (let j = lo; j <= pos; j++) {
        const w = scores[j] / sum;
        const vo = j * kvDimV + g * p.headDimV;
        for (let i = 0; i < p.headDimV; i++) acc[i] += w * vCache[vo + i];
      }
      out.set(acc, (t * p.nHead + h) * p.headDimV);
    }
  }
  return out;
}

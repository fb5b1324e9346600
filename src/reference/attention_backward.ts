/**
 * Backward of causal attention (src/reference/attention.ts) over one whole sequence at positions
 * [0, n) (training feeds a sequence in one batch, so the cache holds exactly its k and v), with
 * grouped-query heads, soft-capping and sliding windows. Per token t, query head h, kv head g:
 *   z_j = scale·q·k_j,  s_j = cap·tanh(z_j/cap) (or z_j),  P = softmax(s),  out = Σ_j P_j v_j
 * Given dout: dv_j += P_j·dout;  dP_j = dout·v_j;  ds_j = P_j (dP_j − Σ_i P_i dP_i);
 *   dz_j = ds_j · (1 − tanh²(z_j/cap)) (or ds_j);  dq += scale·dz_j·k_j;  dk_j += scale·dz_j·q.
 * q [n, nHead·headDim], k [n, nHeadKv·headDim], v [n, nHeadKv·headDimV], dout [n, nHead·headDimV].
 * Float64 sums.
 */
import type { AttentionParams } from '../model/ops.ts';

export function attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, n: number, p: AttentionParams, dout: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const kvDim = p.nHeadKv * p.headDim;
  const kvDimV = p.nHeadKv * p.headDimV;
  const group = p.nHead / p.nHeadKv;
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const z = new Float64Array(n);
  const P = new Float64Array(n);
  const dP = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const lo = p.window > 0 ? Math.max(0, t - p.window + 1) : 0;
    for (let h = 0; h < p.nHead; h++) {
      const g = Math.floor(h / group);
      const qo = (t * p.nHead + h) * p.headDim;
      const oo = (t * p.nHead + h) * p.headDimV;
      let max = -Infinity;
      for (let j = lo; j <= t; j++) {
        const ko = j * kvDim + g * p.headDim;
        let dot = 0;
        for (let i = 0; i < p.headDim; i++) dot += q[qo + i]! * k[ko + i]!;
        z[j] = dot * p.scale;
        const s = p.softcap > 0 ? p.softcap * Math.tanh(z[j]! / p.softcap) : z[j]!;
        P[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = lo; j <= t; j++) {
        P[j] = Math.exp(P[j]! - max);
        sum += P[j]!;
      }
      let pd = 0;
      for (let j = lo; j <= t; j++) {
        P[j]! /= sum;
        const vo = j * kvDimV + g * p.headDimV;
        let d = 0;
        for (let i = 0; i < p.headDimV; i++) {
          d += dout[oo + i]! * v[vo + i]!;
          dv[vo + i]! += P[j]! * dout[oo + i]!;
        }
        dP[j] = d;
        pd += P[j]! * d;
      }
      for (let j = lo; j <= t; j++) {
        let dz = P[j]! * (dP[j]! - pd);
        if (p.softcap > 0) {
          const th = Math.tanh(z[j]! / p.softcap);
          dz *= 1 - th * th;
        }
        const ko = j * kvDim + g * p.headDim;
        const c = dz * p.scale;
        for (let i = 0; i < p.headDim; i++) {
          dq[qo + i]! += c * k[ko + i]!;
          dk[ko + i]! += c * q[qo + i]!;
        }
      }
    }
  }
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
}

// attention: causal attention of query heads over a layer's KV cache, grouped-query (query head h
//   reads kv head ⌊h·nHeadKv/nHead⌋), with optional tanh soft-capping and a sliding window:
//   s_j = scale·q·K_j (then cap·tanh(s_j/cap)) for j in [lo, pos], lo = window ? pos−window+1 : 0;
//   out = Σ_j softmax(s)_j·V_j. Scores are kept in f32 in `scores`, the softmax and the weighted
//   sum in f32 (the reference: f64).
// Threads: (token, head) pairs [r0, r1), pair i = token ⌊i/nHead⌋, head i mod nHead.
// Memory: q f32 [n, qStride] (head h at q + t·qStride + h·headDim), k f32 [nCtx, nHeadKv·headDim],
//   v f32 [nCtx, nHeadKv·headDimV], out f32 [n, nHead·headDimV], scores f32 [n·nHead, pos0 + n].
// Reference: src/reference/attention.ts

export function attention(q: usize, qStride: i32, k: usize, v: usize, out: usize, scores: usize, nHead: i32, nHeadKv: i32, headDim: i32, headDimV: i32, scale: f32, softcap: f32, window: i32, pos0: i32, n: i32, r0: i32, r1: i32): void {
  const kvDim = nHeadKv * headDim;
  const kvDimV = nHeadKv * headDimV;
  const group = nHead / nHeadKv;
  const ctx = pos0 + n;
  for (let i = r0; i < r1; i++) {
    const t = i / nHead;
    const h = i % nHead;
    const g = h / group;
    const pos = pos0 + t;
    const lo = window > 0 ? max(0, pos - window + 1) : 0;
    const qh = q + ((<usize>t * <usize>qStride + <usize>h * <usize>headDim) << 2);
    const sc = scores + ((<usize>i * <usize>ctx) << 2);
    let m: f32 = -Infinity;
    for (let j = lo; j <= pos; j++) {
      const kj = k + ((<usize>j * <usize>kvDim + <usize>g * <usize>headDim) << 2);
      let acc = f32x4.splat(0);
      let d = 0;
      for (; d + 4 <= headDim; d += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(qh + (<usize>d << 2)), v128.load(kj + (<usize>d << 2))));
      let s: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      for (; d < headDim; d++) s += load<f32>(qh + (<usize>d << 2)) * load<f32>(kj + (<usize>d << 2));
      s *= scale;
      if (softcap > 0) s = <f32>(<f64>softcap * Math.tanh(<f64>s / <f64>softcap));
      store<f32>(sc + (<usize>j << 2), s);
      if (s > m) m = s;
    }
    let sum: f32 = 0;
    for (let j = lo; j <= pos; j++) {
      const e = Mathf.exp(load<f32>(sc + (<usize>j << 2)) - m);
      store<f32>(sc + (<usize>j << 2), e);
      sum += e;
    }
    const oh = out + ((<usize>t * <usize>nHead * <usize>headDimV + <usize>h * <usize>headDimV) << 2);
    let d = 0;
    for (; d + 4 <= headDimV; d += 4) v128.store(oh + (<usize>d << 2), f32x4.splat(0));
    for (; d < headDimV; d++) store<f32>(oh + (<usize>d << 2), 0);
    const inv: f32 = 1 / sum;
    for (let j = lo; j <= pos; j++) {
      const wj = f32x4.splat(load<f32>(sc + (<usize>j << 2)) * inv);
      const vj = v + ((<usize>j * <usize>kvDimV + <usize>g * <usize>headDimV) << 2);
      d = 0;
      for (; d + 4 <= headDimV; d += 4) {
        const o = <usize>d << 2;
        v128.store(oh + o, f32x4.add(v128.load(oh + o), f32x4.mul(wj, v128.load(vj + o))));
      }
      for (; d < headDimV; d++) {
        const o = <usize>d << 2;
        store<f32>(oh + o, load<f32>(oh + o) + f32x4.extract_lane(wj, 0) * load<f32>(vj + o));
      }
    }
  }
}

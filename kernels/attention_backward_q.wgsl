// attention_backward_q: the first half of causal attention's backward pass (kernels/attention.wgsl's
// forward, over one whole sequence at positions [0, n)): per query token t and head h (kv head
// g = ⌊h / group⌋), for keys j in [lo, t], lo = window ? max(0, t − window + 1) : 0:
//   z_j = scale · q[t,h]·k[j,g],  s_j = softcap ? cap·tanh(z_j / cap) : z_j,  P_j = softmax(s)_j
//   dP_j = dout[t,h]·v[j,g],  D = Σ_j P_j dP_j,  dz_j = P_j (dP_j − D) · (softcap ? 1 − tanh²(z_j / cap) : 1)
//   dq[t,h] = scale · Σ_j dz_j k[j,g]
// and writes P and dz (rows [t·n_head + h], columns j) for kernels/attention_backward_kv.wgsl.
//
// Dispatch: one workgroup of WG threads per (t, h), grid1d(n · n_head). Threads take keys j strided;
//   tree reductions in workgroup memory give the max, Σ e^(s − max) and D; then threads take dq's
//   columns, reading the workgroup's dz back (storageBarrier).
// Bindings (group 0):
//   0  p     uniform             Params
//   1  q     storage, read       array<f32>  [n, n_head · head_dim]
//   2  k     storage, read       array<f32>  [n, n_head_kv · head_dim]
//   3  v     storage, read       array<f32>  [n, n_head_kv · head_dim_v]
//   4  dout  storage, read       array<f32>  [n, n_head · head_dim_v]
//   5  pm    storage, read_write array<f32>  [n · n_head, n]  P (entries j in [lo, t] written)
//   6  dzm   storage, read_write array<f32>  [n · n_head, n]  dz (entries j in [lo, t] written)
//   7  dq    storage, read_write array<f32>  [n, n_head · head_dim]
// Tunables: WG (override, power of two, default 64).
// Reference: src/reference/attention_backward.ts

struct Params {
  n: u32,
  n_head: u32,
  n_head_kv: u32,
  head_dim: u32,
  head_dim_v: u32,
  scale: f32,
  softcap: f32,
  window: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> pm: array<f32>;
@group(0) @binding(6) var<storage, read_write> dzm: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;

var<workgroup> red: array<f32, WG>;

fn reduce_max(x: f32, lid: u32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      red[lid] = max(red[lid], red[lid + stride]);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(x: f32, lid: u32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      red[lid] += red[lid + stride];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn score(t: u32, h: u32, g: u32, j: u32) -> f32 {
  let qo = (t * p.n_head + h) * p.head_dim;
  let ko = (j * p.n_head_kv + g) * p.head_dim;
  var z = 0.0;
  for (var i = 0u; i < p.head_dim; i++) {
    z += q[qo + i] * k[ko + i];
  }
  return z * p.scale;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.n * p.n_head) {
    return;
  }
  let t = row / p.n_head;
  let h = row % p.n_head;
  let g = h / (p.n_head / p.n_head_kv);
  var lo = 0u;
  if (p.window > 0u && t + 1u > p.window) {
    lo = t + 1u - p.window;
  }
  let base = row * p.n;
  // scores, their max
  var m = -3.4e38;
  for (var j = lo + lid; j <= t; j += WG) {
    var s = score(t, h, g, j);
    if (p.softcap > 0.0) {
      s = p.softcap * tanh(s / p.softcap);
    }
    pm[base + j] = s;
    m = max(m, s);
  }
  let mx = reduce_max(m, lid);
  // Σ e^(s − max): each thread reads back the scores it wrote
  var l = 0.0;
  for (var j = lo + lid; j <= t; j += WG) {
    l += exp(pm[base + j] - mx);
  }
  let lse = mx + log(reduce_sum(l, lid));
  // P, dP and D = Σ P dP
  let oo = (t * p.n_head + h) * p.head_dim_v;
  var dsum = 0.0;
  for (var j = lo + lid; j <= t; j += WG) {
    let pj = exp(pm[base + j] - lse);
    pm[base + j] = pj;
    let vo = (j * p.n_head_kv + g) * p.head_dim_v;
    var dp = 0.0;
    for (var i = 0u; i < p.head_dim_v; i++) {
      dp += dout[oo + i] * v[vo + i];
    }
    dzm[base + j] = dp;
    dsum += pj * dp;
  }
  let dd = reduce_sum(dsum, lid);
  for (var j = lo + lid; j <= t; j += WG) {
    var dz = pm[base + j] * (dzm[base + j] - dd);
    if (p.softcap > 0.0) {
      let th = tanh(score(t, h, g, j) / p.softcap);
      dz *= 1.0 - th * th;
    }
    dzm[base + j] = dz;
  }
  storageBarrier();
  workgroupBarrier();
  // dq = scale · Σ_j dz_j k_j
  let qo = (t * p.n_head + h) * p.head_dim;
  for (var i = lid; i < p.head_dim; i += WG) {
    var acc = 0.0;
    for (var j = lo; j <= t; j++) {
      acc += dzm[base + j] * k[(j * p.n_head_kv + g) * p.head_dim + i];
    }
    dq[qo + i] = acc * p.scale;
  }
}

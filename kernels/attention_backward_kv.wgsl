// attention_backward_kv: the second half of causal attention's backward pass: with P and dz from
// kernels/attention_backward_q.wgsl, per key j and kv head g (query heads h of its group):
//   dk[j,g] = scale · Σ_h Σ_t dz[t,h,j] · q[t,h]      dv[j,g] = Σ_h Σ_t P[t,h,j] · dout[t,h]
// over the queries t that see key j: j ≤ t < n, and t < j + window when window > 0.
//
// Dispatch: one workgroup of WG threads per (j, g), grid1d(n · n_head_kv); thread i takes columns
//   i, i + WG, … of dk and of dv. No workgroup memory, no barriers.
// Bindings (group 0):
//   0  p     uniform             Params (as attention_backward_q)
//   1  q     storage, read       array<f32>  [n, n_head · head_dim]
//   2  dout  storage, read       array<f32>  [n, n_head · head_dim_v]
//   3  pm    storage, read       array<f32>  [n · n_head, n]  P
//   4  dzm   storage, read       array<f32>  [n · n_head, n]  dz
//   5  dk    storage, read_write array<f32>  [n, n_head_kv · head_dim]
//   6  dv    storage, read_write array<f32>  [n, n_head_kv · head_dim_v]
// Tunables: WG (override, default 64).
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
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> pm: array<f32>;
@group(0) @binding(4) var<storage, read> dzm: array<f32>;
@group(0) @binding(5) var<storage, read_write> dk: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cell = wid.x + wid.y * nwg.x;
  if (cell >= p.n * p.n_head_kv) {
    return;
  }
  let j = cell / p.n_head_kv;
  let g = cell % p.n_head_kv;
  let group = p.n_head / p.n_head_kv;
  var hi = p.n;
  if (p.window > 0u) {
    hi = min(p.n, j + p.window);
  }
  for (var i = lid; i < p.head_dim; i += WG) {
    var acc = 0.0;
    for (var hh = 0u; hh < group; hh++) {
      let h = g * group + hh;
      for (var t = j; t < hi; t++) {
        acc += dzm[(t * p.n_head + h) * p.n + j] * q[(t * p.n_head + h) * p.head_dim + i];
      }
    }
    dk[(j * p.n_head_kv + g) * p.head_dim + i] = acc * p.scale;
  }
  for (var i = lid; i < p.head_dim_v; i += WG) {
    var acc = 0.0;
    for (var hh = 0u; hh < group; hh++) {
      let h = g * group + hh;
      for (var t = j; t < hi; t++) {
        acc += pm[(t * p.n_head + h) * p.n + j] * dout[(t * p.n_head + h) * p.head_dim_v + i];
      }
    }
    dv[(j * p.n_head_kv + g) * p.head_dim_v + i] = acc;
  }
}

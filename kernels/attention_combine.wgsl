// attention_combine: merges the per-split partial results of kernels/attention.wgsl (flash-decoding).
//   For output row i (one query token and head) and split z with partial (acc_z, m_z, l_z):
//     M = max_z m_z,  w_z = exp(m_z − M),  o[i] = Σ_z w_z · acc_z / Σ_z w_z · l_z
//   A split that saw no key of row i has l_z = 0, acc_z = 0 and contributes nothing.
//
// Dispatch: grid1d(⌈n_out · head_dim_v/4 / WG⌉) workgroups of WG threads, one thread per output vec4;
//   each thread reads the n_split (m, l) pairs of its row (shared by its row's threads through the cache).
//   No workgroup memory, no barriers.
// Bindings (group 0):
//   0  p      uniform             Params
//   1  parts  storage, read       array<vec4<f32>>  [n_split, n_out, head_dim_v/4]  unnormalized acc
//   2  ml     storage, read       array<vec2<f32>>  [n_split, n_out]  (m, l)
//   3  o      storage, read_write array<vec4<f32>>  [n_out, head_dim_v/4]   (n_out = n_rows · n_head)
// Tunables: WG (override, default 64).
// Reference: src/reference/attention.ts (through kernels/attention.wgsl)

struct Params {
  n_out: u32,
  dv4: u32,
  n_split: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> parts: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> ml: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.n_out * p.dv4) {
    return;
  }
  let row = idx / p.dv4;
  var mx = ml[row].x;
  for (var z = 1u; z < p.n_split; z++) {
    mx = max(mx, ml[z * p.n_out + row].x);
  }
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var z = 0u; z < p.n_split; z++) {
    let w = exp(ml[z * p.n_out + row].x - mx);
    l += w * ml[z * p.n_out + row].y;
    acc += w * parts[z * p.n_out * p.dv4 + idx];
  }
  o[idx] = acc / l;
}

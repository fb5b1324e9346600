// rms_norm: y[g, i] = x[g, i] / sqrt(mean_j x[g, j]² + eps) · w[i]
//
// x is split into n_groups groups of group_size consecutive values: one group per row
// (normal use), or one per head (qwen3's per-head q/k norm: group_size = head_dim).
//
// Dispatch: one workgroup of WG threads per group, grid1d(n_groups) (2-D when > 65535).
//   Each thread sums squares over a strided slice, a tree reduction in workgroup memory
//   gives the mean, then each thread writes its slice.
// Bindings (group 0):
//   0  p  uniform             Params
//   1  x  storage, read       array<f32>  [n_groups · group_size]
//   2  w  storage, read       array<f32>  [group_size]
//   3  y  storage, read_write array<f32>  [n_groups · group_size]
// Tunables: WG (override, power of two ≤ maxComputeInvocationsPerWorkgroup, default 64).
// Reference: src/reference/rms_norm.ts

struct Params {
  group_size: u32,
  n_groups: u32,
  eps: f32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.n_groups) {
    return;
  }
  let base = g * p.group_size;
  var s = 0.0;
  for (var i = lid; i < p.group_size; i += WG) {
    let v = x[base + i];
    s += v * v;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  let scale = inverseSqrt(partial[0] / f32(p.group_size) + p.eps);
  for (var i = lid; i < p.group_size; i += WG) {
    y[base + i] = x[base + i] * scale * w[i];
  }
}

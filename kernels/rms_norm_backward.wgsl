// rms_norm_backward: the gradient w.r.t. x of y = x / r · w, r = sqrt(mean x² + eps) (kernels/rms_norm.wgsl),
// per group of group_size values (a row, or a head), given dy:
//   dx[i] = w[i]·dy[i] / r − x[i] · Σ_j (w[j]·dy[j]·x[j]) / (group_size · r³)
// The weight's gradient (Σ_rows dy·x / r) is not computed here: under LoRA the norms are frozen.
//
// Dispatch: one workgroup of WG threads per group, grid1d(n_groups). Each thread sums x² and w·dy·x
//   over a strided slice; a tree reduction in workgroup memory gives both sums; then each thread
//   writes its slice.
// Bindings (group 0):
//   0  p   uniform             Params
//   1  x   storage, read       array<f32>  [n_groups · group_size]
//   2  w   storage, read       array<f32>  [group_size]
//   3  dy  storage, read       array<f32>  [n_groups · group_size]
//   4  dx  storage, read_write array<f32>  [n_groups · group_size]
// Tunables: WG (override, power of two, default 64).
// Reference: src/reference/rms_norm_backward.ts

struct Params {
  group_size: u32,
  n_groups: u32,
  eps: f32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

var<workgroup> partial: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.n_groups) {
    return;
  }
  let base = g * p.group_size;
  var s = vec2<f32>(0.0, 0.0);
  for (var i = lid; i < p.group_size; i += WG) {
    let v = x[base + i];
    s += vec2<f32>(v * v, w[i] * dy[base + i] * v);
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  let n = f32(p.group_size);
  let inv = inverseSqrt(partial[0].x / n + p.eps);
  let k = partial[0].y * inv * inv * inv / n;
  for (var i = lid; i < p.group_size; i += WG) {
    dx[base + i] = w[i] * dy[base + i] * inv - x[base + i] * k;
  }
}

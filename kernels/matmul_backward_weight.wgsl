// matmul_backward_weight: the gradient w.r.t. an f32 weight W [out, in] of y = x · Wᵀ, given x [rows, in]
// and dy [rows, out] (a LoRA adapter's A and B in training, an f32 model's matrices):
//   dW[o, i] = Σ_t dy[t, o] · x[t, i]
//
// Dispatch: grid (⌈in / WG⌉, out) workgroups of WG threads; thread i of workgroup (bx, o) computes
//   dW[o, bx·WG + i], summing over the rows in order (consecutive threads read consecutive x).
// Bindings (group 0):
//   0  p   uniform             Params
//   1  dy  storage, read       array<f32>  [rows, out_dim]
//   2  x   storage, read       array<f32>  [rows, in_dim]
//   3  dw  storage, read_write array<f32>  [out_dim, in_dim]
// Tunables: WG (override, default 64).
// Reference: src/reference/matmul_backward.ts

struct Params {
  rows: u32,
  in_dim: u32,
  out_dim: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  let o = wid.y;
  if (i >= p.in_dim || o >= p.out_dim) {
    return;
  }
  var acc = 0.0;
  for (var t = 0u; t < p.rows; t++) {
    acc += dy[t * p.out_dim + o] * x[t * p.in_dim + i];
  }
  dw[o * p.in_dim + i] = acc;
}

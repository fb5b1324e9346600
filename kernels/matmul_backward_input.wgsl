// matmul_backward_input: the gradient w.r.t. x of y = x · Wᵀ (+ b), for an f32 weight W [out, in]
// (a LoRA adapter's A or B, an f32 model's matrices), given dy [rows, out]:
//   dx[t, i] = Σ_o dy[t, o] · W[o, i]
//
// Dispatch: grid (⌈in / WG⌉, rows) workgroups of WG threads; thread i of workgroup (bx, t) computes
//   dx[t, bx·WG + i], reading W's column i down its rows (consecutive threads, consecutive addresses).
// Bindings (group 0):
//   0  p   uniform             Params
//   1  dy  storage, read       array<f32>  [rows, out_dim]
//   2  w   storage, read       array<f32>  [out_dim, in_dim]
//   3  dx  storage, read_write array<f32>  [rows, in_dim]
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
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  let t = wid.y;
  if (i >= p.in_dim || t >= p.rows) {
    return;
  }
  var acc = 0.0;
  for (var o = 0u; o < p.out_dim; o++) {
    acc += dy[t * p.out_dim + o] * w[o * p.in_dim + i];
  }
  dx[t * p.in_dim + i] = acc;
}

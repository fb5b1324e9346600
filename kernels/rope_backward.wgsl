// rope_backward: the gradient of RoPE (kernels/rope.wgsl) w.r.t. its input, given dy; row t at position
//   pos0 + t. Each pair is multiplied by the rotation R(θ) = [[cos, −sin], [sin, cos]] (times the table's
//   attention factor), so the gradient is the transpose: the pair of dy rotated by −θ,
//     dx_a = dy_a·cos θ + dy_b·sin θ,   dx_b = −dy_a·sin θ + dy_b·cos θ
//   with cos and sin from the same table as the forward pass. Entries [dim, head_dim) pass dy through.
//
// Dispatch, bindings and layout as kernels/rope.wgsl (x is dy, y is dx).
// Bindings (group 0):
//   0  p      uniform             Params
//   1  x      storage, read       array<f32>        dy [n_rows, n_heads · head_dim]
//   2  table  storage, read       array<vec2<f32>>  [n_ctx, dim/2] (cos θ, sin θ); pos0 + n_rows ≤ n_ctx
//   3  y      storage, read_write array<f32>        dx [n_rows, n_heads · head_dim]
// Tunables: WG (override, default 64).
// Reference: src/reference/rope_backward.ts

struct Params {
  n_rows: u32,
  n_heads: u32,
  head_dim: u32,
  half: u32,
  neox: u32,
  pos0: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slots = p.head_dim / 2u;
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.n_rows * p.n_heads * slots) {
    return;
  }
  let s = idx % slots;
  let head = idx / slots; // t · n_heads + h
  let base = head * p.head_dim;
  if (s < p.half) {
    let t = head / p.n_heads;
    let cs = table[(p.pos0 + t) * p.half + s];
    var i0 = base + 2u * s;
    var i1 = i0 + 1u;
    if (p.neox != 0u) {
      i0 = base + s;
      i1 = i0 + p.half;
    }
    let a = x[i0];
    let b = x[i1];
    y[i0] = a * cs.x + b * cs.y;
    y[i1] = b * cs.x - a * cs.y;
  } else {
    let i = base + 2u * p.half + 2u * (s - p.half);
    y[i] = x[i];
    y[i + 1u] = x[i + 1u];
  }
}

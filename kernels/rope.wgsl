// rope: rotary position embedding; row t of x is at position pos0 + t.
//   In each head, pair j < dim/2 is rotated by θ(pos, j) (cos and sin read from a table):
//     normal: (a, b) = (x[2j], x[2j+1])        NeoX: (a, b) = (x[j], x[j + dim/2])
//     y_a = a·cos θ − b·sin θ,   y_b = a·sin θ + b·cos θ
//   With inverse = 1 the pair is rotated by −θ instead: the transpose of the rotation, which is RoPE's
//   gradient w.r.t. its input (training: x is then dy, y is dx; reference src/reference/rope_backward.ts).
//   Entries [dim, head_dim) of each head are copied unchanged.
//   θ = pos · freqScale · base^(−2j/dim) / factor[j] is computed on the CPU in float64
//   (src/gpu/rope-table.ts): WGSL sin/cos are only accurate on [−π, π].
//
// Dispatch: grid1d(⌈n_rows · n_heads · head_dim/2 / WG⌉) workgroups of WG threads; one thread per
//   "pair slot" s of one head: s < dim/2 rotates pair s, s ≥ dim/2 copies entries
//   dim + 2(s − dim/2) and the next one. Both modes read and write adjacent addresses from
//   adjacent threads. No workgroup memory, no barriers.
// Bindings (group 0):
//   0  p      uniform             Params
//   1  x      storage, read       array<f32>        [n_rows, n_heads · head_dim]
//   2  table  storage, read       array<vec2<f32>>  [n_ctx, dim/2] (cos θ, sin θ); pos0 + n_rows ≤ n_ctx
//   3  y      storage, read_write array<f32>        [n_rows, n_heads · head_dim]
// Params: neox = 1 for NeoX pairs, 0 for adjacent pairs; half = dim/2; head_dim even; inverse (see above).
// Tunables: WG (override, default 64).
// Reference: src/reference/rope.ts

struct Params {
  n_rows: u32,
  n_heads: u32,
  head_dim: u32,
  half: u32,
  neox: u32,
  pos0: u32,
  inverse: u32,
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
    let cs = table[(p.pos0 + t) * p.half + s] * vec2<f32>(1.0, select(1.0, -1.0, p.inverse != 0u));
    var i0 = base + 2u * s;
    var i1 = i0 + 1u;
    if (p.neox != 0u) {
      i0 = base + s;
      i1 = i0 + p.half;
    }
    let a = x[i0];
    let b = x[i1];
    y[i0] = a * cs.x - b * cs.y;
    y[i1] = a * cs.y + b * cs.x;
  } else {
    let i = base + 2u * p.half + 2u * (s - p.half);
    y[i] = x[i];
    y[i + 1u] = x[i + 1u];
  }
}

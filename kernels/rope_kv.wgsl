// rope_kv: split a fused q|k|v projection: RoPE on q (to a new tensor) and on k, both written with v
//   straight into one layer's KV cache (the step between the qkv matmul and attention, in one dispatch).
//   Row t of qkv is at position pos = pos0 + t and holds [q | k | v]: q = n_head heads of head_dim,
//   k = n_head_kv heads of head_dim, v = n_head_kv·head_dim_v values.
//     q_out[t]   = rope(q, pos)
//     kc[pos]    = rope(k, pos)
//     vc[pos]    = v
//   rope is exactly kernels/rope.wgsl's: in each head, pair j < dim/2 is rotated by θ(pos, j) read from
//   the cos/sin table (normal: (x[2j], x[2j+1]); NeoX: (x[j], x[j + dim/2])),
//     y_a = a·cos θ − b·sin θ,   y_b = a·sin θ + b·cos θ,
//   and entries [dim, head_dim) of each head are copied unchanged.
//
// Dispatch: grid1d(⌈n_rows · (q_slots + k_slots + v_len) / WG⌉) workgroups of WG threads; thread idx is item
//   idx mod items of row ⌊idx / items⌋, items = q_slots + k_slots + v_len: first the q_slots =
//   n_head·head_dim/2 pair slots of q, then the k_slots = n_head_kv·head_dim/2 of k (a slot s of a head
//   rotates pair s when s < dim/2, else copies entries dim + 2(s − dim/2) and the next one, as in
//   rope.wgsl), then one thread per value of v. Neighbouring threads touch neighbouring addresses.
//   No workgroup memory, no barriers.
// Bindings (group 0):
//   0  p      uniform             Params
//   1  qkv    storage, read       array<f32>        [n_rows, q_len + k_len + v_len]
//   2  table  storage, read       array<vec2<f32>>  [n_ctx, half] (cos θ, sin θ); pos0 + n_rows ≤ n_ctx
//   3  q      storage, read_write array<f32>        [n_rows, q_len]
//   4  kc     storage, read_write array<f32>        [n_ctx, k_len]  rows pos0 .. pos0 + n_rows − 1 written
//   5  vc     storage, read_write array<f32>        [n_ctx, v_len]  rows pos0 .. pos0 + n_rows − 1 written
// Params: q_len = n_head·head_dim, k_len = n_head_kv·head_dim, v_len = n_head_kv·head_dim_v; half = dim/2;
//   neox = 1 for NeoX pairs, 0 for adjacent pairs; head_dim even.
// Tunables: WG (override, default 64).
// Reference: src/reference/rope_kv.ts

struct Params {
  n_rows: u32,
  head_dim: u32,
  q_len: u32,
  k_len: u32,
  v_len: u32,
  half: u32,
  neox: u32,
  pos0: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;
@group(0) @binding(4) var<storage, read_write> kc: array<f32>;
@group(0) @binding(5) var<storage, read_write> vc: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let q_slots = p.q_len / 2u;
  let k_slots = p.k_len / 2u;
  let items = q_slots + k_slots + p.v_len;
  let idx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (idx >= p.n_rows * items) {
    return;
  }
  let t = idx / items;
  let r = idx - t * items;
  let pos = p.pos0 + t;
  let row = t * (p.q_len + p.k_len + p.v_len);
  if (r >= q_slots + k_slots) {
    let j = r - q_slots - k_slots;
    vc[pos * p.v_len + j] = qkv[row + p.q_len + p.k_len + j];
    return;
  }
  let is_k = r >= q_slots;
  let rr = select(r, r - q_slots, is_k);
  let slots = p.head_dim / 2u;
  let head = rr / slots;
  let s = rr - head * slots;
  // offsets of the two entries inside the head
  var i0 = 2u * s;
  var i1 = i0 + 1u;
  if (s < p.half && p.neox != 0u) {
    i0 = s;
    i1 = s + p.half;
  }
  let src = row + select(0u, p.q_len, is_k) + head * p.head_dim;
  let a = qkv[src + i0];
  let b = qkv[src + i1];
  var ya = a;
  var yb = b;
  if (s < p.half) {
    let cs = table[pos * p.half + s];
    ya = a * cs.x - b * cs.y;
    yb = a * cs.y + b * cs.x;
  }
  if (is_k) {
    let o = pos * p.k_len + head * p.head_dim;
    kc[o + i0] = ya;
    kc[o + i1] = yb;
  } else {
    let o = t * p.q_len + head * p.head_dim;
    q[o + i0] = ya;
    q[o + i1] = yb;
  }
}

// cross_entropy: the training loss over the vocabulary and its gradient, per row r of logits [rows, V]
// with a target t = targets[r] (≥ 0; −1: the row is not scored):
//   loss[r]       = logsumexp(x_r) − x_r[t]                  (0 for an unscored row)
//   dlogits[r, i] = (softmax(x_r)_i − [i = t]) · inv_count   (0 for an unscored row)
// inv_count = 1 / (scored rows), so Σ_r loss[r] · inv_count is the mean loss and dlogits its gradient.
//
// Dispatch: one workgroup of WG threads per row, grid1d(rows). Each thread takes a strided slice of the
//   row: a tree reduction in workgroup memory gives the row's max, a second its Σ e^(x − max).
// Bindings (group 0):
//   0  p        uniform             Params
//   1  x        storage, read       array<f32>  [rows · V]
//   2  targets  storage, read       array<i32>  [rows]
//   3  dlogits  storage, read_write array<f32>  [rows · V]
//   4  loss     storage, read_write array<f32>  [rows]
// Tunables: WG (override, power of two, default 256).
// Reference: src/reference/cross_entropy.ts

struct Params {
  n_vocab: u32,
  rows: u32,
  inv_count: f32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.n_vocab;
  let t = targets[r];
  // the row's max
  var m = -3.4e38;
  for (var i = lid; i < p.n_vocab; i += WG) {
    m = max(m, x[base + i]);
  }
  partial[lid] = m;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] = max(partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  let mx = partial[0];
  workgroupBarrier();
  // Σ e^(x − max)
  var s = 0.0;
  for (var i = lid; i < p.n_vocab; i += WG) {
    s += exp(x[base + i] - mx);
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  let lse = mx + log(partial[0]);
  let scored = t >= 0;
  for (var i = lid; i < p.n_vocab; i += WG) {
    let hit = select(0.0, 1.0, scored && u32(t) == i);
    dlogits[base + i] = select(0.0, (exp(x[base + i] - lse) - hit) * p.inv_count, scored);
  }
  if (lid == 0u) {
    loss[r] = select(0.0, lse - x[base + u32(max(t, 0))], scored);
  }
}

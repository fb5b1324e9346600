// log_softmax_gather: for each row r of logits x [rows × cols] and its target id t = targets[r]:
//   logprob[r] = x[r, t] − logsumexp_j x[r, j]          (log-probability of the target)
//   argmax[r]  = lowest j with x[r, j] = max x[r, ·]     (so scoring can tell a greedy continuation)
// Output pairs y[2r] = logprob bits (f32), y[2r + 1] = argmax (u32).
//
// Each thread streams a strided slice of the row once, keeping an online logsumexp (running max m
// and Σ e^(x − m), rescaled when m grows, summed with Kahan compensation) and the best
// (key, ~index) composite of argmax.wgsl (same semantics: lowest index on ties, NaN never wins);
// a tree reduction in workgroup memory merges both. logprob = (x_t − M) − log S, which keeps the
// exact difference x_t − M instead of rounding M + log S first. Logits are assumed finite (a NaN
// gives a NaN logprob, as in the reference); a target ≥ cols gives NaN.
//
// Dispatch: one workgroup of WG threads per row, grid1d(rows). Scoring has many rows, so one
//   workgroup per row already fills the GPU; decoding uses argmax/topk instead.
// Bindings (group 0):
//   0  p        uniform             Params
//   1  x        storage, read       array<f32>  logits [rows × cols]
//   2  targets  storage, read       array<u32>  [rows]
//   3  y        storage, read_write array<u32>  [rows × 2]: (logprob f32 bits, argmax)
// Tunables: WG (override, power of two, default 256).
// Reference: src/reference/log_softmax_gather.ts

struct Params {
  rows: u32,
  cols: u32,
}

override WG: u32 = 256;

const KEY_NEG_INF: u32 = 0x007fffffu;
const LOWEST: f32 = -3.4028234663852886e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;

var<workgroup> wm: array<f32, WG>;
var<workgroup> ws: array<f32, WG>;
var<workgroup> wkey: array<u32, WG>;
var<workgroup> wnidx: array<u32, WG>;

fn key_of(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return 0u; // NaN: below everything
  }
  let b = select(bits, 0u, bits == 0x80000000u); // −0 → +0
  return select(b ^ 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn beats(k: u32, n: u32, bk: u32, bn: u32) -> bool {
  return k > bk || (k == bk && n > bn);
}

// s · e^(m − M) for m ≤ M, and 0 for an empty partial sum (m may be LOWEST there)
fn rescale(s: f32, m: f32, big: f32) -> f32 {
  return select(s * exp(m - big), 0.0, s == 0.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.cols;

  var m = LOWEST;
  var s = 0.0;
  var c = 0.0; // Kahan compensation of s
  var bk = KEY_NEG_INF;
  var bn = ~0u;
  for (var i = lid; i < p.cols; i += WG) {
    let v = x[base + i];
    let k = key_of(bitcast<u32>(v));
    if (beats(k, ~i, bk, bn)) {
      bk = k;
      bn = ~i;
    }
    if (v > m) {
      s = rescale(s, m, v);
      c = rescale(c, m, v);
      m = v;
      // adding exactly 1 after a rescale: Kahan step with term 1
      let t = s + (1.0 - c);
      c = (t - s) - (1.0 - c);
      s = t;
    } else {
      let term = exp(v - m) - c;
      let t = s + term;
      c = (t - s) - term;
      s = t;
    }
  }
  wm[lid] = m;
  ws[lid] = s - c;
  wkey[lid] = bk;
  wnidx[lid] = bn;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let m1 = wm[lid];
      let m2 = wm[lid + stride];
      let big = max(m1, m2);
      ws[lid] = rescale(ws[lid], m1, big) + rescale(ws[lid + stride], m2, big);
      wm[lid] = big;
      if (beats(wkey[lid + stride], wnidx[lid + stride], wkey[lid], wnidx[lid])) {
        wkey[lid] = wkey[lid + stride];
        wnidx[lid] = wnidx[lid + stride];
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let t = targets[row];
    var lp = 0x7fc00000u; // NaN bits for a target out of range (a NaN constant does not compile)
    if (t < p.cols) {
      lp = bitcast<u32>((x[base + t] - wm[0]) - log(ws[0]));
    }
    y[2u * row] = lp;
    y[2u * row + 1u] = ~wnidx[0];
  }
}

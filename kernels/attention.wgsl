// attention: causal multi-head attention of query rows over a KV cache, flash-attention style
// (online softmax over tiles of keys: workgroup memory does not grow with the context).
//   Query token t is at position pos = pos0 + t; query head h reads kv head g = ⌊h / group⌋.
//     s_j = scale · q[t,h]·K[j,g]              for lo ≤ j ≤ pos, lo = window ? max(0, pos − window + 1) : 0
//     s_j = softcap · tanh(s_j / softcap)      when softcap > 0
//     o[t,h] = Σ_j softmax(s)_j · V[j,g]
//   Keys [k_lo, pos0 + n_rows) are cut into n_split ranges of split_len keys (whole tiles). With
//   n_split = 1 this kernel writes the normalized output; otherwise each range writes its partial
//   (acc = Σ exp(s_j − m)·V_j unnormalized, m = max s_j, l = Σ exp(s_j − m)) and
//   kernels/attention_combine.wgsl merges them (flash-decoding: parallel key ranges when a decode
//   grid is too small to fill the GPU).
//
// Dispatch: (⌈n_rows · group / BR⌉, n_head_kv, n_split) workgroups of WG threads.
//   A workgroup owns BR query rows of one kv head g, row r ↔ (t = r / group, h = g·group + r % group),
//   so the GQA heads of a token share every K/V read (decode: one workgroup per kv head and range).
//   Its keys: [max(lo of its first row, k_lo + z·split_len), min(pos of its last row + 1, k_lo + (z+1)·split_len)),
//   in tiles of WG keys, ONE barrier per tile:
//     scores      thread i computes the BR scores of key kt + i: it streams K row kt + i (vec4 loads;
//                 each K value is loaded once per workgroup and used for BR rows) against the q rows
//                 in workgroup memory → s_sh[tile parity][r][i]
//     barrier
//     accumulate  the WG/BR threads of row r are KS = WG/BR/lpr slices × lpr lanes; a thread runs its own
//                 online softmax (m, l, and up to 4 output vec4s a0..a3 = lanes lane + k·lpr) over the
//                 row's visible keys j ≡ slice (mod KS) of the tile. The lpr lanes of a slice read
//                 consecutive vec4s of a V row (coalesced); each weight exp(s − m) is computed by the
//                 lpr lanes of one slice only.
//   s_sh has two buffers (tile parity): a thread already computing the next tile's scores never
//   overwrites scores another thread is still reading, so one barrier per tile suffices.
//   After the last tile the KS slices of each row are merged in slice 0 through s_sh (free once every
//   thread is past the key loop), one output vec4 per round: 2 + 2·⌈head_dim_v/4/lpr⌉ barriers, once.
//   Workgroup memory is kept small on purpose: WebGPU zero-initializes it for every workgroup, which
//   is a large part of a workgroup's cost on SwiftShader (and occupancy on GPUs).
// Bindings (group 0):
//   0  p     uniform             Params
//   1  q     storage, read       array<vec4<f32>>  [n_rows, n_head · head_dim/4]
//   2  kc    storage, read       array<vec4<f32>>  [n_ctx, n_head_kv · head_dim/4]    rows < pos0 + n_rows filled
//   3  vc    storage, read       array<vec4<f32>>  [n_ctx, n_head_kv · head_dim_v/4]  rows < pos0 + n_rows filled
//   4  o     storage, read_write array<vec4<f32>>  [n_split, n_rows · n_head, head_dim_v/4] partials;
//                                                  n_split = 1: the output [n_rows, n_head · head_dim_v]
//   5  ml    storage, read_write array<vec2<f32>>  [n_split, n_rows · n_head] (m, l) of each partial
// Params: head sizes and lpr (lanes per slice, a power of two ≤ WG/BR with head_dim_v/4 ≤ 4·lpr) are
//   Params values, not overrides: one pipeline per (WG, BR, QD4) serves every head size up to 4·QD4
//   (each new pipeline costs ~0.5–1 s to compile on SwiftShader), and the loops they bound are
//   memory-bound, so compile-time trip counts would buy little.
// Limits (checked by src/gpu/kernels/attention.ts): head_dim, head_dim_v multiples of 4; head_dim ≤ 4·QD4;
//   keys read < n_ctx.
// Tunables (override): WG threads = keys per tile (power of two, default 64); BR query rows per
//   workgroup (1, 2 or 4); QD4 vec4s per q row in workgroup memory (16, 32 or 64: head sizes ≤ 64,
//   128, 256). Workgroup memory 16·BR·QD4 + 4·max(2·BR, 6)·WG bytes: 3 KiB for BR 4, WG 64, head 64.
//   The launcher picks WG = 64 on GPUs and the fewest threads that fit the head on CPU adapters.
// Reference: src/reference/attention.ts

struct Params {
  n_rows: u32,
  n_head: u32,
  n_head_kv: u32,
  group: u32,
  head_dim: u32,
  head_dim_v: u32,
  pos0: u32,
  window: u32,
  scale: f32,
  softcap: f32,
  k_lo: u32,
  split_len: u32,
  n_split: u32,
  lpr: u32,
}

override WG: u32 = 64;
override BR: u32 = 4;
override QD4: u32 = 16;

const MAX_CH: u32 = 4u;
const NEG: f32 = -1e30; // "no key yet" (finite: no inf − inf)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kc: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vc: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> ml: array<vec2<f32>>;

var<workgroup> q_sh: array<vec4<f32>, BR * QD4>;
// scores of two tiles [2][BR][WG]; after the key loop, the slice merge's [WG] vec4 + [WG] m + [WG] l
var<workgroup> s_sh: array<f32, max(2u * BR, 6u) * WG>;

fn score(d: vec4<f32>) -> f32 {
  let s = (d.x + d.y + d.z + d.w) * p.scale;
  if (p.softcap > 0.0) {
    // tanh is ±1 in f32 beyond |x| ≈ 9; the clamp keeps exp-based implementations from overflowing
    return p.softcap * tanh(clamp(s / p.softcap, -10.0, 10.0));
  }
  return s;
}

// first key visible from position pos
fn first_key(pos: u32) -> u32 {
  if (p.window > 0u && pos + 1u > p.window) {
    return pos + 1u - p.window;
  }
  return 0u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y;
  let z = wid.z;
  let d4 = p.head_dim / 4u;
  let dv4 = p.head_dim_v / 4u;
  let rows_g = p.n_rows * p.group; // query rows of kv head g
  let r0 = wid.x * BR;

  for (var i = lid; i < BR * d4; i += WG) {
    let r = i / d4;
    let row = r0 + r;
    var v = vec4<f32>(0.0);
    if (row < rows_g) {
      let h = g * p.group + row % p.group;
      v = q[((row / p.group) * p.n_head + h) * d4 + i % d4];
    }
    q_sh[r * QD4 + i % d4] = v;
  }

  // keys of this workgroup (uniform: workgroup_id and Params only)
  let r_last = min(r0 + BR, rows_g) - 1u;
  let k_start = max(first_key(p.pos0 + r0 / p.group), p.k_lo + z * p.split_len);
  let k_end = min(p.pos0 + r_last / p.group + 1u, p.k_lo + (z + 1u) * p.split_len);

  // accumulate role
  let tpr = WG / BR;
  let ks_n = tpr / p.lpr; // slices per row
  let ra = lid / tpr;
  let ks = (lid % tpr) / p.lpr;
  let lane = lid % p.lpr;
  let a_row = r0 + ra;
  let a_ok = a_row < rows_g;
  let a_pos = p.pos0 + a_row / p.group;
  let a_lo = first_key(a_pos);
  // output vec4s lane + k·lpr; the last ones may run past dv4 (head size 80: 20 = 8 lanes × 3 − 4)
  let ok0 = lane < dv4;
  let ok1 = lane + p.lpr < dv4;
  let ok2 = lane + 2u * p.lpr < dv4;
  let ok3 = lane + 3u * p.lpr < dv4;
  var m = NEG;
  var l = 0.0;
  // named variables, not private arrays: SwiftShader keeps dynamically indexed arrays in memory (2× slower);
  // BR is a pipeline constant, so the `if (BR > …)` below vanish at compile time
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);

  workgroupBarrier(); // q_sh
  var sb = 0u;
  for (var kt = k_start; kt < k_end; kt += WG) {
    let kj = kt + lid;
    var d0 = vec4<f32>(0.0);
    var d1 = vec4<f32>(0.0);
    var d2 = vec4<f32>(0.0);
    var d3 = vec4<f32>(0.0);
    if (kj < k_end) {
      let kb = (kj * p.n_head_kv + g) * d4;
      for (var c = 0u; c < d4; c++) {
        let kv = kc[kb + c];
        d0 += q_sh[c] * kv;
        if (BR > 1u) {
          d1 += q_sh[QD4 + c] * kv;
        }
        if (BR > 2u) {
          d2 += q_sh[2u * QD4 + c] * kv;
          d3 += q_sh[3u * QD4 + c] * kv;
        }
      }
    }
    s_sh[sb + lid] = score(d0);
    if (BR > 1u) {
      s_sh[sb + WG + lid] = score(d1);
    }
    if (BR > 2u) {
      s_sh[sb + 2u * WG + lid] = score(d2);
      s_sh[sb + 3u * WG + lid] = score(d3);
    }
    workgroupBarrier();

    if (a_ok) {
      // keys of this tile visible from row ra: [kt + j_lo, kt + j_hi); this slice takes j ≡ ks (mod ks_n)
      let j_lo = max(a_lo, kt) - kt;
      let j_hi = max(min(a_pos + 1u, min(k_end, kt + WG)), kt) - kt;
      for (var j = j_lo + (ks + ks_n - j_lo % ks_n) % ks_n; j < j_hi; j += ks_n) {
        let s = s_sh[sb + ra * WG + j];
        if (s > m) {
          let alpha = exp(m - s);
          l *= alpha;
          a0 *= alpha;
          a1 *= alpha;
          a2 *= alpha;
          a3 *= alpha;
          m = s;
        }
        let pj = exp(s - m);
        l += pj;
        let vb = ((kt + j) * p.n_head_kv + g) * dv4 + lane;
        if (ok0) {
          a0 += pj * vc[vb];
        }
        if (ok1) {
          a1 += pj * vc[vb + p.lpr];
        }
        if (ok2) {
          a2 += pj * vc[vb + 2u * p.lpr];
        }
        if (ok3) {
          a3 += pj * vc[vb + 3u * p.lpr];
        }
      }
    }
    sb = BR * WG - sb;
  }

  // merge the slices of each row into slice 0, one output vec4 per round (see the header);
  // ks_n, lpr and dv4 are uniform, so the barriers are in uniform control flow
  if (ks_n > 1u) {
    workgroupBarrier(); // every thread is done with the scores: s_sh is free
    s_sh[4u * WG + lid] = m;
    workgroupBarrier();
    let base = lid - ks * p.lpr; // slice 0 of this row and lane
    var mx = m;
    for (var k = 0u; k < ks_n; k++) {
      mx = max(mx, s_sh[4u * WG + base + k * p.lpr]);
    }
    let w = exp(m - mx);
    s_sh[5u * WG + lid] = w * l;
    for (var c = 0u; c < MAX_CH && c * p.lpr < dv4; c++) {
      var mine = a0;
      if (c == 1u) {
        mine = a1;
      } else if (c == 2u) {
        mine = a2;
      } else if (c == 3u) {
        mine = a3;
      }
      mine *= w;
      s_sh[4u * lid] = mine.x;
      s_sh[4u * lid + 1u] = mine.y;
      s_sh[4u * lid + 2u] = mine.z;
      s_sh[4u * lid + 3u] = mine.w;
      workgroupBarrier();
      if (ks == 0u) {
        var sum = vec4<f32>(0.0);
        for (var k = 0u; k < ks_n; k++) {
          let x = 4u * (base + k * p.lpr);
          sum += vec4<f32>(s_sh[x], s_sh[x + 1u], s_sh[x + 2u], s_sh[x + 3u]);
        }
        if (c == 0u) {
          a0 = sum;
          l = 0.0;
          for (var k = 0u; k < ks_n; k++) {
            l += s_sh[5u * WG + base + k * p.lpr];
          }
          m = mx;
        } else if (c == 1u) {
          a1 = sum;
        } else if (c == 2u) {
          a2 = sum;
        } else {
          a3 = sum;
        }
      }
      workgroupBarrier();
    }
  }

  if (a_ok && ks == 0u) {
    let t = a_row / p.group;
    let h = g * p.group + a_row % p.group;
    let orow = z * (p.n_rows * p.n_head) + t * p.n_head + h;
    // one range holds the row's own key, so l > 0 there
    let inv = select(1.0, 1.0 / l, p.n_split == 1u);
    let ob = orow * dv4 + lane;
    if (ok0) {
      o[ob] = a0 * inv;
    }
    if (ok1) {
      o[ob + p.lpr] = a1 * inv;
    }
    if (ok2) {
      o[ob + 2u * p.lpr] = a2 * inv;
    }
    if (ok3) {
      o[ob + 3u * p.lpr] = a3 * inv;
    }
    if (lane == 0u) {
      ml[orow] = vec2<f32>(m, l);
    }
  }
}

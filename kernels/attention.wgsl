// attention: causal multi-head attention of query rows over a KV cache (flash-attention style:
// online softmax over tiles of keys, so workgroup memory does not grow with the context).
//   Query token t is at position pos = pos0 + t; query head h reads kv head g = ⌊h / group⌋.
//     s_j = scale · q[t,h]·K[j,g]                 for lo ≤ j ≤ pos, lo = window ? max(0, pos − window + 1) : 0
//     s_j = softcap · tanh(s_j / softcap)         when softcap > 0
//     o[t,h] = Σ_j softmax(s)_j · V[j,g]
//   The keys are split into n_split ranges of split_len keys starting at k_lo; with n_split = 1
//   this kernel writes the normalized output, otherwise each split writes its unnormalized
//   partial (acc, and (m, l): running max and sum of exp(s − m)) and kernels/attention_combine.wgsl
//   merges them (flash-decoding: parallelism over key ranges for long decode contexts).
//
// Dispatch: (⌈n_rows · group / BR⌉, n_head_kv, n_split) workgroups of WG threads.
//   A workgroup owns BR query rows of one kv head g: row r ↔ (t = r / group, h = g·group + r % group),
//   so GQA heads of one token share every K/V read (decode: one workgroup per kv head and split).
//   Its keys: [max(block_lo, k_lo + z·split_len), min(pos0 + t_last + 1, k_lo + (z+1)·split_len)).
//   Per tile of WG keys, one barrier:
//     scores:     thread i computes the BR scores of key i (each K vec4 is read once per workgroup
//                 and used BR times; q rows come from workgroup memory) → s_sh[buf][r][i]
//     barrier
//     accumulate: thread (r = i / (WG/BR), lane = i % (WG/BR)) updates row r's running max m, sum l
//                 and output vec4s lane + k·WG/BR (k < CH) from all WG scores of the tile (reading V
//                 rows coalesced: consecutive lanes read consecutive vec4s of a V row).
//   s_sh is double-buffered so that the next tile's scores never overwrite ones still being read.
// Bindings (group 0):
//   0  p     uniform             Params
//   1  q     storage, read       array<vec4<f32>>  [n_rows, n_head · head_dim/4]
//   2  kc    storage, read       array<vec4<f32>>  [n_ctx, n_head_kv · head_dim/4]    positions < pos0 + n_rows filled
//   3  vc    storage, read       array<vec4<f32>>  [n_ctx, n_head_kv · head_dim_v/4]
//   4  o     storage, read_write array<vec4<f32>>  [n_split, n_rows · n_head, head_dim_v/4]  (n_split = 1: the output [n_rows, n_head · head_dim_v])
//   5  ml    storage, read_write array<vec2<f32>>  [n_split, n_rows · n_head] (m, l); unused when n_split = 1
// Limits (checked by the launcher): head_dim, head_dim_v multiples of 4 and ≤ 4·MAX_D4 = 256;
//   head_dim_v/4 ≤ CH · WG/BR; keys touched < n_ctx.
// Tunables: WG (override, threads = keys per tile, default 64), BR (override, query rows per
//   workgroup, 1 ≤ BR ≤ MAX_BR = 4, divides WG). Workgroup memory: 16·BR·MAX_D4 + 8·BR·WG bytes.
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
}

override WG: u32 = 64;
override BR: u32 = 4;

const MAX_D4: u32 = 64u; // head dims up to 256
const MAX_BR: u32 = 4u;
const CH: u32 = 4u; // output vec4s per thread
const NEG: f32 = -1e30; // running max before any key (finite: no inf arithmetic)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kc: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vc: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> ml: array<vec2<f32>>;

var<workgroup> q_sh: array<vec4<f32>, BR * MAX_D4>;
var<workgroup> s_sh: array<f32, 2 * BR * WG>;

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
    q_sh[r * MAX_D4 + i % d4] = v;
  }

  // keys of this workgroup (uniform: from workgroup_id and Params only)
  let r_last = min(r0 + BR, rows_g) - 1u;
  let k_start = max(first_key(p.pos0 + r0 / p.group), p.k_lo + z * p.split_len);
  let k_end = min(p.pos0 + r_last / p.group + 1u, p.k_lo + (z + 1u) * p.split_len);

  // score role: key lid of each tile, rows 0..BR−1
  var s_pos: array<u32, MAX_BR>;
  var s_lo: array<u32, MAX_BR>;
  var s_ok: array<bool, MAX_BR>;
  for (var r = 0u; r < BR; r++) {
    let row = r0 + r;
    s_ok[r] = row < rows_g;
    s_pos[r] = p.pos0 + row / p.group;
    s_lo[r] = first_key(s_pos[r]);
  }
  // accumulate role: row ra, output vec4s lane + k·tpr
  let tpr = WG / BR;
  let ra = lid / tpr;
  let lane = lid % tpr;
  let a_row = r0 + ra;
  let a_ok = a_row < rows_g;
  let a_pos = p.pos0 + a_row / p.group;
  let a_lo = first_key(a_pos);
  var m = NEG;
  var l = 0.0;
  var acc: array<vec4<f32>, CH>;
  for (var k = 0u; k < CH; k++) {
    acc[k] = vec4<f32>(0.0);
  }

  workgroupBarrier(); // q_sh
  var buf = 0u;
  for (var kt = k_start; kt < k_end; kt += WG) {
    let sb = buf * BR * WG;
    let kj = kt + lid;
    var dots: array<vec4<f32>, MAX_BR>;
    for (var r = 0u; r < BR; r++) {
      dots[r] = vec4<f32>(0.0);
    }
    if (kj < k_end) {
      let kb = (kj * p.n_head_kv + g) * d4;
      for (var c = 0u; c < d4; c++) {
        let kv = kc[kb + c];
        for (var r = 0u; r < BR; r++) {
          dots[r] += q_sh[r * MAX_D4 + c] * kv;
        }
      }
    }
    for (var r = 0u; r < BR; r++) {
      var s = (dots[r].x + dots[r].y + dots[r].z + dots[r].w) * p.scale;
      if (p.softcap > 0.0) {
        // tanh saturates to ±1 in f32 beyond |x| ≈ 9; clamping keeps implementations based on exp from overflowing
        s = p.softcap * tanh(clamp(s / p.softcap, -10.0, 10.0));
      }
      s_sh[sb + r * WG + lid] = s;
    }
    workgroupBarrier();

    let cnt = min(WG, k_end - kt);
    if (a_ok) {
      // keys of this tile visible from row ra: [j_lo, j_hi)
      let j_lo = max(a_lo, kt) - kt;
      let j_hi = max(min(a_pos + 1u, kt + cnt), kt) - kt;
      var tmax = NEG;
      for (var j = j_lo; j < j_hi; j++) {
        tmax = max(tmax, s_sh[sb + ra * WG + j]);
      }
      let m_new = max(m, tmax);
      let alpha = exp(m - m_new);
      l *= alpha;
      for (var k = 0u; k < CH; k++) {
        acc[k] *= alpha;
      }
      for (var j = j_lo; j < j_hi; j++) {
        let pj = exp(s_sh[sb + ra * WG + j] - m_new);
        l += pj;
        let vb = ((kt + j) * p.n_head_kv + g) * dv4;
        for (var k = 0u; k < CH; k++) {
          let c = lane + k * tpr;
          if (c < dv4) {
            acc[k] += pj * vc[vb + c];
          }
        }
      }
      m = m_new;
    }
    buf ^= 1u;
  }

  if (a_ok) {
    let t = a_row / p.group;
    let h = g * p.group + a_row % p.group;
    let orow = z * (p.n_rows * p.n_head) + t * p.n_head + h;
    // a single split always contains the row's own key, so l > 0
    let inv = select(1.0, 1.0 / l, p.n_split == 1u);
    for (var k = 0u; k < CH; k++) {
      let c = lane + k * tpr;
      if (c < dv4) {
        o[orow * dv4 + c] = acc[k] * inv;
      }
    }
    if (lane == 0u) {
      ml[orow] = vec2<f32>(m, l);
    }
  }
}

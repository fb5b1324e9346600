// argmax: y[r] = the lowest i with x[r, i] = max_j x[r, j]   (greedy decoding; NaN never wins)
//
// Semantics of src/sampling/sampler.ts argmax, exactly: start from (index 0, −∞) and take an element
// only if it is strictly greater, so −∞ and NaN never win, a row with nothing above −∞ gives 0,
// and among equal values (−0 = +0) the lowest index wins.
//
// Comparisons are done on integers, not floats (WGSL lets implementations assume there are no NaNs
// or infinities in float math): each value becomes an order-preserving u32 key (sign-flipped bits,
// −0 mapped to +0, every NaN mapped to 0 — below −∞), and candidates are compared as the pair
// (key, ~index), larger wins. That order is total, so the reduction order cannot change the result.
//
// Two uses of this one file, chosen by overrides (same bindings in both):
//   PAIRS = false: src holds the logits (f32 bits) [rows × cols]; item i is (key(src[r·cols + i]), i).
//   PAIRS = true:  src holds (key, index) pairs [rows × cols × 2] written by a PAIRS = false, FINAL =
//                  false pass; item i is (src[2(r·cols + i)], src[2(r·cols + i) + 1]).
//   FINAL = true:  dst[r] = index of the winner (u32 [rows]); needs n_chunks = 1.
//   FINAL = false: dst[2g], dst[2g + 1] = (key, index) of the winner of workgroup g (u32 [rows × n_chunks × 2]).
// Large vocabularies with few rows run as two dispatches: chunks of `chunk` logits → pairs, then one
// workgroup per row over the n_chunks pairs (see src/gpu/kernels/argmax.ts).
//
// Dispatch: grid1d(rows · n_chunks) workgroups of WG threads. Workgroup g handles row g / n_chunks,
//   items [c·chunk, min((c+1)·chunk, cols)) with c = g % n_chunks: each thread scans a strided slice
//   (ascending, strictly greater wins), then a tree reduction in workgroup memory.
// Bindings (group 0):
//   0  p    uniform             Params
//   1  src  storage, read       array<u32>  logits [rows × cols] (f32 bits) or pairs [rows × cols × 2]
//   2  dst  storage, read_write array<u32>  indices [rows] (FINAL) or pairs [rows × n_chunks × 2]
// Tunables: WG (override, power of two, default 256); PAIRS, FINAL (override bools, as above).
// Reference: src/reference/argmax.ts

struct Params {
  rows: u32,
  cols: u32,
  chunk: u32,
  n_chunks: u32,
}

override WG: u32 = 256;
override PAIRS: bool = false;
override FINAL: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

var<workgroup> wkey: array<u32, WG>;
var<workgroup> wnidx: array<u32, WG>;

// key(−∞) = ~0xff800000: the starting point "index 0 at −∞" is (KEY_NEG_INF, ~0u)
const KEY_NEG_INF: u32 = 0x007fffffu;

fn key_of(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return 0u; // NaN: below everything
  }
  let b = select(bits, 0u, bits == 0x80000000u); // −0 → +0
  return select(b ^ 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// (k, n) beats (bk, bn): larger key, then larger ~index (= smaller index)
fn beats(k: u32, n: u32, bk: u32, bn: u32) -> bool {
  return k > bk || (k == bk && n > bn);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.rows * p.n_chunks) {
    return;
  }
  let row = g / p.n_chunks;
  let begin = (g % p.n_chunks) * p.chunk;
  let end = min(begin + p.chunk, p.cols);
  let base = row * p.cols;

  var bk = KEY_NEG_INF;
  var bn = ~0u;
  for (var i = begin + lid; i < end; i += WG) {
    var k: u32;
    var n: u32;
    if (PAIRS) {
      k = src[2u * (base + i)];
      n = ~src[2u * (base + i) + 1u];
    } else {
      k = key_of(src[base + i]);
      n = ~i;
    }
    if (beats(k, n, bk, bn)) {
      bk = k;
      bn = n;
    }
  }
  wkey[lid] = bk;
  wnidx[lid] = bn;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride && beats(wkey[lid + stride], wnidx[lid + stride], wkey[lid], wnidx[lid])) {
      wkey[lid] = wkey[lid + stride];
      wnidx[lid] = wnidx[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    if (FINAL) {
      dst[row] = ~wnidx[0];
    } else {
      dst[2u * g] = wkey[0];
      dst[2u * g + 1u] = ~wnidx[0];
    }
  }
}

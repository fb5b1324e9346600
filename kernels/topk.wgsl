// topk: per row, the k largest logits as (index, value) pairs sorted by value descending, ties by
// lower index (k ≤ 256). Feeds the CPU sampler: only k pairs per token are read back.
//
// Order and special values (src/reference/topk.ts): the total order "value descending, then index
// ascending" of src/sampling/sampler.ts topIds, where NaN counts as −∞ (and is reported as −∞: a
// probability of 0 for the sampler) and −0 = +0 (reported as +0). Comparisons are on integers,
// never floats: each value becomes an order-preserving u32 key (sign-flipped bits), and an item is
// the 64-bit composite (key, ~index), unique per item, so the k largest composites are exactly the
// answer and no tie can depend on thread timing.
//
// Algorithm, per workgroup, over its list of items (a chunk of one row):
//   1. radix select of the k-th largest composite, 8 bits at a time from the top (key bits, then
//      ~index bits, which only matter when ties straddle the cut): a 256-bin histogram (workgroup
//      atomics) of the items matching the prefix chosen so far, a suffix sum, the bin holding the
//      k-th → one more digit of the threshold T. It stops as soon as a bin holds exactly the
//      remaining count (usually after 2–4 digits), leaving the digits below zero in T.
//   2. collect the items with composite ≥ T (exactly k_sel = min(k, list length) of them) in any
//      order (atomic slot counter),
//   3. bitonic sort of those ≤ 256 in workgroup memory by composite, descending; write them.
// Large rows with few rows (decoding) run as two dispatches (src/gpu/kernels/topk.ts): chunks of
// the row → k (key, index) pairs each (padded with (0, 0xffffffff), below every real item, when a
// chunk is shorter than k), then one workgroup per row over the n_chunks·k pairs. Each pass sees
// items as composites, so the second pass needs no ordering assumption on its input.
//
// Overrides select the pass (same bindings in both):
//   PAIRS = false: src holds the logits (f32 bits) [rows × cols]; item i is (key(src[r·cols + i]), i).
//   PAIRS = true:  src holds (key, index) pairs [rows × cols × 2] from a FINAL = false pass.
//   FINAL = false: dst[(g·k_out + j)·2 + {0, 1}] = (key, index) of the j-th best item of workgroup g.
//   FINAL = true:  dst[(g·k_out + j)·2 + {0, 1}] = (index, value bits); needs n_chunks = 1.
//
// Dispatch: grid1d(rows · n_chunks) workgroups of WG threads; workgroup g handles row g / n_chunks,
//   items [c·chunk, min((c+1)·chunk, cols)) with c = g % n_chunks.
// Bindings (group 0):
//   0  p    uniform             Params (k ≤ 256, k_out ≤ k; the launcher checks)
//   1  src  storage, read       array<u32>  logits [rows × cols] (f32 bits) or pairs [rows × cols × 2]
//   2  dst  storage, read_write array<u32>  pairs [rows × n_chunks × k_out × 2]
// Tunables: WG (override, any size, default 256: one thread per histogram bin); PAIRS, FINAL (override
//   bools, as above).
// Workgroup memory: 5 × 256 u32 + a few words (≈ 5 KiB).
// Reference: src/reference/topk.ts

struct Params {
  rows: u32,
  cols: u32,
  chunk: u32,
  n_chunks: u32,
  k: u32,
  k_out: u32,
}

override WG: u32 = 256;
override PAIRS: bool = false;
override FINAL: bool = false;

const BINS: u32 = 256u;
const MAX_K: u32 = 256u;
// key(−∞) = ~0xff800000; NaN gets it too. The padding item (0, ~0xffffffff = 0) is below it.
const KEY_NEG_INF: u32 = 0x007fffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

var<workgroup> hist: array<atomic<u32>, BINS>;
var<workgroup> scan: array<array<u32, BINS>, 2>;
var<workgroup> cand_key: array<u32, MAX_K>;
var<workgroup> cand_nidx: array<u32, MAX_K>;
var<workgroup> count: atomic<u32>;
// selection state: threshold (t_key, t_nidx), items still to take below the chosen prefix
var<workgroup> t_key: u32;
var<workgroup> t_nidx: u32;
var<workgroup> remaining: u32;
var<workgroup> done: u32;
var<workgroup> sel_digit: u32;
var<workgroup> sel_take: u32;
var<workgroup> sel_count: u32;

fn key_of(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return KEY_NEG_INF; // NaN ranks as −∞
  }
  let b = select(bits, 0u, bits == 0x80000000u); // −0 → +0
  return select(b ^ 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn value_bits(key: u32) -> u32 {
  return select(~key, key ^ 0x80000000u, (key & 0x80000000u) != 0u);
}

// item i of the list that starts at row offset `base`: (key, ~index)
fn item(base: u32, i: u32) -> vec2<u32> {
  if (PAIRS) {
    return vec2<u32>(src[2u * (base + i)], ~src[2u * (base + i) + 1u]);
  }
  return vec2<u32>(key_of(src[base + i]), ~i);
}

// bits of a u32 above digit j (j = 0: the top 8 bits): ~0 << (32 − 8j), no shift by 32
fn above(j: u32) -> u32 {
  return select(0xffffffffu << (32u - 8u * j), 0u, j == 0u);
}

// digit d (0‥7, from the top of the 64-bit composite) of `it`, or BINS when `it` does not match the
// threshold prefix chosen by digits 0‥d−1
fn digit(it: vec2<u32>, d: u32, tk: u32, tn: u32) -> u32 {
  if (d < 4u) {
    let m = above(d);
    return select(BINS, (it.x >> (24u - 8u * d)) & 0xffu, (it.x & m) == (tk & m));
  }
  let m = above(d - 4u);
  return select(BINS, (it.y >> (24u - 8u * (d - 4u))) & 0xffu, it.x == tk && (it.y & m) == (tn & m));
}

fn greater(ak: u32, an: u32, bk: u32, bn: u32) -> bool {
  return ak > bk || (ak == bk && an > bn);
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
  let k_sel = min(min(p.k, end - begin), MAX_K);

  if (lid == 0u) {
    t_key = 0u;
    t_nidx = 0u;
    remaining = k_sel;
    done = 0u;
    atomicStore(&count, 0u);
  }

  // 1. radix select of the k_sel-th largest composite
  for (var d = 0u; d < 8u; d++) {
    for (var b = lid; b < BINS; b += WG) {
      atomicStore(&hist[b], 0u);
    }
    workgroupBarrier();
    let tk = t_key;
    let tn = t_nidx;
    for (var i = begin + lid; i < end; i += WG) {
      let dg = digit(item(base, i), d, tk, tn);
      if (dg < BINS) {
        atomicAdd(&hist[dg], 1u);
      }
    }
    workgroupBarrier();
    for (var b = lid; b < BINS; b += WG) {
      scan[0][b] = atomicLoad(&hist[b]);
    }
    workgroupBarrier();
    // suffix sums: scan[s][b] = Σ_{b' ≥ b} hist[b'] (Hillis–Steele, ping-pong)
    var s = 0u;
    for (var step = 1u; step < BINS; step <<= 1u) {
      for (var b = lid; b < BINS; b += WG) {
        let j = b + step;
        scan[1u - s][b] = scan[s][b] + select(0u, scan[s][min(j, BINS - 1u)], j < BINS);
      }
      workgroupBarrier();
      s = 1u - s;
    }
    // the bin holding the remaining-th largest: suffix(b) ≥ need > suffix(b + 1)
    let need = remaining;
    for (var b = lid; b < BINS; b += WG) {
      let hi = scan[s][b];
      let lo = select(0u, scan[s][min(b + 1u, BINS - 1u)], b + 1u < BINS);
      if (hi >= need && lo < need) {
        sel_digit = b;
        sel_take = need - lo;
        sel_count = hi - lo;
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      if (d < 4u) {
        t_key |= sel_digit << (24u - 8u * d);
      } else {
        t_nidx |= sel_digit << (24u - 8u * (d - 4u));
      }
      remaining = sel_take;
      // the whole bin is taken: every item with this prefix is ≥ the prefix followed by zeros
      done = select(0u, 1u, sel_count == sel_take);
    }
    if (workgroupUniformLoad(&done) != 0u) {
      break;
    }
  }

  // 2. collect the k_sel items ≥ threshold
  let tk = t_key;
  let tn = t_nidx;
  for (var i = begin + lid; i < end; i += WG) {
    let it = item(base, i);
    if (greater(it.x, it.y, tk, tn) || (it.x == tk && it.y == tn)) {
      let slot = atomicAdd(&count, 1u);
      if (slot < k_sel) {
        cand_key[slot] = it.x;
        cand_nidx[slot] = it.y;
      }
    }
  }
  // 3. bitonic sort, descending, over the next power of two (padding (0, 0) sorts last)
  var n2 = 1u;
  while (n2 < k_sel) {
    n2 <<= 1u;
  }
  workgroupBarrier();
  for (var j = k_sel + lid; j < n2; j += WG) {
    cand_key[j] = 0u;
    cand_nidx[j] = 0u;
  }
  workgroupBarrier();
  for (var size = 2u; size <= n2; size <<= 1u) {
    for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
      for (var t = lid; t < n2 / 2u; t += WG) {
        let a = 2u * stride * (t / stride) + t % stride;
        let b = a + stride;
        let descending = (a & size) == 0u;
        let ka = cand_key[a];
        let na = cand_nidx[a];
        let kb = cand_key[b];
        let nb = cand_nidx[b];
        if (greater(kb, nb, ka, na) == descending) {
          cand_key[a] = kb;
          cand_nidx[a] = nb;
          cand_key[b] = ka;
          cand_nidx[b] = na;
        }
      }
      workgroupBarrier();
    }
  }
  for (var j = lid; j < p.k_out; j += WG) {
    let o = 2u * (g * p.k_out + j);
    let real = j < k_sel;
    let key = select(0u, cand_key[min(j, MAX_K - 1u)], real);
    let idx = select(0xffffffffu, ~cand_nidx[min(j, MAX_K - 1u)], real);
    if (FINAL) {
      dst[o] = idx;
      dst[o + 1u] = value_bits(key);
    } else {
      dst[o] = key;
      dst[o + 1u] = idx;
    }
  }
}

// matmul_subgroup: y[t, o] = Σ_i W[o, i] · x[t, i] (+ bias[o])     (the matrix product, with subgroups)
//
// One subgroup per output row at a time: the lanes walk the row's chunks side by side (lane j takes
// chunks j, j + S, …, so neighbouring lanes read neighbouring words: coalesced on a GPU, one vector
// load per SIMD group on a CPU adapter), each lane dequantizes its chunk in registers and keeps up to
// TOKENS partial sums, and subgroupAdd combines the lanes. No workgroup memory, no barrier. A
// subgroup handles ROWS rows one after the other; a workgroup holds WG / S subgroups. Used when the
// device has the `subgroups` feature (src/gpu/kernels/matmul.ts); kernels/matmul.wgsl otherwise.
// Subgroup k of a workgroup is taken to be invocations [k·S, (k+1)·S) (what every implementation
// does for a 1-D workgroup); the test suite would catch an implementation that does otherwise.
//
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W.
// Dispatch: grid1d(⌈rows / (ROWS · WG / S)⌉) workgroups of WG threads, S = the subgroup size
//   (the launcher plans with the adapter's smallest subgroup size, so there are never too few
//   workgroups; rows past `rows` are skipped).
// Bindings (group 0):
//   0  p     uniform             Params
//   1  W     storage, read       array<u32>  weight [rows × cols], GPU layout of src/gpu/repack.ts
//   2  x     storage, read       array<f32>  [n_tokens × cols]
//   3  bias  storage, read       array<f32>  [rows] when has_bias = 1; otherwise any buffer (not read)
//   4  y     storage, read_write array<f32>  [n_tokens × rows]
// Tunables (override): WG threads per workgroup (a multiple of the subgroup size, default 64);
//   ROWS rows per subgroup (default 4); TOKENS 1 (decode) or 4 (prefill: four sums per lane).
// Reference: src/reference/matmul.ts

enable subgroups;
// subgroupAdd below runs where every lane of a subgroup agrees (its row loop is per subgroup);
// the analysis cannot see that subgroups are contiguous ranges of invocations
diagnostic(off, subgroup_uniformity);

struct Params {
  cols: u32,
  rows: u32,
  n_tokens: u32,
  d_off: u32,
  has_bias: u32,
  /** subgroups per workgroup the grid was planned with (WG / the smallest subgroup size) */
  sg_per_wg: u32,
}

override WG: u32 = 64;
override ROWS: u32 = 4;
override TOKENS: u32 = 1;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
  @builtin(subgroup_size) S: u32,
) {
  let sg = lid / S;
  let n_sg = WG / S;
  let cols = p.cols;
  let n = p.n_tokens;
  let full = cols / CHUNK;
  // with larger subgroups than planned, a workgroup has fewer of them: they cover the planned rows in turn
  let wg_row0 = (wid.x + wid.y * nwg.x) * p.sg_per_wg * ROWS;
  for (var s = sg; s < p.sg_per_wg; s += n_sg) {
    for (var r = 0u; r < ROWS; r++) {
      let row = wg_row0 + s * ROWS + r;
      if (row >= p.rows) {
        break; // uniform across the subgroup
      }
      var b = 0.0;
      if (p.has_bias == 1u) {
        b = bias[row];
      }
      for (var t0 = 0u; t0 < n; t0 += TOKENS) {
        let x0 = t0 * cols;
        let x1 = min(t0 + 1u, n - 1u) * cols;
        let x2 = min(t0 + 2u, n - 1u) * cols;
        let x3 = min(t0 + 3u, n - 1u) * cols;
        var a0 = 0.0;
        var a1 = 0.0;
        var a2 = 0.0;
        var a3 = 0.0;
        for (var c = lane; c < full; c += S) {
          let w = load_chunk(row, c, cols, p.d_off);
          let i0 = c * CHUNK;
          for (var k = 0u; k < CHUNK; k++) {
            a0 = fma(w[k], x[x0 + i0 + k], a0);
            if (TOKENS > 1u) {
              a1 = fma(w[k], x[x1 + i0 + k], a1);
              a2 = fma(w[k], x[x2 + i0 + k], a2);
              a3 = fma(w[k], x[x3 + i0 + k], a3);
            }
          }
        }
        // the < CHUNK values after the last whole chunk (float types with cols % 4 ≠ 0)
        let i = full * CHUNK + lane;
        if (i < cols) {
          let w = load_one(row, i, cols, p.d_off);
          a0 = fma(w, x[x0 + i], a0);
          if (TOKENS > 1u) {
            a1 = fma(w, x[x1 + i], a1);
            a2 = fma(w, x[x2 + i], a2);
            a3 = fma(w, x[x3 + i], a3);
          }
        }
        let s0 = subgroupAdd(a0);
        var s1 = 0.0;
        var s2 = 0.0;
        var s3 = 0.0;
        if (TOKENS > 1u) {
          s1 = subgroupAdd(a1);
          s2 = subgroupAdd(a2);
          s3 = subgroupAdd(a3);
        }
        if (lane == 0u) {
          y[t0 * p.rows + row] = s0 + b;
          if (TOKENS > 1u) {
            if (t0 + 1u < n) {
              y[(t0 + 1u) * p.rows + row] = s1 + b;
            }
            if (t0 + 2u < n) {
              y[(t0 + 2u) * p.rows + row] = s2 + b;
            }
            if (t0 + 3u < n) {
              y[(t0 + 3u) * p.rows + row] = s3 + b;
            }
          }
        }
      }
    }
  }
}

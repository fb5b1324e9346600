// matmul_subgroup: y[t, o] = add[t, o] + Σ_i W[o, i] · x'[t, i] + bias[o]     (the matrix product, with subgroups)
//   x' = x, or with NORM = 1 the RMSNorm of x: x'[t, i] = x[t, i] · s_t · g[i], s_t = 1/sqrt(mean_i x[t, i]² + eps),
//   evaluated as y = s_t · Σ_i (W[o, i]·g[i]) · x[t, i]; each lane sums the squares of the x values it
//   loads anyway, and subgroupAdd combines them with the dot products. bias and add are optional.
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
//   5  g       storage, read     array<f32>  [cols] RMSNorm weight when NORM = 1; otherwise any buffer (not read)
//   6  addend  storage, read     array<f32>  [n_tokens × rows] when has_add = 1; otherwise any buffer (not read)
// Tunables (override): WG threads per workgroup (a multiple of the subgroup size, default 64);
//   ROWS rows per subgroup (default 4); TOKENS 1 (decode) or 4 (prefill: four sums per lane);
//   NORM 0 or 1 (the RMSNorm prologue).
// Reference: src/reference/matmul.ts (with NORM: src/reference/rms_norm.ts first; has_add: src/reference/add.ts after)

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
  has_add: u32,
  eps: f32,
}

override WG: u32 = 64;
override ROWS: u32 = 4;
override TOKENS: u32 = 1;
override NORM: u32 = 0;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> addend: array<f32>;

// y[tok, row] = s·a + b (+ addend), s from the subgroup's sum of squares q when NORM = 1
fn store(tok: u32, row: u32, a: f32, q: f32, b: f32) {
  var v = a;
  if (NORM == 1u) {
    v *= inverseSqrt(q / f32(p.cols) + p.eps);
  }
  v += b;
  let o = tok * p.rows + row;
  if (p.has_add == 1u) {
    v += addend[o];
  }
  y[o] = v;
}

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
        // this lane's sums of squares of the x rows (NORM)
        var q0 = 0.0;
        var q1 = 0.0;
        var q2 = 0.0;
        var q3 = 0.0;
        for (var c = lane; c < full; c += S) {
          let w = load_chunk(row, c, cols, p.d_off);
          let i0 = c * CHUNK;
          for (var k = 0u; k < CHUNK; k++) {
            let v0 = x[x0 + i0 + k];
            var wk = w[k];
            if (NORM == 1u) {
              wk *= g[i0 + k];
              q0 = fma(v0, v0, q0);
            }
            a0 = fma(wk, v0, a0);
            if (TOKENS > 1u) {
              let v1 = x[x1 + i0 + k];
              let v2 = x[x2 + i0 + k];
              let v3 = x[x3 + i0 + k];
              a1 = fma(wk, v1, a1);
              a2 = fma(wk, v2, a2);
              a3 = fma(wk, v3, a3);
              if (NORM == 1u) {
                q1 = fma(v1, v1, q1);
                q2 = fma(v2, v2, q2);
                q3 = fma(v3, v3, q3);
              }
            }
          }
        }
        // the < CHUNK values after the last whole chunk (float types with cols % 4 ≠ 0)
        let i = full * CHUNK + lane;
        if (i < cols) {
          var w = load_one(row, i, cols, p.d_off);
          if (NORM == 1u) {
            w *= g[i];
          }
          let v0 = x[x0 + i];
          a0 = fma(w, v0, a0);
          q0 = fma(v0, v0, q0);
          if (TOKENS > 1u) {
            let v1 = x[x1 + i];
            let v2 = x[x2 + i];
            let v3 = x[x3 + i];
            a1 = fma(w, v1, a1);
            a2 = fma(w, v2, a2);
            a3 = fma(w, v3, a3);
            q1 = fma(v1, v1, q1);
            q2 = fma(v2, v2, q2);
            q3 = fma(v3, v3, q3);
          }
        }
        let s0 = subgroupAdd(a0);
        var s1 = 0.0;
        var s2 = 0.0;
        var s3 = 0.0;
        var r0 = 0.0;
        var r1 = 0.0;
        var r2 = 0.0;
        var r3 = 0.0;
        if (TOKENS > 1u) {
          s1 = subgroupAdd(a1);
          s2 = subgroupAdd(a2);
          s3 = subgroupAdd(a3);
        }
        if (NORM == 1u) {
          r0 = subgroupAdd(q0);
          if (TOKENS > 1u) {
            r1 = subgroupAdd(q1);
            r2 = subgroupAdd(q2);
            r3 = subgroupAdd(q3);
          }
        }
        if (lane == 0u) {
          store(t0, row, s0, r0, b);
          if (TOKENS > 1u) {
            if (t0 + 1u < n) {
              store(t0 + 1u, row, s1, r1, b);
            }
            if (t0 + 2u < n) {
              store(t0 + 2u, row, s2, r2, b);
            }
            if (t0 + 3u < n) {
              store(t0 + 3u, row, s3, r3, b);
            }
          }
        }
      }
    }
  }
}

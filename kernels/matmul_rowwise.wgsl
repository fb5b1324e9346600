// matmul_rowwise: y[t, o] = add[t, o] + Σ_i W[o, i] · x'[t, i] + bias[o]     (the matrix product, plan for CPU adapters)
//   x' = x, or with NORM = 1 the RMSNorm of x: x'[t, i] = x[t, i] · s_t · g[i], s_t = 1/sqrt(mean_i x[t, i]² + eps),
//   evaluated as y = s_t · Σ_i (W[o, i]·g[i]) · x[t, i]: Σx² is accumulated in the same pass over x as the
//   dot product. bias and add are optional (has_bias, has_add).
//
// The same product as kernels/matmul.wgsl, for WebGPU implementations that run on the CPU
// (SwiftShader, llvmpipe): there every invocation and every workgroup barrier has a fixed cost of
// microseconds, and a core reads one weight row sequentially at full speed. So each invocation owns
// one output row: it walks the whole row once (dequantizing chunk by chunk with the library) for up
// to TOKENS tokens at a time, with no workgroup memory and no barrier. On a GPU this layout would be
// uncoalesced; src/gpu/kernels/matmul.ts picks it only for CPU adapters (isCpuAdapter). With NORM every
// invocation redoes Σx² and W·g for its own row: ~1.5× the time per weight on SwiftShader, so the
// backend runs a separate rms_norm on CPU adapters by default (GpuBackend's normPrologue) and NORM
// serves the GPU structure there (test/gpu/cost.spec.ts) and the tests.
//
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W.
// Dispatch: grid1d(⌈rows / WG⌉) workgroups of WG threads; thread → output row
//   (wid.x + wid.y·nwg.x)·WG + lid; rows past `rows` return at once.
// Bindings (group 0):
//   0  p       uniform             Params
//   1  W       storage, read       array<u32>  weight [rows × cols], GPU layout of src/gpu/repack.ts
//   2  x       storage, read       array<f32>  [n_tokens × cols]
//   3  bias    storage, read       array<f32>  [rows] when has_bias = 1; otherwise any buffer (not read)
//   4  y       storage, read_write array<f32>  [n_tokens × rows]
//   5  g       storage, read       array<f32>  [cols] RMSNorm weight when NORM = 1; otherwise any buffer (not read)
//   6  addend  storage, read       array<f32>  [n_tokens × rows] when has_add = 1; otherwise any buffer (not read)
// Tunables (override): WG threads per workgroup (default 64); TOKENS 1 (decode) or 4 (prefill:
//   four accumulators, each weight chunk used for four tokens); NORM 0 or 1 (the RMSNorm prologue).
// Reference: src/reference/matmul.ts (with NORM: src/reference/rms_norm.ts first; has_add: src/reference/add.ts after)

struct Params {
  cols: u32,
  rows: u32,
  n_tokens: u32,
  d_off: u32,
  has_bias: u32,
  has_add: u32,
  eps: f32,
}

override WG: u32 = 64;
override TOKENS: u32 = 1;
override NORM: u32 = 0;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> addend: array<f32>;

// y[tok, row] = s·a + b (+ addend), s from the sum of squares q when NORM = 1
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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x) * WG + lid;
  if (row >= p.rows) {
    return;
  }
  let cols = p.cols;
  let n = p.n_tokens;
  let full = cols / CHUNK;
  var b = 0.0;
  if (p.has_bias == 1u) {
    b = bias[row];
  }
  for (var t0 = 0u; t0 < n; t0 += TOKENS) {
    // token rows (clamped; a clamped token is computed and not written)
    let x0 = t0 * cols;
    let x1 = min(t0 + 1u, n - 1u) * cols;
    let x2 = min(t0 + 2u, n - 1u) * cols;
    let x3 = min(t0 + 3u, n - 1u) * cols;
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    // sums of squares of the x rows (NORM)
    var q0 = 0.0;
    var q1 = 0.0;
    var q2 = 0.0;
    var q3 = 0.0;
    for (var c = 0u; c < full; c++) {
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
    for (var i = full * CHUNK; i < cols; i++) {
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
    store(t0, row, a0, q0, b);
    if (TOKENS > 1u) {
      if (t0 + 1u < n) {
        store(t0 + 1u, row, a1, q1, b);
      }
      if (t0 + 2u < n) {
        store(t0 + 2u, row, a2, q2, b);
      }
      if (t0 + 3u < n) {
        store(t0 + 3u, row, a3, q3, b);
      }
    }
  }
}

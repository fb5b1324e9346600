// matmul_rowwise: y[t, o] = add[t, o] + Σ_i W[o, i] · x'[t, i] + bias[o]     (the matrix product, plan for CPU adapters)
//   x' = x, or with NORM = 1 the RMSNorm of x: x'[t, i] = x[t, i] · s_t · g[i], s_t = 1/sqrt(mean_i x[t, i]² + eps).
//   bias and add are optional (has_bias, has_add).
//
// The same product as kernels/matmul.wgsl, for WebGPU implementations that run on the CPU
// (SwiftShader, llvmpipe): there every invocation and every workgroup barrier has a fixed cost of
// microseconds, and a core reads one weight row sequentially at full speed. So each invocation owns
// one output row: it walks the whole row once (dequantizing chunk by chunk with the library) for up
// to TOKENS tokens at a time; without NORM there is no workgroup memory and no barrier. On a GPU this
// layout would be uncoalesced; src/gpu/kernels/matmul.ts picks it only for CPU adapters (isCpuAdapter).
//
// NORM: the workgroup first writes x' of the token group to workgroup memory (xs), and every invocation
// reads it in place of x, so the norm is computed once per workgroup, not once per row. (Done per row,
// in the pass over x as the other plans do, it took ~1.5× the time of the plain product on SwiftShader,
// a CPU adapter being bound by that arithmetic; this way ~1.02–1.04×, about what a separate rms_norm
// dispatch costs.) Per token group: PARTS invocations sum the squares of interleaved slices of each x
// row → part; barrier; every invocation adds the PARTS partial sums → s_t and writes its slice of
// x' = x·s_t·g → xs; barrier (and one more before the next group overwrites xs). Every invocation takes
// part in the barriers, so none returns early: rows past `rows` are computed on a clamped row and not
// written.
//
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W.
// Dispatch: grid1d(⌈rows / WG⌉) workgroups of WG threads; thread → output row
//   (wid.x + wid.y·nwg.x)·WG + lid.
// Bindings (group 0):
//   0  p       uniform             Params
//   1  W       storage, read       array<u32>  weight [rows × cols], GPU layout of src/gpu/repack.ts
//   2  x       storage, read       array<f32>  [n_tokens × cols]
//   3  bias    storage, read       array<f32>  [rows] when has_bias = 1; otherwise any buffer (not read)
//   4  y       storage, read_write array<f32>  [n_tokens × rows]
//   5  g       storage, read       array<f32>  [cols] RMSNorm weight when NORM = 1; otherwise any buffer (not read)
//   6  addend  storage, read       array<f32>  [n_tokens × rows] when has_add = 1; otherwise any buffer (not read)
// Tunables (override): WG threads per workgroup (default 64); TOKENS 1 (decode) or 4 (prefill:
//   four accumulators, each weight chunk used for four tokens); NORM 0 or 1 (the RMSNorm prologue);
//   XS with NORM the workgroup copy of x': ≥ TOKENS·cols values (the launcher checks it against
//   maxComputeWorkgroupStorageSize), else 1. Workgroup memory with NORM: 4·(XS + 8·TOKENS) bytes.
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
override XS: u32 = 1;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> addend: array<f32>;

// NORM: x' of the token group, token t at xs[t·cols + i]; partial Σx² of token t at part[t·PARTS + j]
// (sized 1 without NORM: WebGPU zero-fills workgroup memory for every workgroup)
var<workgroup> xs: array<f32, XS>;
var<workgroup> part: array<f32, NORM * PARTS * TOKENS + 1u - NORM>;

// invocations that sum squares of x (a few: every invocation then adds their PARTS partial sums)
const PARTS: u32 = 8u;

fn store(tok: u32, row: u32, a: f32, b: f32) {
  var v = a + b;
  let o = tok * p.rows + row;
  if (p.has_add == 1u) {
    v += addend[o];
  }
  y[o] = v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let out_row = (wid.x + wid.y * nwg.x) * WG + lid;
  // no early return: with NORM every invocation takes part in the barriers (and WGSL's uniformity
  // analysis cannot see that NORM = 0 has none)
  let writes = out_row < p.rows;
  let row = min(out_row, p.rows - 1u);
  let cols = p.cols;
  let n = p.n_tokens;
  let full = cols / CHUNK;
  var b = 0.0;
  if (p.has_bias == 1u) {
    b = bias[row];
  }
  for (var t0 = 0u; t0 < n; t0 += TOKENS) {
    // token rows (clamped; a clamped token is computed and not written), in x, or in xs with NORM
    var x0 = t0 * cols;
    var x1 = min(t0 + 1u, n - 1u) * cols;
    var x2 = min(t0 + 2u, n - 1u) * cols;
    var x3 = min(t0 + 3u, n - 1u) * cols;
    if (NORM == 1u) {
      if (t0 > 0u) {
        workgroupBarrier(); // the previous token group's reads of xs are done
      }
      if (lid < PARTS) {
        for (var t = 0u; t < TOKENS; t++) {
          let xr = min(t0 + t, n - 1u) * cols;
          var s = 0.0;
          for (var i = lid; i < cols; i += PARTS) {
            let v = x[xr + i];
            s = fma(v, v, s);
          }
          part[t * PARTS + lid] = s;
        }
      }
      workgroupBarrier();
      for (var t = 0u; t < TOKENS; t++) {
        let xr = min(t0 + t, n - 1u) * cols;
        var q = 0.0;
        for (var k = 0u; k < PARTS; k++) {
          q += part[t * PARTS + k];
        }
        let sc = inverseSqrt(q / f32(cols) + p.eps);
        for (var i = lid; i < cols; i += WG) {
          xs[t * cols + i] = x[xr + i] * sc * g[i];
        }
      }
      workgroupBarrier();
      x0 = 0u;
      x1 = cols;
      x2 = 2u * cols;
      x3 = 3u * cols;
    }
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    for (var c = 0u; c < full; c++) {
      let w = load_chunk(row, c, cols, p.d_off);
      let i0 = c * CHUNK;
      for (var k = 0u; k < CHUNK; k++) {
        a0 = fma(w[k], xv(x0 + i0 + k), a0);
        if (TOKENS > 1u) {
          a1 = fma(w[k], xv(x1 + i0 + k), a1);
          a2 = fma(w[k], xv(x2 + i0 + k), a2);
          a3 = fma(w[k], xv(x3 + i0 + k), a3);
        }
      }
    }
    // the < CHUNK values after the last whole chunk (float types with cols % 4 ≠ 0)
    for (var i = full * CHUNK; i < cols; i++) {
      let w = load_one(row, i, cols, p.d_off);
      a0 = fma(w, xv(x0 + i), a0);
      if (TOKENS > 1u) {
        a1 = fma(w, xv(x1 + i), a1);
        a2 = fma(w, xv(x2 + i), a2);
        a3 = fma(w, xv(x3 + i), a3);
      }
    }
    if (writes) {
      store(t0, row, a0, b);
      if (TOKENS > 1u) {
        if (t0 + 1u < n) {
          store(t0 + 1u, row, a1, b);
        }
        if (t0 + 2u < n) {
          store(t0 + 2u, row, a2, b);
        }
        if (t0 + 3u < n) {
          store(t0 + 3u, row, a3, b);
        }
      }
    }
  }
}

// value e of the input rows: x, or its normalized copy in workgroup memory (NORM)
fn xv(e: u32) -> f32 {
  if (NORM == 1u) {
    return xs[e];
  }
  return x[e];
}

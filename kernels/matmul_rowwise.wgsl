// matmul_rowwise: y[t, o] = Σ_i W[o, i] · x[t, i] (+ bias[o])     (the matrix product, plan for CPU adapters)
//
// The same product as kernels/matmul.wgsl, for WebGPU implementations that run on the CPU
// (SwiftShader, llvmpipe): there every invocation and every workgroup barrier has a fixed cost of
// microseconds, and a core reads one weight row sequentially at full speed. So each invocation owns
// one output row: it walks the whole row once (dequantizing chunk by chunk with the library) for up
// to TOKENS tokens at a time, with no workgroup memory and no barrier. On a GPU this layout would be
// uncoalesced; src/gpu/kernels/matmul.ts picks it only for CPU adapters (isCpuAdapter).
//
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W.
// Dispatch: grid1d(⌈rows / WG⌉) workgroups of WG threads; thread → output row
//   (wid.x + wid.y·nwg.x)·WG + lid; rows past `rows` return at once.
// Bindings (group 0):
//   0  p     uniform             Params
//   1  W     storage, read       array<u32>  weight [rows × cols], GPU layout of src/gpu/repack.ts
//   2  x     storage, read       array<f32>  [n_tokens × cols]
//   3  bias  storage, read       array<f32>  [rows] when has_bias = 1; otherwise any buffer (not read)
//   4  y     storage, read_write array<f32>  [n_tokens × rows]
// Tunables (override): WG threads per workgroup (default 64); TOKENS 1 (decode) or 4 (prefill:
//   four accumulators, each weight chunk used for four tokens).
// Reference: src/reference/matmul.ts

struct Params {
  cols: u32,
  rows: u32,
  n_tokens: u32,
  d_off: u32,
  has_bias: u32,
}

override WG: u32 = 64;
override TOKENS: u32 = 1;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

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
    for (var c = 0u; c < full; c++) {
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
    for (var i = full * CHUNK; i < cols; i++) {
      let w = load_one(row, i, cols, p.d_off);
      a0 = fma(w, x[x0 + i], a0);
      if (TOKENS > 1u) {
        a1 = fma(w, x[x1 + i], a1);
        a2 = fma(w, x[x2 + i], a2);
        a3 = fma(w, x[x3 + i], a3);
      }
    }
    y[t0 * p.rows + row] = a0 + b;
    if (TOKENS > 1u) {
      if (t0 + 1u < n) {
        y[(t0 + 1u) * p.rows + row] = a1 + b;
      }
      if (t0 + 2u < n) {
        y[(t0 + 2u) * p.rows + row] = a2 + b;
      }
      if (t0 + 3u < n) {
        y[(t0 + 3u) * p.rows + row] = a3 + b;
      }
    }
  }
}

// matmul_rowwise: y[t, o] = add[t, o] + Σ_i W[o, i] · x'[t, i] + bias[o]     (the matrix product, plan for CPU adapters)
//   x' = x, or with NORM = 1 the RMSNorm of x: x'[t, i] = x[t, i] · s_t · g[i], s_t = 1/sqrt(mean_i x[t, i]² + eps).
//   bias and add are optional (has_bias, has_add).
//
// The same product as kernels/matmul.wgsl, for WebGPU implementations that run on the CPU
// (SwiftShader, llvmpipe): there every invocation and every workgroup barrier has a fixed cost of
// microseconds, a core reads one weight row sequentially at full speed, and every load an invocation
// makes is a load per lane (SwiftShader runs 4 invocations as the 4 lanes of a SIMD vector and
// gathers). So each invocation owns ROWS consecutive output rows and walks them once (dequantizing
// chunk by chunk with the library) for up to TOKENS tokens at a time: each chunk of x is loaded once
// for the ROWS rows, and multiplied as two vec4 dot products (measured with `npm run bench:matvec`
// on SwiftShader: ROWS = 4 takes ~⅓ the time of ROWS = 1 with scalar fmas for the SmolLM2 gate|up
// product). Without NORM there is no workgroup memory and no barrier. On a GPU this layout would be
// uncoalesced; src/gpu/kernels/matmul.ts picks it only for CPU adapters (isCpuAdapter).
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
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W, and
// kernels/lib/matmul_store.wgsl (store, store_row).
// Dispatch: grid1d(⌈rows / (WG·ROWS)⌉) workgroups of WG threads; thread → output rows
//   first .. first + ROWS − 1, first = ((wid.x + wid.y·nwg.x)·WG + lid)·ROWS.
// Bindings (group 0):
//   0  p       uniform             Params
//   1  W       storage, read       array<u32>  weight [rows × cols], GPU layout of src/gpu/repack.ts
//   2  x       storage, read       array<f32>  [n_tokens × cols]
//   3  bias    storage, read       array<f32>  [rows] when has_bias = 1; otherwise any buffer (not read)
//   4  y       storage, read_write array<f32>  [n_tokens × rows]
//   5  g       storage, read       array<f32>  [cols] RMSNorm weight when NORM = 1; otherwise any buffer (not read)
//   6  addend  storage, read       array<f32>  [n_tokens × rows] when has_add = 1; otherwise any buffer (not read)
// Tunables (override): WG threads per workgroup (default 64); ROWS 1, 2 or 4 rows per invocation
//   (src/gpu/kernels/matmul.ts rowwisePlan); TOKENS 1 (decode) or 4 (prefill:
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
override ROWS: u32 = 1;

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

// the CHUNK values of x at e (CHUNK 8: two vec4s; CHUNK 4: the second is not used)
struct XChunk {
  a: vec4<f32>,
  b: vec4<f32>,
}

fn xchunk(e: u32) -> XChunk {
  var c: XChunk;
  c.a = vec4<f32>(xv(e), xv(e + 1u), xv(e + 2u), xv(e + 3u));
  if (CHUNK == 8u) {
    c.b = vec4<f32>(xv(e + 4u), xv(e + 5u), xv(e + 6u), xv(e + 7u));
  }
  return c;
}

fn dot_chunk(w: array<f32, CHUNK>, x: XChunk) -> f32 {
  var d = dot(vec4<f32>(w[0], w[1], w[2], w[3]), x.a);
  if (CHUNK == 8u) {
    // min(): constant indices must be in bounds even where CHUNK = 4 makes this code dead
    d += dot(vec4<f32>(w[min(4u, CHUNK - 1u)], w[min(5u, CHUNK - 1u)], w[min(6u, CHUNK - 1u)], w[min(7u, CHUNK - 1u)]), x.b);
  }
  return d;
}

// one weight chunk times the chunk of x of each token of the group: component t is token t0 + t
fn dots(w: array<f32, CHUNK>, x0: XChunk, x1: XChunk, x2: XChunk, x3: XChunk) -> vec4<f32> {
  var d = vec4<f32>(dot_chunk(w, x0), 0.0, 0.0, 0.0);
  if (TOKENS > 1u) {
    d.y = dot_chunk(w, x1);
    d.z = dot_chunk(w, x2);
    d.w = dot_chunk(w, x3);
  }
  return d;
}

// the < CHUNK values after the last whole chunk (float types with cols % 4 ≠ 0), for one row
fn tail(row: u32, x0: u32, x1: u32, x2: u32, x3: u32) -> vec4<f32> {
  var d = vec4<f32>();
  for (var i = (p.cols / CHUNK) * CHUNK; i < p.cols; i++) {
    let w = load_one(row, i, p.cols, p.d_off);
    d.x = fma(w, xv(x0 + i), d.x);
    if (TOKENS > 1u) {
      d.y = fma(w, xv(x1 + i), d.y);
      d.z = fma(w, xv(x2 + i), d.z);
      d.w = fma(w, xv(x3 + i), d.w);
    }
  }
  return d;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let first = ((wid.x + wid.y * nwg.x) * WG + lid) * ROWS;
  // no early return: with NORM every invocation takes part in the barriers (and WGSL's uniformity
  // analysis cannot see that NORM = 0 has none); rows past the end are computed on a clamped row
  // and not written (store_row)
  let last = p.rows - 1u;
  let r0 = min(first, last);
  let r1 = min(first + 1u, last);
  let r2 = min(first + 2u, last);
  let r3 = min(first + 3u, last);
  let cols = p.cols;
  let n = p.n_tokens;
  let full = cols / CHUNK;
  var b = vec4<f32>();
  if (p.has_bias == 1u) {
    b = vec4<f32>(bias[r0], bias[r1], bias[r2], bias[r3]);
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
    // a<r>: row first + r; component t: token t0 + t
    var a0 = vec4<f32>();
    var a1 = vec4<f32>();
    var a2 = vec4<f32>();
    var a3 = vec4<f32>();
    for (var c = 0u; c < full; c++) {
      // the chunk of x of each token, loaded once for the ROWS rows
      let i0 = c * CHUNK;
      let c0 = xchunk(x0 + i0);
      var c1 = c0;
      var c2 = c0;
      var c3 = c0;
      if (TOKENS > 1u) {
        c1 = xchunk(x1 + i0);
        c2 = xchunk(x2 + i0);
        c3 = xchunk(x3 + i0);
      }
      a0 += dots(load_chunk(r0, c, cols, p.d_off), c0, c1, c2, c3);
      if (ROWS > 1u) {
        a1 += dots(load_chunk(r1, c, cols, p.d_off), c0, c1, c2, c3);
      }
      if (ROWS > 2u) {
        a2 += dots(load_chunk(r2, c, cols, p.d_off), c0, c1, c2, c3);
        a3 += dots(load_chunk(r3, c, cols, p.d_off), c0, c1, c2, c3);
      }
    }
    if (full * CHUNK < cols) {
      a0 += tail(r0, x0, x1, x2, x3);
      if (ROWS > 1u) {
        a1 += tail(r1, x0, x1, x2, x3);
      }
      if (ROWS > 2u) {
        a2 += tail(r2, x0, x1, x2, x3);
        a3 += tail(r3, x0, x1, x2, x3);
      }
    }
    store_row(t0, first, a0, b.x);
    if (ROWS > 1u) {
      store_row(t0, first + 1u, a1, b.y);
    }
    if (ROWS > 2u) {
      store_row(t0, first + 2u, a2, b.z);
      store_row(t0, first + 3u, a3, b.w);
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

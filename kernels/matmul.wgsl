// matmul: y[t, o] = add[t, o] + Σ_i W[o, i] · x'[t, i] + bias[o]     (every linear layer: decode and prefill)
//   x' = x, or with NORM = 1 the RMSNorm of x: x'[t, i] = x[t, i] · s_t · g[i], s_t = 1/sqrt(mean_i x[t, i]² + eps),
//   evaluated as y = s_t · Σ_i W[o, i] · (x[t, i]·g[i]). bias and add are optional (has_bias, has_add).
//
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W; the weights
// stay quantized and each chunk of CHUNK values is dequantized in registers where it is used.
//
// Dispatch: grid1d(⌈rows / ROWS⌉) workgroups of WG threads (2-D when > 65535). Workgroup g owns
//   output rows g·ROWS .. g·ROWS + ROWS − 1 for every token, and walks the tokens in groups of TOKENS:
//   - each thread takes the chunks c = lid, lid + WG, … of those ROWS weight rows (consecutive
//     threads read consecutive chunks: coalesced), dequantizes each chunk once and multiplies it
//     with the matching x values of all TOKENS tokens: ROWS·TOKENS f32 accumulators per thread;
//     a row length that is not a multiple of CHUNK (F32/F16/BF16 only) ends with < CHUNK values
//     read one by one (load_one), one per thread;
//   - with NORM, each thread also sums the squares of the x values it loads (its chunks of each
//     token's row), so Σx² takes no extra pass over x: TOKENS more sums, reduced with the outputs;
//   - the WG partial sums of each of the KN = ROWS·TOKENS (+ TOKENS with NORM) sums are added in two
//     steps through workgroup memory (KN·G threads each add WG / G partials, then each output's thread
//     adds G of those, and G of its token's Σx²; G = the power of two ≤ min(WG / KN, 8)): 2 barriers
//     per token group, independent of WG.
//   Rows past `rows` (last workgroup) and tokens past `n_tokens` (last group) are computed on a
//   clamped index and not written, so the loops have no data-dependent branches.
// Bindings (group 0):
//   0  p     uniform             Params
//   1  W     storage, read       array<u32>  weight [rows × cols] (ggml dims [cols, rows]), GPU layout of src/gpu/repack.ts
//   2  x     storage, read       array<f32>  [n_tokens × cols]
//   3  bias  storage, read       array<f32>  [rows] when has_bias = 1; otherwise any buffer (not read)
//   4  y     storage, read_write array<f32>  [n_tokens × rows]
//   5  g       storage, read     array<f32>  [cols] RMSNorm weight when NORM = 1; otherwise any buffer (not read)
//   6  addend  storage, read     array<f32>  [n_tokens × rows] when has_add = 1; otherwise any buffer (not read)
// Tunables (override; chosen and checked against device limits by src/gpu/kernels/matmul.ts):
//   WG      threads per workgroup, power of two, ≥ ROWS·TOKENS        (default 64)
//   ROWS    output rows per workgroup, ≤ MAX_ROWS                      (default 4)
//   TOKENS  tokens per pass over the rows, ≤ MAX_TOKENS                (default 1: decode)
//   NORM    1: the RMSNorm prologue                                    (default 0)
//   KN = (ROWS + NORM)·TOKENS ≤ MAX_ACC; ROWS and TOKENS powers of two; WG ≥ KN. Workgroup memory:
//   4·WG·(KN + 1) bytes.
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
override ROWS: u32 = 4;
override TOKENS: u32 = 1;
override NORM: u32 = 0;

// register arrays need constant sizes; the loops run to ROWS / TOKENS, which are constants once the
// pipeline is created, so the unused tail is dead code
const MAX_ROWS: u32 = 8u;
const MAX_TOKENS: u32 = 8u;
const MAX_ACC: u32 = 40u; // 32 dot products + 8 sums of squares

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> addend: array<f32>;

// partial sums: output k = r·TOKENS + t of thread i at partial[k·WG + i]; Σx² of token t at k = K + t
var<workgroup> partial: array<f32, WG * (ROWS + NORM) * TOKENS>;
// after the first reduction step: sum k, part j at partial2[k·G + j]
var<workgroup> partial2: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = (wid.x + wid.y * nwg.x) * ROWS;
  if (row0 >= p.rows) {
    return;
  }
  let cols = p.cols;
  let full = cols / CHUNK;   // whole chunks per row
  let K = ROWS * TOKENS;
  let KN = K + NORM * TOKENS;
  let G = 1u << firstLeadingBit(min(WG / KN, 8u)); // a power of two, so it divides WG
  let L = WG / G;

  var rowc: array<u32, MAX_ROWS>;   // clamped row indices
  for (var r = 0u; r < ROWS; r++) {
    rowc[r] = min(row0 + r, p.rows - 1u);
  }

  for (var t0 = 0u; t0 < p.n_tokens; t0 += TOKENS) {
    var xrow: array<u32, MAX_TOKENS>;   // start of each token's x row (clamped)
    for (var t = 0u; t < TOKENS; t++) {
      xrow[t] = min(t0 + t, p.n_tokens - 1u) * cols;
    }
    // zeroed explicitly: with an implicitly initialized `var acc: array<f32, MAX_ACC>;` SwiftShader
    // (Chromium 156) kept the previous token group's sums
    var acc = array<f32, MAX_ACC>();

    for (var c = lid; c < full; c += WG) {
      var wv: array<array<f32, CHUNK>, MAX_ROWS>;
      for (var r = 0u; r < ROWS; r++) {
        wv[r] = load_chunk(rowc[r], c, cols, p.d_off);
      }
      let i0 = c * CHUNK;
      var gv: array<f32, CHUNK>;
      if (NORM == 1u) {
        for (var k = 0u; k < CHUNK; k++) {
          gv[k] = g[i0 + k];
        }
      }
      for (var t = 0u; t < TOKENS; t++) {
        var xv: array<f32, CHUNK>;
        for (var k = 0u; k < CHUNK; k++) {
          xv[k] = x[xrow[t] + i0 + k];
        }
        if (NORM == 1u) {
          var q = acc[K + t];
          for (var k = 0u; k < CHUNK; k++) {
            q = fma(xv[k], xv[k], q);
            xv[k] *= gv[k];
          }
          acc[K + t] = q;
        }
        for (var r = 0u; r < ROWS; r++) {
          var s = acc[r * TOKENS + t];
          for (var k = 0u; k < CHUNK; k++) {
            s = fma(wv[r][k], xv[k], s);
          }
          acc[r * TOKENS + t] = s;
        }
      }
    }
    // the < CHUNK values after the last whole chunk (float types with cols % 4 ≠ 0)
    let i = full * CHUNK + lid;
    if (i < cols) {
      var gi = 1.0;
      if (NORM == 1u) {
        gi = g[i];
        for (var t = 0u; t < TOKENS; t++) {
          let v = x[xrow[t] + i];
          acc[K + t] = fma(v, v, acc[K + t]);
        }
      }
      for (var r = 0u; r < ROWS; r++) {
        let w = load_one(rowc[r], i, cols, p.d_off);
        for (var t = 0u; t < TOKENS; t++) {
          acc[r * TOKENS + t] = fma(w, x[xrow[t] + i] * gi, acc[r * TOKENS + t]);
        }
      }
    }

    for (var k = 0u; k < KN; k++) {
      partial[k * WG + lid] = acc[k];
    }
    workgroupBarrier();
    if (lid < KN * G) {
      let k = lid / G;
      let j = lid % G;
      var s = 0.0;
      for (var m = 0u; m < L; m++) {
        s += partial[k * WG + j + G * m];
      }
      partial2[lid] = s;
    }
    // also separates this group's reads of `partial` from the next group's writes; the reads of
    // partial2 below end before any thread passes the next group's first barrier
    workgroupBarrier();
    if (lid < K) {
      var s = 0.0;
      for (var j = 0u; j < G; j++) {
        s += partial2[lid * G + j];
      }
      let row = row0 + lid / TOKENS;
      let tok = t0 + lid % TOKENS;
      if (NORM == 1u) {
        var q = 0.0;
        for (var j = 0u; j < G; j++) {
          q += partial2[(K + lid % TOKENS) * G + j];
        }
        s *= inverseSqrt(q / f32(cols) + p.eps);
      }
      if (row < p.rows && tok < p.n_tokens) {
        if (p.has_bias != 0u) {
          s += bias[row];
        }
        let o = tok * p.rows + row;
        if (p.has_add != 0u) {
          s += addend[o];
        }
        y[o] = s;
      }
    }
  }
}

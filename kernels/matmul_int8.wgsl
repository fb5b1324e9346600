// matmul_int8: y[t, o] = add[t, o] + Σ_b d_x[t, b] · d_w[o, b] · Σ_j q_w[o, 32b + j] · q_x[t, 32b + j] + bias[o]
//   (the matrix product with 8-bit integer dot products, as llama.cpp's CPU code computes Q8_0/Q4_0 products)
//   x' = x, or with NORM = 1 the RMSNorm of x: x'[t, i] = x[t, i] · s_t · g[i], s_t = 1/sqrt(mean_i x[t, i]² + eps);
//   x' is quantized per block of 32 to int8 as ggml's quantize_row_q8_0 does: d = max_j |x'_j| / 127,
//   q_x = round(x'_j · (1/d)) (halves to even), and the block's scale d_x = d rounded to f16 (ggml stores it so).
//   bias and add are optional (has_bias, has_add).
//
// The weights' integers are never converted to floats: four signed bytes of W times four of x' in one
// dot4I8Packed, one float multiply per block of 32 (d_w·d_x). On an adapter that runs on the CPU
// (SwiftShader) the float products are bound by the work per weight (unpack, convert, scale, fma per
// value; bench/where-time-goes.md); this does ~¼ of it. The result differs from the f32 product by the
// rounding of x' to 8 bits (relative error ~1/254 per value, averaging out over a row) — what llama.cpp's
// CPU backend computes for these types (its vec_dot_type Q8_0), to the bit where the sums agree: with the
// f16 scale, the logits of Q8_0 models equal llama.cpp's (test/unit/model-random.test.ts).
//
// Two ways to form Σ_j q_w·q_x per block, with bit-identical results (every partial sum is an integer
// below 2²⁴, exact in f32 as in i32, and both scale it by d_w, then d_x): FDOT = 0, dot4I8Packed on the
// packed bytes (decode: nothing to unpack); FDOT = 1, the integers as floats in vec4 dot products, each
// word of W unpacked once for the TOKENS tokens (prefill: dot4I8Packed, which a CPU adapter emulates by
// unpacking both operands, would unpack each weight once per token; measured with `npm run
// bench:matvec -- --n 64`). With FDOT = 1, x' is kept as f16 pairs (exact for |q| ≤ 127): as f32 it
// ran ~8% faster but took twice the workgroup memory, and SwiftShader's pipeline compile time grows
// with it (bench:matvec's compile column: ffn_down prefill 1.2 s vs 2.5–3 s; packed bytes 0.6 s but
// unpacking them per token ran ~20% slower).
//
// Layout as kernels/matmul_rowwise.wgsl (the plan for CPU adapters): each invocation owns ROWS
// consecutive rows and walks them once. Prologue per token group, by the whole workgroup: (NORM) Σx²
// by PARTS invocations, barrier; each invocation quantizes whole blocks of x' into workgroup memory (xq:
// 8 words per block, xd: d_x, xsum: Σq_x), barrier. So every workgroup quantizes x once and every
// invocation reads each block of it once for its ROWS rows. Every invocation takes part in the barriers
// (rows past `rows` are computed on a clamped row and not written).
//
// Assembled with one int8 library (kernels/lib/int8_<type>.wgsl: qdot_block, qvals, qscale) that reads W,
// and kernels/lib/matmul_store.wgsl (store, store_row).
// cols % 32 = 0.
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
// Tunables (override): WG threads per workgroup; ROWS 1, 2 or 4 rows per invocation; TOKENS 1 or 4;
//   NORM 0 or 1; FDOT 0 or 1; XB ≥ TOKENS·cols/32 blocks of workgroup memory: the packed words
//   (FDOT = 0) or the f16 pairs (FDOT = 1) of x' (src/gpu/kernels/matmul.ts int8WorkgroupBytes,
//   checked against maxComputeWorkgroupStorageSize).
// Reference: src/reference/matmul_int8.ts

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
override XB: u32 = 1;
override ROWS: u32 = 1;
override FDOT: u32 = 0;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read> addend: array<f32>;

// the quantized x' of the token group: block b of token t at index t·nb + b (nb = cols / 32)
// FDOT = 0: 4 int8 per packed word; FDOT = 1: 4 values as f16 pairs (exact: |q| ≤ 127); the other 1 long
var<workgroup> xq: array<u32, 8u * XB * (1u - FDOT) + FDOT>;
var<workgroup> xh: array<vec2<u32>, 8u * XB * FDOT + 1u - FDOT>;
var<workgroup> xd: array<f32, XB>;
var<workgroup> xsum: array<i32, XB>;
// NORM: partial Σx² of token t at part[t·PARTS + j]
var<workgroup> part: array<f32, PARTS * TOKENS>;

const PARTS: u32 = 8u;

// d rounded to the nearest f16 (ties to even) as an f32, for 0 ≤ d < 65520 (|x'| < 8·10⁶): below the
// smallest normal f16 (2⁻¹⁴) to a multiple of 2⁻²⁴, above it to 10 mantissa bits
fn round_f16(d: f32) -> f32 {
  if (d < 6.103515625e-5) {
    return round(d * 16777216.0) / 16777216.0;
  }
  let b = bitcast<u32>(d);
  return bitcast<f32>((b + 0xfffu + ((b >> 13u) & 1u)) & 0xffffe000u);
}

// quantizes block b of token row xr (offset in x) scaled by sc (and g with NORM) into slot j
// (x' of the block read once, into 8 vec4 registers)
fn quantize_block(j: u32, xr: u32, b: u32, sc: f32) {
  let i0 = 32u * b;
  var v: array<vec4<f32>, 8>;
  var m = vec4<f32>();
  for (var k = 0u; k < 8u; k++) {
    let e = xr + i0 + 4u * k;
    var t = vec4<f32>(x[e], x[e + 1u], x[e + 2u], x[e + 3u]) * sc;
    if (NORM == 1u) {
      let ge = i0 + 4u * k;
      t *= vec4<f32>(g[ge], g[ge + 1u], g[ge + 2u], g[ge + 3u]);
    }
    v[k] = t;
    m = max(m, abs(t));
  }
  let amax = max(max(m.x, m.y), max(m.z, m.w));
  let d = amax / 127.0;
  let id = select(0.0, 1.0 / d, d > 0.0);
  var sum = 0i;
  for (var k = 0u; k < 8u; k++) {
    let q = vec4<i32>(round(v[k] * id));
    sum += q.x + q.y + q.z + q.w;
    if (FDOT == 1u) {
      let f = vec4<f32>(q);
      xh[8u * j + k] = vec2<u32>(pack2x16float(f.xy), pack2x16float(f.zw));
    } else {
      xq[8u * j + k] = pack4xI8(q);
    }
  }
  xd[j] = round_f16(d);
  xsum[j] = sum;
}

struct XBlock {
  q: array<u32, 8>,
  d: f32,
  s: i32,
}

fn xblock(j: u32) -> XBlock {
  var r: XBlock;
  for (var k = 0u; k < 8u; k++) {
    r.q[k] = xq[8u * j + k];
  }
  r.d = xd[j];
  r.s = xsum[j];
  return r;
}

// block b of one row (global block gb) times block b of each token of the group
fn dots(gb: u32, x0: XBlock, x1: XBlock, x2: XBlock, x3: XBlock) -> vec4<f32> {
  var d = vec4<f32>(qdot_block(gb, p.d_off, x0.q, x0.s) * x0.d, 0.0, 0.0, 0.0);
  if (TOKENS > 1u) {
    d.y = qdot_block(gb, p.d_off, x1.q, x1.s) * x1.d;
    d.z = qdot_block(gb, p.d_off, x2.q, x2.s) * x2.d;
    d.w = qdot_block(gb, p.d_off, x3.q, x3.s) * x3.d;
  }
  return d;
}

fn xhalf(i: u32) -> vec4<f32> {
  let h = xh[i];
  return vec4<f32>(unpack2x16float(h.x), unpack2x16float(h.y));
}

// FDOT = 1: block b of the 4 rows (global blocks g.x .. g.w) times block b of each token of the group;
// component [r][t]: row r, token t0 + t, already scaled by d_w·d_x
fn fdots(g: vec4<u32>, b: u32, nb: u32) -> mat4x4<f32> {
  var s0 = vec4<f32>();
  var s1 = vec4<f32>();
  var s2 = vec4<f32>();
  var s3 = vec4<f32>();
  for (var k = 0u; k < 8u; k++) {
    // the 4 values of x of each token, unpacked once for the 4 rows
    let x0 = xhalf(8u * b + k);
    var x1 = x0;
    var x2 = x0;
    var x3 = x0;
    if (TOKENS > 1u) {
      x1 = xhalf(8u * (nb + b) + k);
      x2 = xhalf(8u * (2u * nb + b) + k);
      x3 = xhalf(8u * (3u * nb + b) + k);
    }
    let w0 = qvals(g.x, k);
    s0 += vec4<f32>(dot(w0, x0), dot(w0, x1), dot(w0, x2), dot(w0, x3));
    if (ROWS > 1u) {
      let w1 = qvals(g.y, k);
      s1 += vec4<f32>(dot(w1, x0), dot(w1, x1), dot(w1, x2), dot(w1, x3));
    }
    if (ROWS > 2u) {
      let w2 = qvals(g.z, k);
      let w3 = qvals(g.w, k);
      s2 += vec4<f32>(dot(w2, x0), dot(w2, x1), dot(w2, x2), dot(w2, x3));
      s3 += vec4<f32>(dot(w3, x0), dot(w3, x1), dot(w3, x2), dot(w3, x3));
    }
  }
  // Q4_0's −8 is inside qvals here, so xsum is not needed
  var dx = vec4<f32>(xd[b], 0.0, 0.0, 0.0);
  if (TOKENS > 1u) {
    dx = vec4<f32>(xd[b], xd[nb + b], xd[2u * nb + b], xd[3u * nb + b]);
  }
  return mat4x4<f32>(
    s0 * qscale(g.x, p.d_off) * dx,
    s1 * qscale(g.y, p.d_off) * dx,
    s2 * qscale(g.z, p.d_off) * dx,
    s3 * qscale(g.w, p.d_off) * dx,
  );
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let first = ((wid.x + wid.y * nwg.x) * WG + lid) * ROWS;
  let last = p.rows - 1u;
  let cols = p.cols;
  let nb = cols / 32u;
  let n = p.n_tokens;
  // first block of each row
  let b0 = min(first, last) * nb;
  let b1 = min(first + 1u, last) * nb;
  let b2 = min(first + 2u, last) * nb;
  let b3 = min(first + 3u, last) * nb;
  var bi = vec4<f32>();
  if (p.has_bias == 1u) {
    bi = vec4<f32>(bias[min(first, last)], bias[min(first + 1u, last)], bias[min(first + 2u, last)], bias[min(first + 3u, last)]);
  }
  for (var t0 = 0u; t0 < n; t0 += TOKENS) {
    if (t0 > 0u) {
      workgroupBarrier(); // the previous token group's reads of xq are done
    }
    if (NORM == 1u) {
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
    }
    // s_t of each token of the group, once per invocation (component t)
    var sc = vec4<f32>(1.0);
    if (NORM == 1u) {
      for (var t = 0u; t < TOKENS; t++) {
        var q = 0.0;
        for (var k = 0u; k < PARTS; k++) {
          q += part[t * PARTS + k];
        }
        sc[t] = inverseSqrt(q / f32(cols) + p.eps);
      }
    }
    for (var j = lid; j < TOKENS * nb; j += WG) {
      let t = j / nb;
      quantize_block(j, min(t0 + t, n - 1u) * cols, j - t * nb, sc[t]);
    }
    workgroupBarrier();
    var a0 = vec4<f32>();
    var a1 = vec4<f32>();
    var a2 = vec4<f32>();
    var a3 = vec4<f32>();
    for (var b = 0u; b < nb; b++) {
      if (FDOT == 1u) {
        let m = fdots(vec4<u32>(b0, b1, b2, b3) + b, b, nb);
        a0 += m[0];
        a1 += m[1];
        a2 += m[2];
        a3 += m[3];
        continue;
      }
      let c0 = xblock(b);
      var c1 = c0;
      var c2 = c0;
      var c3 = c0;
      if (TOKENS > 1u) {
        c1 = xblock(nb + b);
        c2 = xblock(2u * nb + b);
        c3 = xblock(3u * nb + b);
      }
      a0 += dots(b0 + b, c0, c1, c2, c3);
      if (ROWS > 1u) {
        a1 += dots(b1 + b, c0, c1, c2, c3);
      }
      if (ROWS > 2u) {
        a2 += dots(b2 + b, c0, c1, c2, c3);
        a3 += dots(b3 + b, c0, c1, c2, c3);
      }
    }
    store_row(t0, first, a0, bi.x);
    if (ROWS > 1u) {
      store_row(t0, first + 1u, a1, bi.y);
    }
    if (ROWS > 2u) {
      store_row(t0, first + 2u, a2, bi.z);
      store_row(t0, first + 3u, a3, bi.w);
    }
  }
}

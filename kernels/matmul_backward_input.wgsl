// matmul_backward_input: the gradient w.r.t. x of y = x · Wᵀ (+ b) given dy [rows, out], for a weight
// W [out rows × in cols] of any type (frozen quantized base weights in LoRA training, f32 adapters):
//   dx[t, i] = Σ_o dy[t, o] · dequantize(W)[o, i]
//
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W.
// Dispatch: grid (⌈chunks_per_row / WG⌉, rows) workgroups of WG threads; thread c of workgroup (bx, t)
//   computes the CHUNK values dx[t, c·CHUNK ..] (chunks_per_row = ⌈in / CHUNK⌉; a last chunk shorter than
//   CHUNK value by value with load_one), walking down W's rows: every W value is dequantized once per
//   token row, as the forward product dequantizes it once per output.
// Bindings (group 0):
//   0  p   uniform             Params
//   1  W   storage, read       array<u32>  the weight [out_dim rows × in_dim], GPU layout of src/gpu/repack.ts
//   2  dy  storage, read       array<f32>  [rows, out_dim]
//   3  dx  storage, read_write array<f32>  [rows, in_dim]
// Tunables: WG (override, default 64).
// Reference: src/reference/matmul_backward.ts

struct Params {
  rows: u32,
  in_dim: u32,
  out_dim: u32,
  d_off: u32,
  chunks_per_row: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * WG + lid;
  let t = wid.y;
  if (c >= p.chunks_per_row || t >= p.rows) {
    return;
  }
  let i0 = c * CHUNK;
  var acc: array<f32, CHUNK>;
  if (i0 + CHUNK <= p.in_dim) {
    for (var o = 0u; o < p.out_dim; o++) {
      let g = dy[t * p.out_dim + o];
      let w = load_chunk(o, c, p.in_dim, p.d_off);
      for (var k = 0u; k < CHUNK; k++) {
        acc[k] += g * w[k];
      }
    }
    for (var k = 0u; k < CHUNK; k++) {
      dx[t * p.in_dim + i0 + k] = acc[k];
    }
  } else {
    for (var o = 0u; o < p.out_dim; o++) {
      let g = dy[t * p.out_dim + o];
      for (var k = 0u; i0 + k < p.in_dim; k++) {
        acc[k] += g * load_one(o, i0 + k, p.in_dim, p.d_off);
      }
    }
    for (var k = 0u; i0 + k < p.in_dim; k++) {
      dx[t * p.in_dim + i0 + k] = acc[k];
    }
  }
}

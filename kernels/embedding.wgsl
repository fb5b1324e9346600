// embedding: y[t, i] = dequantize(W)[ids[t], i]     (token embedding lookup; also dequantizes whole tensors)
//
// Assembled with one dequantizer library (kernels/lib/dequant_<type>.wgsl) that reads W.
// Dispatch: grid1d(⌈n_tokens · chunks_per_row / WG⌉) workgroups of WG threads; one thread per
//   CHUNK consecutive values of one token's row (chunks_per_row = ⌈cols / CHUNK⌉; the last chunk of a
//   row whose length is not a multiple of CHUNK is filled value by value with load_one).
// Bindings (group 0):
//   0  p    uniform             Params
//   1  W    storage, read       array<u32>  the weight tensor [n_vocab rows × cols], GPU layout of src/gpu/repack.ts
//   2  ids  storage, read       array<u32>  [n_tokens], each < n_vocab (checked on the CPU)
//   3  y    storage, read_write array<f32>  [n_tokens × cols]
// Tunables: WG (override, default 64).
// Reference: src/reference/embedding.ts

struct Params {
  cols: u32,
  n_tokens: u32,
  d_off: u32,
  chunks_per_row: u32,
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gidx = (wid.x + wid.y * nwg.x) * WG + lid;
  if (gidx >= p.n_tokens * p.chunks_per_row) {
    return;
  }
  let t = gidx / p.chunks_per_row;
  let c = gidx % p.chunks_per_row;
  let row = ids[t];
  let i0 = c * CHUNK;
  let out = t * p.cols + i0;
  if (i0 + CHUNK <= p.cols) {
    let v = load_chunk(row, c, p.cols, p.d_off);
    for (var k = 0u; k < CHUNK; k++) {
      y[out + k] = v[k];
    }
  } else {
    for (var i = i0; i < p.cols; i++) {
      y[t * p.cols + i] = load_one(row, i, p.cols, p.d_off);
    }
  }
}

// slice_columns: y[r, c] = x[r, col0 + c]   for c < cols      (splits fused qkv / gate-up projections)
//
// Dispatch: grid1d(⌈rows · cols / WG⌉) workgroups of WG threads, one thread per output element;
//   threads with i ≥ rows · cols do nothing. Reads are contiguous within each output row.
// Bindings (group 0):
//   0  p  uniform             Params
//   1  x  storage, read       array<f32>  [rows × x_cols]
//   2  y  storage, read_write array<f32>  [rows × cols]
// Tunables: WG (override, default 256).
// Reference: src/reference/slice_columns.ts

struct Params {
  rows: u32,
  x_cols: u32,
  col0: u32,
  cols: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.rows * p.cols) {
    return;
  }
  let r = i / p.cols;
  let c = i - r * p.cols;
  y[i] = x[r * p.x_cols + p.col0 + c];
}

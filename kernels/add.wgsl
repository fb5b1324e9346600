// add: y[i] = a[i] + b[i]          (residual connections; a, b, y have the same shape)
//
// Dispatch: grid1d(⌈n / WG⌉) workgroups of WG threads, one thread per element; threads with
//   i ≥ n do nothing.
// Bindings (group 0):
//   0  p  uniform             Params
//   1  a  storage, read       array<f32>  [n]
//   2  b  storage, read       array<f32>  [n]
//   3  y  storage, read_write array<f32>  [n]
// Tunables: WG (override, default 256).
// Reference: src/reference/add.ts

struct Params {
  n: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) {
    return;
  }
  y[i] = a[i] + b[i];
}

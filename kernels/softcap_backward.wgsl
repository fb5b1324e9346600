// softcap_backward: the gradient of y = cap · tanh(x / cap) (kernels/softcap.wgsl) given dy:
//   dx[i] = dy[i] · (1 − tanh²(x[i] / cap))
// tanh of the argument clamped to ±10 (|tanh| = 1 in f32 beyond ~9.01).
//
// Dispatch: grid1d(⌈n / WG⌉) workgroups of WG threads, one thread per element; threads with i ≥ n do nothing.
// Bindings (group 0):
//   0  p   uniform             Params
//   1  x   storage, read       array<f32>  [n]
//   2  dy  storage, read       array<f32>  [n]
//   3  dx  storage, read_write array<f32>  [n]
// Tunables: WG (override, default 256).
// Reference: src/reference/softcap_backward.ts

struct Params {
  n: u32,
  cap: f32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) {
    return;
  }
  let t = tanh(clamp(x[i] / p.cap, -10.0, 10.0));
  dx[i] = dy[i] * (1.0 - t * t);
}

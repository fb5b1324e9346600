// swiglu_backward: the gradients of y = silu(g) · u (kernels/swiglu.wgsl, separate g and u) given dy:
//   dg[i] = dy[i] · u[i] · σ(g[i]) · (1 + g[i] · (1 − σ(g[i])))
//   du[i] = dy[i] · silu(g[i]) = dy[i] · g[i] · σ(g[i])
// σ(g) = 1 / (1 + e^(−g)) with e^(−g) taken of min(−g, 88) (no infinity; σ = 0 below −88, where the
// true value is < e^−88 and every term it multiplies is negligible).
//
// Dispatch: grid1d(⌈n / WG⌉) workgroups of WG threads, one thread per element; threads with i ≥ n do nothing.
// Bindings (group 0):
//   0  p   uniform             Params
//   1  g   storage, read       array<f32>  [n]
//   2  u   storage, read       array<f32>  [n]
//   3  dy  storage, read       array<f32>  [n]
//   4  dg  storage, read_write array<f32>  [n]
//   5  du  storage, read_write array<f32>  [n]
// Tunables: WG (override, default 256).
// Reference: src/reference/swiglu_backward.ts

struct Params {
  n: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) {
    return;
  }
  let x = g[i];
  let s = select(1.0 / (1.0 + exp(min(-x, 88.0))), 0.0, x < -88.0);
  let d = dy[i];
  dg[i] = d * u[i] * s * (1.0 + x * (1.0 - s));
  du[i] = d * x * s;
}

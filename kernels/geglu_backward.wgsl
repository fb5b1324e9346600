// geglu_backward: the gradients of y = gelu(g) · u (kernels/geglu.wgsl, the tanh GELU, separate g and u) given dy:
//   dg[i] = dy[i] · u[i] · gelu'(g[i]),   du[i] = dy[i] · gelu(g[i])
//   gelu(x) = ½x(1 + t), gelu'(x) = ½(1 + t) + ½x(1 − t²)·a(1 + 3b x²), t = tanh(a(x + b x³)), a = √(2/π), b = 0.044715
// tanh is taken of its argument clamped to ±10 (|tanh| = 1 in f32 beyond ~9.01), so no overflow for large |x|.
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
// Reference: src/reference/geglu_backward.ts

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
  let a = 0.7978845608028654;
  let b = 0.044715;
  let x = g[i];
  let t = tanh(clamp(a * (x + b * x * x * x), -10.0, 10.0));
  let gelu = 0.5 * x * (1.0 + t);
  let dgelu = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * a * (1.0 + 3.0 * b * x * x);
  let d = dy[i];
  dg[i] = d * u[i] * dgelu;
  du[i] = d * gelu;
}

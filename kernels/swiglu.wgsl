// swiglu: y[i] = silu(g[i]) · u[i] = g[i] / (1 + e^(−g[i])) · u[i]     (llama/qwen/phi3 FFN)
//
// Robust for any finite input: e^(−g) is taken of min(−g, 88) (e^88 ≈ 1.7e38 fits in f32), so no
// infinity ever appears (WGSL lets implementations assume there are none), and y = 0 for g < −88,
// where the true |silu(g)| < 88·e^−88 ≈ 5e-37 (the quotient alone would give g/1.7e38, not small
// for huge g). No cancellation anywhere: y has the relative accuracy of exp (a few ulp).
//
// Layout: output i = (row r, column j) with r = ⌊i / cols⌋, j = i mod cols reads
//   gate g[r·stride + j] and up u[r·stride + u_off + j]:
//   separate tensors: cols = stride = n, u_off = 0 (y[i] from g[i] and u[i]);
//   a fused gate_up projection [rows, 2F] bound as both g and u: cols = F, stride = 2F, u_off = F.
//
// Dispatch: grid1d(⌈n / WG⌉) workgroups of WG threads, one thread per output element; threads with
//   i ≥ n do nothing.
// Bindings (group 0):
//   0  p  uniform             Params
//   1  g  storage, read       array<f32>  gate projection (see Layout)
//   2  u  storage, read       array<f32>  up projection (may be the same buffer as g)
//   3  y  storage, read_write array<f32>  [n] = [rows, cols]
// Tunables: WG (override, default 256).
// Reference: src/reference/swiglu.ts

struct Params {
  n: u32,
  cols: u32,
  stride: u32,
  u_off: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) {
    return;
  }
  let r = i / p.cols;
  let j = i - r * p.cols;
  let x = g[r * p.stride + j];
  let silu = select(x / (1.0 + exp(min(-x, 88.0))), 0.0, x < -88.0);
  y[i] = silu * u[r * p.stride + p.u_off + j];
}

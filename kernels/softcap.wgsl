// softcap: y[i] = cap · tanh(x[i] / cap)          (gemma2 final logits, and attention logits)
//
// tanh is computed here, not with the builtin: WGSL's tanh has implementation-defined accuracy and
// some drivers compute it as (e^t − e^−t)/(e^t + e^−t), which is inf/inf = NaN for |t| ≳ 44.
//   |t| < 0.625: Cephes' tanhf odd polynomial, t + t³·P(t²) (≤ 2 ulp in f32; no cancellation near 0);
//   |t| ≥ 0.625: sign(t)·(1 − e)/(1 + e) with e = e^(−2|t|) ∈ (0, 0.29], |t| clamped to 20: the
//                exponent is never positive, so nothing overflows, and tanh(20) rounds to 1 in f32.
//
// Dispatch: grid1d(⌈n / WG⌉) workgroups of WG threads, one thread per element; threads with
//   i ≥ n do nothing.
// Bindings (group 0):
//   0  p  uniform             Params
//   1  x  storage, read       array<f32>  [n]
//   2  y  storage, read_write array<f32>  [n]
// Tunables: WG (override, default 256).
// Reference: src/reference/softcap.ts

struct Params {
  n: u32,
  cap: f32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn tanh_robust(t: f32) -> f32 {
  let a = abs(t);
  if (a < 0.625) {
    let z = t * t;
    let q = ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z + 1.33314422036e-1) * z - 3.33332819422e-1) * z;
    return t + t * q;
  }
  let e = exp(-2.0 * min(a, 20.0));
  return sign(t) * ((1.0 - e) / (1.0 + e));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) {
    return;
  }
  y[i] = p.cap * tanh_robust(x[i] / p.cap);
}

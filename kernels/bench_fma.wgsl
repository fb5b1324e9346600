// bench_fma: out[t] = (Σ_{c<16} x_c)(ITERS) in the fixed order below, x_c(0) = f32(t mod 4096) + c, x_c(k+1) = x_c(k)·a + b
//
// An f32 multiply-add throughput microbenchmark (src/gpu/measure.ts: FLOP/s = n_threads · ITERS ·
// 16 · 2 / time), not a model op. Each thread keeps 16 independent chains in four vec4
// registers, so a pipeline has 16 multiply-adds in flight per thread on top of what occupancy
// gives; the loop body is unrolled by 4 (64 multiply-adds per loop test). a and b are uniforms,
// so the compiler can neither fold nor shorten the recurrence; one value per thread is written
// so no chain can be dropped. Reduction order (the reference follows it):
//   v = (x0 + x1) + (x2 + x3) (vec4, chains c = 4·r + lane in register r),  out = (v.x + v.y) + (v.z + v.w).
// Fusion: GPU compilers may contract x·a + b into one fused multiply-add (one rounding instead
// of two). When x·a is exact (a = 1, a = 0.5) both give the same bits; otherwise they differ by
// ≤ 1 ulp per step, damped by |a| < 1 (see test/gpu/kernels/bench_fma.test.ts).
//
// Dispatch: grid1d(⌈n_threads / WG⌉) workgroups of WG threads; threads ≥ n_threads return.
// Bindings (group 0):
//   0  p    uniform             Params
//   1  out  storage, read_write array<f32>  [n_threads]
// Tunables (overrides, checked against device limits by the launcher):
//   WG     ≤ maxComputeInvocationsPerWorkgroup and maxComputeWorkgroupSizeX, default 256
//   ITERS  multiply-adds per chain, a multiple of 4, default 256
// Reference: src/reference/bench_fma.ts

struct Params {
  a: f32,
  b: f32,
  n_threads: u32,
}

override WG: u32 = 256;
override ITERS: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= p.n_threads) {
    return;
  }
  let a = vec4<f32>(p.a);
  let b = vec4<f32>(p.b);
  let s = f32(t % 4096u);
  var x0 = vec4<f32>(s, s + 1.0, s + 2.0, s + 3.0);
  var x1 = x0 + 4.0;
  var x2 = x0 + 8.0;
  var x3 = x0 + 12.0;
  for (var k = 0u; k < ITERS; k += 4u) {
    x0 = x0 * a + b;
    x1 = x1 * a + b;
    x2 = x2 * a + b;
    x3 = x3 * a + b;
    x0 = x0 * a + b;
    x1 = x1 * a + b;
    x2 = x2 * a + b;
    x3 = x3 * a + b;
    x0 = x0 * a + b;
    x1 = x1 * a + b;
    x2 = x2 * a + b;
    x3 = x3 * a + b;
    x0 = x0 * a + b;
    x1 = x1 * a + b;
    x2 = x2 * a + b;
    x3 = x3 * a + b;
  }
  let v = (x0 + x1) + (x2 + x3);
  out[t] = (v.x + v.y) + (v.z + v.w);
}

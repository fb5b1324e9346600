// smoke_saxpy: y[i] = a * x[i] + b          (a, b: f32 scalars; x, y: f32 vectors)
//
// Purpose: the WebGPU smoke test (test/gpu/smoke.spec.ts via test/gpu/pages/smoke.ts).
// Proves that a device can be created, a shader compiled, a uniform and storage
// buffers bound, a compute pass dispatched and the result read back.
//
// Dispatch: (ceil(n / WG), 1, 1) workgroups of WG threads; one thread per element.
//           Threads with i >= n do nothing, so y may be longer than n and its tail
//           is left untouched (the test checks that).
// Bindings (group 0):
//   0  params  uniform             Params { n: u32, a: f32, b: f32, _pad: u32 }  16 bytes
//   1  x       storage, read       array<f32>  [>= n]
//   2  y       storage, read_write array<f32>  [>= n]
// Tunables: WG (override, default 64): workgroup size; must be <= maxComputeInvocationsPerWorkgroup.
// Reference: computed inline in test/gpu/smoke.spec.ts (Math.fround(Math.fround(a * x) + b)).

struct Params {
  n: u32,   // byte offset 0
  a: f32,   // byte offset 4
  b: f32,   // byte offset 8
  _pad: u32, // byte offset 12: keeps the struct a 16-byte uniform block
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) {
    return;
  }
  y[i] = params.a * x[i] + params.b;
}

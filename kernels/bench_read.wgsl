// bench_read: out[g] = Σ src words of slice g (u32, wrapping mod 2³²), slice g = vec4s [g·S, min((g+1)·S, n_vec4)), S = WG·VEC4_PER_THREAD
//
// A streaming-read microbenchmark (src/gpu/measure.ts: bandwidth = bytes read / time), not a
// model op. Every byte of src is loaded exactly once with coalesced 16-byte loads: in each round
// the WG threads of a workgroup read WG consecutive vec4s, four rounds per loop iteration into
// four independent accumulators (four loads in flight per thread). Each workgroup reduces its
// slice to one word and writes it, so the compiler cannot drop any load. The reduction is one
// workgroup atomicAdd per thread into `total`, which starts at 0 (WebGPU zero-initializes
// workgroup memory): one barrier whatever WG, where a tree needs log2(WG) + 1 (on a CPU
// implementation such as SwiftShader every barrier switches between all of a workgroup's
// invocations). Wrapping u32 addition is associative and commutative, so the result is exact in
// any order: the test compares bits.
//
// Dispatch: grid1d(n_groups) workgroups of WG threads, n_groups = ⌈n_vec4 / S⌉ (2-D when
//   > 65535); ids ≥ n_groups return. The last slice may be partial (n_vec4 need not be a multiple
//   of S or of WG).
// Bindings (group 0):
//   0  p    uniform             Params
//   1  src  storage, read       array<vec4<u32>>  [n_vec4]     (4·n_vec4 words)
//   2  out  storage, read_write array<u32>        [n_groups]
// Tunables (overrides, checked against device limits by the launcher):
//   WG               ≤ maxComputeInvocationsPerWorkgroup and maxComputeWorkgroupSizeX, default 256
//   VEC4_PER_THREAD  vec4 loads per thread per workgroup, default 16 (S·16 B = 64 KiB per workgroup);
//                    src/gpu/measure.ts uses 256 (1 MiB) on CPU adapters, where every workgroup
//                    has a fixed cost of ~0.1 ms
// Reference: src/reference/bench_read.ts

struct Params {
  n_vec4: u32,
  n_groups: u32,
}

override WG: u32 = 256;
override VEC4_PER_THREAD: u32 = 16;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> total: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.n_groups) {
    return;
  }
  let start = g * WG * VEC4_PER_THREAD;
  let end = min(start + WG * VEC4_PER_THREAD, p.n_vec4);
  var a0 = vec4<u32>();
  var a1 = vec4<u32>();
  var a2 = vec4<u32>();
  var a3 = vec4<u32>();
  var i = start + lid;
  for (; i + 3u * WG < end; i += 4u * WG) {
    a0 += src[i];
    a1 += src[i + WG];
    a2 += src[i + 2u * WG];
    a3 += src[i + 3u * WG];
  }
  for (; i < end; i += WG) {
    a0 += src[i];
  }
  let v = (a0 + a1) + (a2 + a3);
  atomicAdd(&total, (v.x + v.y) + (v.z + v.w));
  workgroupBarrier();
  if (lid == 0u) {
    out[g] = atomicLoad(&total);
  }
}

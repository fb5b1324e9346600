// mask_logits: x[t] = −∞ where bit (t & 31) of allowed[t >> 5] is clear; allowed tokens untouched
//
// Structured output (issue 16): the grammar engine's token bitmask (xgrammar's layout: 32 tokens per
// u32 word, low bit first) applied to one row of logits, in place, before argmax / top-k / read.
// A select with no arithmetic: allowed values are not even read, so they stay bit for bit.
// WGSL has no infinity literal and a constant expression may not evaluate to one, so −∞ is the bit
// pattern 0xff800000 bitcast from a `let`, which is not a constant expression.
//
// Dispatch: grid1d(⌈n / WG⌉) workgroups of WG threads, one thread per token; threads with t ≥ n do
//   nothing (bits past n in the last word are never looked at).
// Bindings (group 0):
//   0  p        uniform             Params
//   1  allowed  storage, read       array<u32>  [⌈n / 32⌉]
//   2  x        storage, read_write array<f32>  [n]      (the logits row, masked in place)
// Tunables: WG (override, default 256).
// Reference: src/reference/mask_logits.ts

struct Params {
  n: u32,
}

override WG: u32 = 256;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> allowed: array<u32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * nwg.x) * WG + lid;
  if (t >= p.n) {
    return;
  }
  if (((allowed[t >> 5u] >> (t & 31u)) & 1u) == 0u) {
    let neg_inf_bits = 0xff800000u;
    x[t] = bitcast<f32>(neg_inf_bits);
  }
}

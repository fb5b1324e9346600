// int8_q8_0: integer dot products of Q8_0 weights with int8-quantized activations. See kernels/lib/README.md (int8 contract).
// Reference: src/reference/matmul_int8.ts (qdotBlockQ8_0)
//
// GPU layout as kernels/lib/dequant_q8_0.wgsl: qs words 8·b .. 8·b + 7 of block b, f16 d at word d_off + b / 2.
// Σ_j w_j·x_j over block b = d_w · d_x · Σ_j q_j·xq_j: eight dot4I8Packed of the packed bytes, no unpacking.

fn qdot_d(d_off: u32, b: u32) -> f32 {
  let dd = unpack2x16float(W[d_off + (b >> 1u)]);
  return select(dd.x, dd.y, (b & 1u) == 1u);
}

// the integers of word k (values 4k .. 4k + 3) of block b, as floats (exact)
fn qvals(b: u32, k: u32) -> vec4<f32> {
  let w = W[8u * b + k];
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

// the scale of block b
fn qscale(b: u32, d_off: u32) -> f32 {
  return qdot_d(d_off, b);
}

// d_w · Σ_j q_j·xq_j over block b (global block index) for the packed int8 activations xq (value j in
// byte j % 4 of word j / 4) whose integer sum is xsum (not needed for Q8_0)
fn qdot_block(b: u32, d_off: u32, xq: array<u32, 8>, xsum: i32) -> f32 {
  let w = 8u * b;
  var s = dot4I8Packed(W[w], xq[0]) + dot4I8Packed(W[w + 1u], xq[1]);
  s += dot4I8Packed(W[w + 2u], xq[2]) + dot4I8Packed(W[w + 3u], xq[3]);
  s += dot4I8Packed(W[w + 4u], xq[4]) + dot4I8Packed(W[w + 5u], xq[5]);
  s += dot4I8Packed(W[w + 6u], xq[6]) + dot4I8Packed(W[w + 7u], xq[7]);
  return f32(s) * qdot_d(d_off, b);
}

// int8_q4_0: integer dot products of Q4_0 weights with int8-quantized activations. See kernels/lib/README.md (int8 contract).
// Reference: src/reference/matmul_int8.ts (qdotBlockQ4_0)
//
// GPU layout as kernels/lib/dequant_q4_0.wgsl: qs words 4·b .. 4·b + 3 of block b (byte j: value j in
// the low nibble, value j + 16 in the high nibble), f16 d at word d_off + b / 2. A weight is (q − 8)·d, so
// Σ_j w_j·xq_j = d_w · (Σ_j q_j·xq_j − 8·Σ_j xq_j): the nibbles 0..15 are valid signed bytes as they are,
// and the activations' integer sum (computed once per block when x is quantized) takes the −8.

fn qdot_d(d_off: u32, b: u32) -> f32 {
  let dd = unpack2x16float(W[d_off + (b >> 1u)]);
  return select(dd.x, dd.y, (b & 1u) == 1u);
}

// the integers q − 8 of values 4k .. 4k + 3 of block b (k < 4: low nibbles of word k, else high
// nibbles of word k − 4), as floats (exact)
fn qvals(b: u32, k: u32) -> vec4<f32> {
  let w = W[4u * b + (k & 3u)] >> (4u * (k >> 2u));
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu)) - 8.0;
}

// the scale of block b
fn qscale(b: u32, d_off: u32) -> f32 {
  return qdot_d(d_off, b);
}

fn qdot_block(b: u32, d_off: u32, xq: array<u32, 8>, xsum: i32) -> f32 {
  let w = 4u * b;
  let m = 0x0f0f0f0fu;
  let w0 = W[w];
  let w1 = W[w + 1u];
  let w2 = W[w + 2u];
  let w3 = W[w + 3u];
  var s = dot4I8Packed(w0 & m, xq[0]) + dot4I8Packed(w1 & m, xq[1]);
  s += dot4I8Packed(w2 & m, xq[2]) + dot4I8Packed(w3 & m, xq[3]);
  s += dot4I8Packed((w0 >> 4u) & m, xq[4]) + dot4I8Packed((w1 >> 4u) & m, xq[5]);
  s += dot4I8Packed((w2 >> 4u) & m, xq[6]) + dot4I8Packed((w3 >> 4u) & m, xq[7]);
  return f32(s - 8 * xsum) * qdot_d(d_off, b);
}

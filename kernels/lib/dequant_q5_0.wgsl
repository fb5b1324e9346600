// dequant_q5_0: Q5_0 weights (ggml block_q5_0). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q5_0.ts (dequant_q5_0)
//
// A row is cols / 32 blocks of 32 values. GPU layout (src/gpu/repack.ts moves each block's f16 d out):
//   word  5·b                   qh of block b: bit j is the 5th bit (value 16) of value j
//   words 5·b + 1 .. 5·b + 4    qs[16]: byte j (word 5·b + 1 + j / 4, byte j % 4) holds the low 4 bits
//                               of value j in its low nibble and of value j + 16 in its high nibble
//   word  d_off + b / 2         f16 d of block b in half b % 2 (low half first)
// Block b = row · cols / 32 + (index in row) / 32.
// value = (q − 16) · d   (exact in f32)
// A chunk (8 values, c % 4 = k: values 8k .. 8k + 7) reads qh (bits 8k .. 8k + 7), qs words
// 1 + 2·(k % 2) and 2 + 2·(k % 2) (low nibbles for k < 2, high for k ≥ 2), and the d word.

const CHUNK: u32 = 8u;

fn q5_0_d(d_off: u32, b: u32) -> f32 {
  let dd = unpack2x16float(W[d_off + (b >> 1u)]);
  return select(dd.x, dd.y, (b & 1u) == 1u);
}

// 4 values: low nibbles in bytes 0..3 of w (shifted already), 5th bits in bits 0..3 of h
fn q5_0_quad(w: u32, h: u32) -> vec4<f32> {
  let lo = (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu);
  let hi = ((vec4<u32>(h) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
  return vec4<f32>(lo | hi);
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let b = row * (cols >> 5u) + (c >> 2u);
  let base = 5u * b;
  let k = c & 3u;
  let qw = base + 1u + 2u * (k & 1u);
  let sh = 4u * (k >> 1u);
  let h = W[base] >> (8u * k);
  let d = q5_0_d(d_off, b);
  let lo = (q5_0_quad(W[qw] >> sh, h) - 16.0) * d;
  let hi = (q5_0_quad(W[qw + 1u] >> sh, h >> 4u) - 16.0) * d;
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let b = row * (cols >> 5u) + (i >> 5u);
  let base = 5u * b;
  let e = i & 31u;
  let j = e & 15u;
  let lo = (W[base + 1u + (j >> 2u)] >> (8u * (j & 3u) + 4u * (e >> 4u))) & 0xfu;
  let hi = ((W[base] >> e) & 1u) << 4u;
  return (f32(lo | hi) - 16.0) * q5_0_d(d_off, b);
}

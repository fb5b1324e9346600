// dequant_q4_0: Q4_0 weights (ggml block_q4_0). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q4_0.ts (dequant_q4_0)
//
// A row is cols / 32 blocks of 32 values. GPU layout (src/gpu/repack.ts moves each block's f16 d out):
//   words 4·b .. 4·b + 3        qs[16] of block b: byte j (word 4·b + j / 4, byte j % 4) holds
//                               value j in its low nibble and value j + 16 in its high nibble
//   word  d_off + b / 2         f16 d of block b in half b % 2 (low half first)
// Block b = row · cols / 32 + (index in row) / 32.
// value = (q − 8) · d   (exact in f32)
// A chunk (8 values, c % 4 = k: values 8k .. 8k + 7 of its block) reads 2 qs words: words 2·(k % 2)
// and 2·(k % 2) + 1 of the block, low nibbles for k < 2, high nibbles for k ≥ 2; and the d word.

const CHUNK: u32 = 8u;

fn q4_0_d(d_off: u32, b: u32) -> f32 {
  let dd = unpack2x16float(W[d_off + (b >> 1u)]);
  return select(dd.x, dd.y, (b & 1u) == 1u);
}

// bytes 0..3 of w (already shifted and masked to nibbles) as integer-valued floats
fn q4_0_nibbles(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu));
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let b = row * (cols >> 5u) + (c >> 2u);
  let k = c & 3u;
  let qw = 4u * b + 2u * (k & 1u);
  let sh = 4u * (k >> 1u);
  let d = q4_0_d(d_off, b);
  let lo = (q4_0_nibbles(W[qw] >> sh) - 8.0) * d;
  let hi = (q4_0_nibbles(W[qw + 1u] >> sh) - 8.0) * d;
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let b = row * (cols >> 5u) + (i >> 5u);
  let j = i & 15u;
  let q = (W[4u * b + (j >> 2u)] >> (8u * (j & 3u) + 4u * ((i >> 4u) & 1u))) & 0xfu;
  return (f32(q) - 8.0) * q4_0_d(d_off, b);
}

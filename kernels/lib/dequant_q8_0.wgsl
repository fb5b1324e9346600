// dequant_q8_0: Q8_0 weights (ggml block_q8_0). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q8_0.ts (dequant_q8_0)
//
// A row is cols / 32 blocks of 32 values. GPU layout (src/gpu/repack.ts moves each block's f16 d out):
//   words 8·b .. 8·b + 7        qs[32] of block b: int8, value j in byte j % 4 of word 8·b + j / 4
//   word  d_off + b / 2         f16 d of block b in half b % 2 (low half first)
// Block b = row · cols / 32 + (index in row) / 32.
// value = q · d   (an 8-bit integer times an f16 is exact in f32)
// A chunk (8 values, c % 4 = k: values 8k .. 8k + 7 of its block) reads 2 qs words and the d word.

const CHUNK: u32 = 8u;

fn q8_0_d(d_off: u32, b: u32) -> f32 {
  let dd = unpack2x16float(W[d_off + (b >> 1u)]);
  return select(dd.x, dd.y, (b & 1u) == 1u);
}

// the four signed bytes of w as integer-valued floats, byte 0 first
fn q8_0_bytes(w: u32) -> vec4<f32> {
  let s = bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
  return vec4<f32>(s);
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let b = row * (cols >> 5u) + (c >> 2u);
  let qw = 8u * b + 2u * (c & 3u);
  let d = q8_0_d(d_off, b);
  let lo = q8_0_bytes(W[qw]) * d;
  let hi = q8_0_bytes(W[qw + 1u]) * d;
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let b = row * (cols >> 5u) + (i >> 5u);
  let j = i & 31u;
  let q = extractBits(bitcast<i32>(W[8u * b + (j >> 2u)]), 8u * (j & 3u), 8u);
  return f32(q) * q8_0_d(d_off, b);
}

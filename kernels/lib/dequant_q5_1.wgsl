// dequant_q5_1: Q5_1 weights (ggml block_q5_1). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q5_1.ts (dequant_q5_1)
//
// A row is cols / 32 blocks of 32 values, 24 bytes = 6 words each, uploaded byte for byte
// (src/gpu/repack.ts). Words of block b (base = 6·b):
//   0      d | m     f16 scale d in the low half, f16 minimum m in the high half
//   1      qh        bit j is the 5th bit (value 16) of value j
//   2..5   qs[16]    byte j (word 2 + j / 4, byte j % 4) holds the low 4 bits of value j in its
//                    low nibble and of value j + 16 in its high nibble
// Block b = row · cols / 32 + (index in row) / 32.
// value = q · d + m   (q · d is exact in f32, so a fused multiply-add rounds the same as the reference)
// A chunk (8 values, c % 4 = k: values 8k .. 8k + 7) reads words 0 and 1 and qs words 2 + 2·(k % 2)
// and 3 + 2·(k % 2), low nibbles for k < 2, high nibbles for k ≥ 2.

const CHUNK: u32 = 8u;

// 4 values: low nibbles in bytes 0..3 of w (shifted already), 5th bits in bits 0..3 of h
fn q5_1_quad(w: u32, h: u32) -> vec4<f32> {
  let lo = (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu);
  let hi = ((vec4<u32>(h) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
  return vec4<f32>(lo | hi);
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let base = 6u * (row * (cols >> 5u) + (c >> 2u));
  let k = c & 3u;
  let qw = base + 2u + 2u * (k & 1u);
  let sh = 4u * (k >> 1u);
  let dm = unpack2x16float(W[base]);
  let h = W[base + 1u] >> (8u * k);
  let lo = q5_1_quad(W[qw] >> sh, h) * dm.x + dm.y;
  let hi = q5_1_quad(W[qw + 1u] >> sh, h >> 4u) * dm.x + dm.y;
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let base = 6u * (row * (cols >> 5u) + (i >> 5u));
  let e = i & 31u;
  let j = e & 15u;
  let lo = (W[base + 2u + (j >> 2u)] >> (8u * (j & 3u) + 4u * (e >> 4u))) & 0xfu;
  let hi = ((W[base + 1u] >> e) & 1u) << 4u;
  let dm = unpack2x16float(W[base]);
  return f32(lo | hi) * dm.x + dm.y;
}

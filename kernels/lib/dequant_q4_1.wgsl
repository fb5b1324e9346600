// dequant_q4_1: Q4_1 weights (ggml block_q4_1). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q4_1.ts (dequant_q4_1)
//
// A row is cols / 32 blocks of 32 values, 20 bytes = 5 words each, uploaded byte for byte
// (src/gpu/repack.ts). Words of block b (base = 5·b):
//   0      d | m     f16 scale d in the low half, f16 minimum m in the high half
//   1..4   qs[16]    byte j (word 1 + j / 4, byte j % 4) holds value j in its low nibble and
//                    value j + 16 in its high nibble
// Block b = row · cols / 32 + (index in row) / 32.
// value = q · d + m   (q · d is exact in f32, so a fused multiply-add rounds the same as the reference)
// A chunk (8 values, c % 4 = k: values 8k .. 8k + 7) reads word 0 and qs words 1 + 2·(k % 2) and
// 2 + 2·(k % 2), low nibbles for k < 2, high nibbles for k ≥ 2.

const CHUNK: u32 = 8u;

fn q4_1_nibbles(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu));
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let base = 5u * (row * (cols >> 5u) + (c >> 2u));
  let k = c & 3u;
  let qw = base + 1u + 2u * (k & 1u);
  let sh = 4u * (k >> 1u);
  let dm = unpack2x16float(W[base]);
  let lo = q4_1_nibbles(W[qw] >> sh) * dm.x + dm.y;
  let hi = q4_1_nibbles(W[qw + 1u] >> sh) * dm.x + dm.y;
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let base = 5u * (row * (cols >> 5u) + (i >> 5u));
  let j = i & 15u;
  let q = (W[base + 1u + (j >> 2u)] >> (8u * (j & 3u) + 4u * ((i >> 4u) & 1u))) & 0xfu;
  let dm = unpack2x16float(W[base]);
  return f32(q) * dm.x + dm.y;
}

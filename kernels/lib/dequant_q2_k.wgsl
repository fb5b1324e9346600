// dequant_q2_k: Q2_K weights (ggml block_q2_K). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q2_k.ts (dequant_q2_k)
//
// A row is cols / 256 super-blocks of 84 bytes = 21 words, uploaded byte for byte (src/gpu/repack.ts).
// Words of block b (base = 21·b), element e = 128h + 32k + l of the block (h 0..1, k 0..3, l 0..31):
//   0..3    scales[16]  sub-block s = e / 16: byte s of the four words, scale = & 15, min = >> 4
//   4..19   qs[64]      q = byte 32h + l, bits 2k..2k+1  (word 4 + 8h + l / 4, byte l % 4)
//   20      d | dmin    f16 d in the low half, f16 dmin in the high half
// value = (d·scale)·q − dmin·min
// A chunk (8 values, e = 8j .. 8j + 7 for j = c % 32) shares h, k and the sub-block: it reads
// 4 words: two of qs, one of scales, and d | dmin.

const CHUNK: u32 = 8u;

// the four bytes of w as integer-valued floats, byte 0 first
fn q2k_bytes(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let base = (row * (cols >> 8u) + (c >> 5u)) * 21u;
  let j = c & 31u;                                   // chunk within the block: e0 = 8j
  let h = j >> 4u;
  let k = (j >> 2u) & 3u;
  let s = j >> 1u;                                   // sub-block of 16
  let dm = unpack2x16float(W[base + 20u]);
  let sc = (W[base + (s >> 2u)] >> (8u * (s & 3u))) & 0xffu;
  let dl = dm.x * f32(sc & 0xfu);
  let ml = dm.y * f32(sc >> 4u);
  let qw = base + 4u + 8u * h + 2u * (j & 3u);
  let lo = dl * q2k_bytes((W[qw] >> (2u * k)) & 0x03030303u) - ml;
  let hi = dl * q2k_bytes((W[qw + 1u] >> (2u * k)) & 0x03030303u) - ml;
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let base = (row * (cols >> 8u) + (i >> 8u)) * 21u;
  let e = i & 255u;
  let h = e >> 7u;
  let k = (e >> 5u) & 3u;
  let l = e & 31u;
  let s = e >> 4u;
  let dm = unpack2x16float(W[base + 20u]);
  let sc = (W[base + (s >> 2u)] >> (8u * (s & 3u))) & 0xffu;
  let dl = dm.x * f32(sc & 0xfu);
  let ml = dm.y * f32(sc >> 4u);
  let q = (W[base + 4u + 8u * h + (l >> 2u)] >> (8u * (l & 3u) + 2u * k)) & 3u;
  return dl * f32(q) - ml;
}

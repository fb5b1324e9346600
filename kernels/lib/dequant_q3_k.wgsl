// dequant_q3_k: Q3_K weights (ggml block_q3_K). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q3_k.ts (dequant_q3_k)
//
// GPU layout (src/gpu/repack.ts): a row is cols / 256 super-blocks of 108 bytes = 27 words (the
// 110-byte ggml block without its trailing f16 d); the d of block b is half b % 2 of word
// d_off + b / 2. Words of block b (base = 27·b), element e = 128h + 32k + l (h 0..1, k 0..3, l 0..31):
//   0..7    hmask[32]   high bit of e = bit 4h + k (= e / 32) of byte l  (word l / 4, byte l % 4)
//   8..23   qs[64]      low 2 bits = byte 32h + l, bits 2k..2k+1  (word 8 + 8h + l / 4, byte l % 4)
//   24..26  scales[12]  sub-block s = e / 16 (0..15), 6-bit scale stored +32:
//                       low 4 bits  = byte s % 8 (words 24..25), bits 4·(s / 8)..+3
//                       high 2 bits = byte 8 + s % 4 (word 26),  bits 2·(s / 4)..+1
// value = (d·(scale − 32))·(q − (high bit ? 0 : 4))
// A chunk (8 values, e = 8j .. 8j + 7 for j = c % 32) shares h, k and the sub-block: it reads
// 7 words: two of qs, two of hmask, two of scales, and the one holding d.

const CHUNK: u32 = 8u;

// the four bytes of w as integer-valued floats, byte 0 first
fn q3k_bytes(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// d·(scale − 32) of sub-block s of the block at word `base`
fn q3k_dl(base: u32, s: u32, d: f32) -> f32 {
  let lo = (W[base + 24u + ((s & 7u) >> 2u)] >> (8u * (s & 3u) + 4u * (s >> 3u))) & 0xfu;
  let hi = (W[base + 26u] >> (8u * (s & 3u) + 2u * (s >> 2u))) & 3u;
  return d * f32(i32(lo | (hi << 4u)) - 32);
}

fn q3k_d(b: u32, d_off: u32) -> f32 {
  return unpack2x16float(W[d_off + (b >> 1u)] >> (16u * (b & 1u))).x;
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let b = row * (cols >> 8u) + (c >> 5u);
  let base = b * 27u;
  let j = c & 31u;                                   // chunk within the block: e0 = 8j
  let h = j >> 4u;
  let k = (j >> 2u) & 3u;
  let m = j >> 2u;                                   // hmask bit = 4h + k
  let dl = q3k_dl(base, j >> 1u, q3k_d(b, d_off));
  let qw = base + 8u + 8u * h + 2u * (j & 3u);
  let hw = base + 2u * (j & 3u);
  // per byte: low 2 bits | high bit << 2, i.e. q + 4 in 0..7
  let q0 = ((W[qw] >> (2u * k)) & 0x03030303u) | (((W[hw] >> m) & 0x01010101u) << 2u);
  let q1 = ((W[qw + 1u] >> (2u * k)) & 0x03030303u) | (((W[hw + 1u] >> m) & 0x01010101u) << 2u);
  let lo = dl * (q3k_bytes(q0) - 4.0);
  let hi = dl * (q3k_bytes(q1) - 4.0);
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let b = row * (cols >> 8u) + (i >> 8u);
  let base = b * 27u;
  let e = i & 255u;
  let h = e >> 7u;
  let k = (e >> 5u) & 3u;
  let l = e & 31u;
  let dl = q3k_dl(base, e >> 4u, q3k_d(b, d_off));
  let sh = 8u * (l & 3u);
  let q = (W[base + 8u + 8u * h + (l >> 2u)] >> (sh + 2u * k)) & 3u;
  let hb = (W[base + (l >> 2u)] >> (sh + (e >> 5u))) & 1u;
  return dl * f32(i32(q | (hb << 2u)) - 4);
}

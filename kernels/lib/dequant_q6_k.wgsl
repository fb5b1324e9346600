// dequant_q6_k: Q6_K weights (ggml block_q6_K). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q6_k.ts (dequant_q6_k)
//
// GPU layout (src/gpu/repack.ts): a row is cols / 256 super-blocks of 208 bytes = 52 words (the
// 210-byte ggml block without its trailing f16 d); the d of block b is half b % 2 of word
// d_off + b / 2. Words of block b (base = 52·b), element e = 128h + 32k + l (h 0..1, k 0..3, l 0..31):
//   0..31   ql[128]     low 4 bits = byte 64h + 32·(k % 2) + l, low nibble for k < 2, high for k ≥ 2
//                       (word 16h + 8·(k % 2) + l / 4, byte l % 4)
//   32..47  qh[64]      high 2 bits = byte 32h + l, bits 2k..2k+1  (word 32 + 8h + l / 4, byte l % 4)
//   48..51  scales[16]  int8 scale of sub-block s = e / 16: byte s % 4 of word 48 + s / 4
// value = (d·scale)·(q − 32),  q = low | high << 4 in 0..63
// A chunk (8 values, e = 8j .. 8j + 7 for j = c % 32) shares h, k and the sub-block: it reads
// 6 words: two of ql, two of qh, one of scales, and the one holding d.

const CHUNK: u32 = 8u;

// the four bytes of w as integer-valued floats, byte 0 first
fn q6k_bytes(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// d·scale of sub-block s of block b (at word `base`)
fn q6k_dl(base: u32, b: u32, s: u32, d_off: u32) -> f32 {
  let d = unpack2x16float(W[d_off + (b >> 1u)] >> (16u * (b & 1u))).x;
  let sc = extractBits(bitcast<i32>(W[base + 48u + (s >> 2u)]), 8u * (s & 3u), 8u);   // sign-extended int8
  return d * f32(sc);
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let b = row * (cols >> 8u) + (c >> 5u);
  let base = b * 52u;
  let j = c & 31u;                                   // chunk within the block: e0 = 8j
  let h = j >> 4u;
  let k = (j >> 2u) & 3u;
  let dl = q6k_dl(base, b, j >> 1u, d_off);
  let lw = base + 16u * h + 8u * (k & 1u) + 2u * (j & 3u);
  let hw = base + 32u + 8u * h + 2u * (j & 3u);
  let ls = 4u * (k >> 1u);
  // per byte: low nibble | high 2 bits << 4, i.e. q in 0..63
  let q0 = ((W[lw] >> ls) & 0x0f0f0f0fu) | (((W[hw] >> (2u * k)) & 0x03030303u) << 4u);
  let q1 = ((W[lw + 1u] >> ls) & 0x0f0f0f0fu) | (((W[hw + 1u] >> (2u * k)) & 0x03030303u) << 4u);
  let lo = dl * (q6k_bytes(q0) - 32.0);
  let hi = dl * (q6k_bytes(q1) - 32.0);
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let b = row * (cols >> 8u) + (i >> 8u);
  let base = b * 52u;
  let e = i & 255u;
  let h = e >> 7u;
  let k = (e >> 5u) & 3u;
  let l = e & 31u;
  let dl = q6k_dl(base, b, e >> 4u, d_off);
  let sh = 8u * (l & 3u);
  let lo = (W[base + 16u * h + 8u * (k & 1u) + (l >> 2u)] >> (sh + 4u * (k >> 1u))) & 0xfu;
  let hb = (W[base + 32u + 8u * h + (l >> 2u)] >> (sh + 2u * k)) & 3u;
  return dl * f32(i32(lo | (hb << 4u)) - 32);
}

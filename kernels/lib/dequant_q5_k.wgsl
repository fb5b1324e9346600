// dequant_q5_k: Q5_K weights (ggml block_q5_K). See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/q5_k.ts (dequant_q5_k), scaleMinK4 in src/formats/quant/common.ts
//
// A row is cols / 256 super-blocks of 176 bytes = 44 words, uploaded byte for byte (src/gpu/repack.ts).
// Words of block b (base = 44·b), element e = 32t + l of the block (sub-block t 0..7, l 0..31):
//   0       d | dmin    f16 d in the low half, f16 dmin in the high half
//   1..3    scales[12]  6-bit scale and min of sub-block t, u = t % 4, byte u of words 1, 2, 3 = B1, B2, B3:
//                       t < 4: scale = B1 & 63,                   min = B2 & 63
//                       t ≥ 4: scale = B3 & 15 | (B1 >> 6) << 4,  min = B3 >> 4 | (B2 >> 6) << 4
//   4..11   qh[32]      5th bit of e = bit t of byte l  (word 4 + l / 4, byte l % 4)
//   12..43  qs[128]     low 4 bits = byte 32·(t / 2) + l, low nibble if t is even, high if odd
//                       (word 12 + 8·(t / 2) + l / 4, byte l % 4)
// value = (d·scale)·(q + 16·bit) − dmin·min
// A chunk (8 values, e = 8j .. 8j + 7 for j = c % 32) lies in one sub-block: it reads 8 words:
// d | dmin, the three scale words (word 3 only matters for t ≥ 4; all four sit in one 16-byte
// segment, so it is loaded unconditionally rather than behind a branch), two of qh, two of qs.

const CHUNK: u32 = 8u;

// the four bytes of w as integer-valued floats, byte 0 first
fn q5k_bytes(w: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// (d·scale, dmin·min) of sub-block t of the block at word `base`
fn q5k_scale_min(base: u32, t: u32) -> vec2<f32> {
  let dm = unpack2x16float(W[base]);
  let sh = 8u * (t & 3u);
  let b1 = (W[base + 1u] >> sh) & 0xffu;
  let b2 = (W[base + 2u] >> sh) & 0xffu;
  let b3 = (W[base + 3u] >> sh) & 0xffu;
  let low = t < 4u;
  let sc = select((b3 & 0xfu) | ((b1 >> 6u) << 4u), b1 & 63u, low);
  let mn = select((b3 >> 4u) | ((b2 >> 6u) << 4u), b2 & 63u, low);
  return vec2<f32>(dm.x * f32(sc), dm.y * f32(mn));
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let base = (row * (cols >> 8u) + (c >> 5u)) * 44u;
  let j = c & 31u;                                   // chunk within the block: e0 = 8j
  let t = j >> 2u;                                   // sub-block of 32
  let dm = q5k_scale_min(base, t);
  let qw = base + 12u + 8u * (t >> 1u) + 2u * (j & 3u);
  let hw = base + 4u + 2u * (j & 3u);
  let sh = 4u * (t & 1u);
  // per byte: low nibble | 5th bit << 4, i.e. q in 0..31
  let q0 = ((W[qw] >> sh) & 0x0f0f0f0fu) | (((W[hw] >> t) & 0x01010101u) << 4u);
  let q1 = ((W[qw + 1u] >> sh) & 0x0f0f0f0fu) | (((W[hw + 1u] >> t) & 0x01010101u) << 4u);
  let lo = dm.x * q5k_bytes(q0) - dm.y;
  let hi = dm.x * q5k_bytes(q1) - dm.y;
  return array<f32, CHUNK>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let base = (row * (cols >> 8u) + (i >> 8u)) * 44u;
  let e = i & 255u;
  let t = e >> 5u;
  let l = e & 31u;
  let dm = q5k_scale_min(base, t);
  let sh = 8u * (l & 3u);
  let q = (W[base + 12u + 8u * (t >> 1u) + (l >> 2u)] >> (sh + 4u * (t & 1u))) & 0xfu;
  let hb = (W[base + 4u + (l >> 2u)] >> (sh + t)) & 1u;
  return dm.x * f32(q | (hb << 4u)) - dm.y;
}

// dequant_bf16: BF16 weights (the high 16 bits of an f32), two values per u32 word.
// See kernels/lib/README.md for the contract. Reference: src/formats/quant/float.ts (dequant_bf16)
//
// Uploaded byte for byte (src/gpu/repack.ts): element e = row·cols + i of the tensor is half e & 1 of
// word e >> 1 (low half first). `cols` may be odd, so a row may start in the high half of a word.
// A bf16 h is the f32 with bits h << 16: exact, no `shader-f16` needed.

const CHUNK: u32 = 4u;

// the two bf16 of word w as f32 (low half first)
fn bf16_pair(w: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let e = row * cols + c * CHUNK;
  let w = e >> 1u;
  let a = bf16_pair(W[w]);
  let b = bf16_pair(W[w + 1u]);
  if ((e & 1u) == 0u) {
    return array<f32, CHUNK>(a.x, a.y, b.x, b.y);
  }
  // odd start (odd cols, odd row): the values straddle three words
  let d = bf16_pair(W[w + 2u]);
  return array<f32, CHUNK>(a.y, b.x, b.y, d.x);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let e = row * cols + i;
  let w = W[e >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (e & 1u) == 1u));
}

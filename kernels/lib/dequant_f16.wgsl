// dequant_f16: F16 weights (IEEE binary16), two values per u32 word. See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/float.ts (dequant_f16)
//
// Uploaded byte for byte (src/gpu/repack.ts): element e = row·cols + i of the tensor is half e & 1 of
// word e >> 1 (low half first). `cols` may be odd, so a row may start in the high half of a word.
// unpack2x16float converts exactly (every f16 is an f32); `shader-f16` is not needed.

const CHUNK: u32 = 4u;

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let e = row * cols + c * CHUNK;
  let w = e >> 1u;
  let a = unpack2x16float(W[w]);
  let b = unpack2x16float(W[w + 1u]);
  if ((e & 1u) == 0u) {
    return array<f32, CHUNK>(a.x, a.y, b.x, b.y);
  }
  // odd start (odd cols, odd row): the values straddle three words
  let d = unpack2x16float(W[w + 2u]);
  return array<f32, CHUNK>(a.y, b.x, b.y, d.x);
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  let e = row * cols + i;
  let v = unpack2x16float(W[e >> 1u]);
  return select(v.x, v.y, (e & 1u) == 1u);
}

// dequant_f32: F32 weights, one u32 word per value. See kernels/lib/README.md for the contract.
// Reference: src/formats/quant/float.ts (dequant_f32)

const CHUNK: u32 = 4u;

fn load_chunk(row: u32, c: u32, cols: u32, d_off: u32) -> array<f32, CHUNK> {
  let e = row * cols + c * CHUNK;
  return array<f32, CHUNK>(bitcast<f32>(W[e]), bitcast<f32>(W[e + 1u]), bitcast<f32>(W[e + 2u]), bitcast<f32>(W[e + 3u]));
}

fn load_one(row: u32, i: u32, cols: u32, d_off: u32) -> f32 {
  return bitcast<f32>(W[row * cols + i]);
}

// round_activations: x rounded to the precision llama.cpp's CPU backend converts activations to before a
//   product with F16 or BF16 weights (their vec_dot_type): op 0 to f16 (round to nearest even), op 1 to
//   bf16 (ggml_compute_fp32_to_bf16: ties to even); the values stay f32 (exactly representable).
// Threads: elements [i0, i1).
// Memory: x f32 [count], y f32 [count] (may be x).
// Reference: src/formats/half.ts (f32ToF16, f32ToBf16)
import { f16_to_f32, f32_to_f16 } from './lib/half';

export function round_activations(op: i32, x: usize, y: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    if (op == 0) {
      store<f32>(y + o, f16_to_f32(f32_to_f16(v)));
    } else {
      const u = reinterpret<u32>(v);
      store<u32>(y + o, ((u + 0x7fff + ((u >> 16) & 1)) >> 16) << 16);
    }
  }
}

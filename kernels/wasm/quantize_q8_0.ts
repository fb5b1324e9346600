// quantize_q8_0: per block of 32 of each row of x, d = max|x|/127, q = round_even(x·(127/max|x|)) (0 where the
//   block is all zeros), d stored as the f32 value of its f16 rounding (ggml's block_q8_0 keeps an f16 d)
// Threads: rows [r0, r1) of x (each row alone).
// Memory: x f32 [n, k] (k % 32 == 0), q i8 [n, k], d f32 [n, k/32].
// Reference: src/reference/matmul_int8.ts (quantizeActivations)
import { f16_to_f32, f32_to_f16 } from './lib/half';

export function quantize_q8_0(x: usize, q: usize, d: usize, k: i32, r0: i32, r1: i32): void {
  const nb = k >> 5;
  for (let r = r0; r < r1; r++) {
    for (let b = 0; b < nb; b++) {
      const xp = x + ((<usize>r * <usize>k + (<usize>b << 5)) << 2);
      let m = f32x4.abs(v128.load(xp));
      for (let j = 16; j < 128; j += 16) m = f32x4.max(m, f32x4.abs(v128.load(xp + j)));
      const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
      const db: f32 = amax / 127;
      // 127/amax, not 1/d: ggml's x86 quantize_row_q8_0 (the two differ in f32 on values halfway between steps)
      const id: f32 = amax > 0 ? <f32>127 / amax : 0;
      store<f32>(d + ((<usize>r * <usize>nb + <usize>b) << 2), f16_to_f32(f32_to_f16(db)));
      const ids = f32x4.splat(id);
      const qp = q + <usize>r * <usize>k + (<usize>b << 5);
      for (let j = 0; j < 32; j += 16) {
        // 16 values: round to nearest even in f32, convert, narrow i32 → i16 → i8 (|q| ≤ 127: no saturation)
        const v0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>j << 2)), ids)));
        const v1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>j << 2) + 16), ids)));
        const v2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>j << 2) + 32), ids)));
        const v3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>j << 2) + 48), ids)));
        v128.store(qp + j, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(v0, v1), i16x8.narrow_i32x4_s(v2, v3)));
      }
    }
  }
}

// matmul_q4_0: y[t, o] = Σ_b d_w[o,b]·d_x[t,b]·Σ_j (w4[o,32b+j] − 8)·q_x[t,32b+j] (+ bias[o]) (+ add[t, o])
//   Q4_0 weights times int8 activations (quantize_q8_0), llama.cpp's CPU arithmetic (ggml_vec_dot_q4_0_q8_0):
//   an exact integer sum per block, scaled and summed in f32 over blocks in 4 lanes, lanes added at the end.
// Threads: output rows [o0, o1), every token.
// Memory: w: GGUF Q4_0 [out, k] (18-byte blocks: f16 d, 16 bytes: element j in the low nibble of byte j,
//   element j+16 in its high nibble), q i8 [n, k], d f32 [n, k/32], bias f32 [out] or 0,
//   add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass share each activation load.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish, hsum } from './lib/dot';
import { f16_to_f32 } from './lib/half';

// @ts-ignore: decorator
@inline
function block_dot(wb: usize, xa: v128, xb: v128): v128 {
  const packed = v128.load(wb + 2);
  const eight = i8x16.splat(8);
  const lo = i8x16.sub(v128.and(packed, i8x16.splat(0x0f)), eight); // elements 0..15, −8..7
  const hi = i8x16.sub(i8x16.shr_u(packed, 4), eight); // elements 16..31
  // |w·x| ≤ 8·127: two products and their pair sum fit an i16 lane
  const s0 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extmul_low_i8x16_s(lo, xa), i16x8.extmul_high_i8x16_s(lo, xa)));
  const s1 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extmul_low_i8x16_s(hi, xb), i16x8.extmul_high_i8x16_s(hi, xb)));
  return i32x4.add(s0, s1);
}

export function matmul_q4_0(w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 5;
  const rowBytes = <usize>nb * 18;
  let o = o0;
  for (; o + 4 <= o1; o += 4) {
    const r0 = w + <usize>o * rowBytes;
    const r1 = r0 + rowBytes;
    const r2 = r1 + rowBytes;
    const r3 = r2 + rowBytes;
    for (let t = 0; t < n; t++) {
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      for (let b = 0; b < nb; b++) {
        const xa = v128.load(qt + (<usize>b << 5));
        const xb = v128.load(qt + (<usize>b << 5) + 16);
        const dx = load<f32>(dt + (<usize>b << 2));
        const ob = <usize>b * 18;
        a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(block_dot(r0 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r0 + ob)) * dx)));
        a1 = f32x4.add(a1, f32x4.mul(f32x4.convert_i32x4_s(block_dot(r1 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r1 + ob)) * dx)));
        a2 = f32x4.add(a2, f32x4.mul(f32x4.convert_i32x4_s(block_dot(r2 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r2 + ob)) * dx)));
        a3 = f32x4.add(a3, f32x4.mul(f32x4.convert_i32x4_s(block_dot(r3 + ob, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(r3 + ob)) * dx)));
      }
      finish(y, bias, add, t, o, out, hsum(a0));
      finish(y, bias, add, t, o + 1, out, hsum(a1));
      finish(y, bias, add, t, o + 2, out, hsum(a2));
      finish(y, bias, add, t, o + 3, out, hsum(a3));
    }
  }
  for (; o < o1; o++) {
    const r0 = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      let a0 = f32x4.splat(0);
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      for (let b = 0; b < nb; b++) {
        const ob = <usize>b * 18;
        const s = block_dot(r0 + ob, v128.load(qt + (<usize>b << 5)), v128.load(qt + (<usize>b << 5) + 16));
        a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(f16_to_f32(load<u16>(r0 + ob)) * load<f32>(dt + (<usize>b << 2)))));
      }
      finish(y, bias, add, t, o, out, hsum(a0));
    }
  }
}

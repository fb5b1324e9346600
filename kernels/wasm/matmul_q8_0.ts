// matmul_q8_0: y[t, o] = Σ_b d_w[o,b]·d_x[t,b]·Σ_j w[o,32b+j]·q_x[t,32b+j] (+ bias[o]) (+ add[t, o])
//   Q8_0 weights times int8 activations (quantize_q8_0), llama.cpp's CPU arithmetic: an exact integer
//   sum per block of 32, then in f32 the block's scales (f16 weight scale · activation scale) times it,
//   summed over blocks in 4 lanes (block b in lane b mod 4... each lane a partial of the block's 4 i32
//   partials), lanes added at the end.
// Threads: output rows [o0, o1), every token (rows are independent).
// Memory: w: GGUF Q8_0 [out, k] (34-byte blocks: f16 d, 32 × i8), q i8 [n, k], d f32 [n, k/32],
//   bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass share each activation load.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish, hsum } from './lib/dot';
import { f16_to_f32 } from './lib/half';

// @ts-ignore: decorator
@inline
function block_dot(wb: usize, xa: v128, xb: v128): v128 {
  // |w·x| ≤ 127·127: two products fit an i16 lane, so low + high halves add in i16 before widening
  const w0 = v128.load(wb + 2);
  const w1 = v128.load(wb + 18);
  const s0 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extmul_low_i8x16_s(w0, xa), i16x8.extmul_high_i8x16_s(w0, xa)));
  const s1 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.extmul_low_i8x16_s(w1, xb), i16x8.extmul_high_i8x16_s(w1, xb)));
  return i32x4.add(s0, s1);
}

export function matmul_q8_0(w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 5;
  const rowBytes = <usize>nb * 34;
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
        const ob = <usize>b * 34;
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
        const ob = <usize>b * 34;
        const s = block_dot(r0 + ob, v128.load(qt + (<usize>b << 5)), v128.load(qt + (<usize>b << 5) + 16));
        a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(f16_to_f32(load<u16>(r0 + ob)) * load<f32>(dt + (<usize>b << 2)))));
      }
      finish(y, bias, add, t, o, out, hsum(a0));
    }
  }
}

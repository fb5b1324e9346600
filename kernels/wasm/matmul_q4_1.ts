// matmul_q4_1: y[t, o] = Σ_b (d_w[o,b]·d_x[t,b]·Σ_j w4[o,32b+j]·q_x[t,32b+j] + m_w[o,b]·s_x[t,b]) (+ bias[o]) (+ add[t, o])
//   Q4_1 weights (value = d·q + m, q ∈ [0, 15]) times Q8_1 activations (quantize_q8_1: int8 q, scale d,
//   s = d·Σq per block), llama.cpp's CPU arithmetic (ggml_vec_dot_q4_1_q8_1): an exact integer sum per
//   block, scaled in f32 and summed over blocks in 4 lanes; the min terms m·s summed apart in f32, as
//   ggml's x86 code does (summs); lanes added, then the min sum.
// Threads: output rows [o0, o1), every token (each row's arithmetic is the same in the 4-row body and the tail).
// Memory: w: GGUF Q4_1 [out, k] (20-byte blocks: f16 d, f16 m, 16 bytes: element j in the low nibble of
//   byte j, element j+16 in its high nibble), q i8 [n, k], d f32 [n, k/32], s f32 [n, k/32],
//   bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass share each activation load.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish, hsum } from './lib/dot';
import { f16_to_f32 } from './lib/half';

const BLOCK: usize = 20;

// @ts-ignore: decorator
@inline
function block_dot(wb: usize, xa: v128, xb: v128): v128 {
  const packed = v128.load(wb + 4);
  const lo = v128.and(packed, i8x16.splat(0x0f)); // elements 0..15, 0..15
  const hi = i8x16.shr_u(packed, 4); // elements 16..31
  // |w·x| ≤ 15·127: four products and their sum fit an i16 lane
  const p = i16x8.add(
    i16x8.add(i16x8.extmul_low_i8x16_s(lo, xa), i16x8.extmul_high_i8x16_s(lo, xa)),
    i16x8.add(i16x8.extmul_low_i8x16_s(hi, xb), i16x8.extmul_high_i8x16_s(hi, xb)),
  );
  return i32x4.extadd_pairwise_i16x8_s(p);
}

// @ts-ignore: decorator
@inline
function term(wb: usize, xa: v128, xb: v128, dx: f32): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(block_dot(wb, xa, xb)), f32x4.splat(f16_to_f32(load<u16>(wb)) * dx));
}

export function matmul_q4_1(w: usize, q: usize, d: usize, s: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const nb = k >> 5;
  const rowBytes = <usize>nb * BLOCK;
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
      let m0: f32 = 0;
      let m1: f32 = 0;
      let m2: f32 = 0;
      let m3: f32 = 0;
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      const st = s + ((<usize>t * <usize>nb) << 2);
      for (let b = 0; b < nb; b++) {
        const xa = v128.load(qt + (<usize>b << 5));
        const xb = v128.load(qt + (<usize>b << 5) + 16);
        const dx = load<f32>(dt + (<usize>b << 2));
        const sx = load<f32>(st + (<usize>b << 2));
        const ob = <usize>b * BLOCK;
        a0 = f32x4.add(a0, term(r0 + ob, xa, xb, dx));
        a1 = f32x4.add(a1, term(r1 + ob, xa, xb, dx));
        a2 = f32x4.add(a2, term(r2 + ob, xa, xb, dx));
        a3 = f32x4.add(a3, term(r3 + ob, xa, xb, dx));
        m0 += f16_to_f32(load<u16>(r0 + ob + 2)) * sx;
        m1 += f16_to_f32(load<u16>(r1 + ob + 2)) * sx;
        m2 += f16_to_f32(load<u16>(r2 + ob + 2)) * sx;
        m3 += f16_to_f32(load<u16>(r3 + ob + 2)) * sx;
      }
      finish(y, bias, add, t, o, out, hsum(a0) + m0);
      finish(y, bias, add, t, o + 1, out, hsum(a1) + m1);
      finish(y, bias, add, t, o + 2, out, hsum(a2) + m2);
      finish(y, bias, add, t, o + 3, out, hsum(a3) + m3);
    }
  }
  for (; o < o1; o++) {
    const r0 = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      let a0 = f32x4.splat(0);
      let m0: f32 = 0;
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      const st = s + ((<usize>t * <usize>nb) << 2);
      for (let b = 0; b < nb; b++) {
        const ob = <usize>b * BLOCK;
        a0 = f32x4.add(a0, term(r0 + ob, v128.load(qt + (<usize>b << 5)), v128.load(qt + (<usize>b << 5) + 16), load<f32>(dt + (<usize>b << 2))));
        m0 += f16_to_f32(load<u16>(r0 + ob + 2)) * load<f32>(st + (<usize>b << 2));
      }
      finish(y, bias, add, t, o, out, hsum(a0) + m0);
    }
  }
}

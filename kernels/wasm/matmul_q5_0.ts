// matmul_q5_0: y[t, o] = Σ_b d_w[o,b]·d_x[t,b]·Σ_j (w5[o,32b+j] − 16)·q_x[t,32b+j] (+ bias[o]) (+ add[t, o])
//   Q5_0 weights times Q8_0 activations (int8 q and scale d per block: quantize_q8_1's q and d, which are
//   ggml's x86 quantize_row_q8_0), llama.cpp's CPU arithmetic (ggml_vec_dot_q5_0_q8_0): an exact integer
//   sum per block, scaled in f32 and summed over blocks in 4 lanes, lanes added at the end.
// Threads: output rows [o0, o1), every token (each row's arithmetic is the same in the 4-row body and the tail).
// Memory: w: GGUF Q5_0 [out, k] (22-byte blocks: f16 d, u32 qh: bit j is element j's fifth bit, 16 bytes:
//   element j's low 4 bits in the low nibble of byte j, element j+16's in its high nibble),
//   q i8 [n, k], d f32 [n, k/32], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass share each activation load.
// Reference: src/reference/matmul_int8.ts (matmulInt8)
import { finish, hsum } from './lib/dot';
import { f16_to_f32 } from './lib/half';
import { set_hi, set_lo } from './lib/q5';

const BLOCK: usize = 22;

// @ts-ignore: decorator
@inline
function block_dot(wb: usize, xa: v128, xb: v128): v128 {
  const qh = v128.load32_splat(wb + 2);
  const packed = v128.load(wb + 6);
  // an element whose fifth bit is clear gets 0xf0 over its nibble: as an i8 that is nibble − 16;
  // one whose bit is set keeps its nibble (nibble + 16 − 16)
  const neg = i8x16.splat(<i8>0xf0);
  const lo = v128.or(v128.and(packed, i8x16.splat(0x0f)), v128.andnot(neg, set_lo(qh))); // elements 0..15, −16..15
  const hi = v128.or(i8x16.shr_u(packed, 4), v128.andnot(neg, set_hi(qh))); // elements 16..31
  // |w·x| ≤ 16·127: four products and their sum fit an i16 lane
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

export function matmul_q5_0(w: usize, q: usize, d: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
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
      const qt = q + <usize>t * <usize>k;
      const dt = d + ((<usize>t * <usize>nb) << 2);
      for (let b = 0; b < nb; b++) {
        const xa = v128.load(qt + (<usize>b << 5));
        const xb = v128.load(qt + (<usize>b << 5) + 16);
        const dx = load<f32>(dt + (<usize>b << 2));
        const ob = <usize>b * BLOCK;
        a0 = f32x4.add(a0, term(r0 + ob, xa, xb, dx));
        a1 = f32x4.add(a1, term(r1 + ob, xa, xb, dx));
        a2 = f32x4.add(a2, term(r2 + ob, xa, xb, dx));
        a3 = f32x4.add(a3, term(r3 + ob, xa, xb, dx));
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
        a0 = f32x4.add(a0, term(r0 + <usize>b * BLOCK, v128.load(qt + (<usize>b << 5)), v128.load(qt + (<usize>b << 5) + 16), load<f32>(dt + (<usize>b << 2))));
      }
      finish(y, bias, add, t, o, out, hsum(a0));
    }
  }
}

// matmul_f16: y[t, o] = Σ_i w[o, i]·x[t, i] (+ bias[o]) (+ add[t, o]), F16 or BF16 weights (op 0 / 1)
//   widened to f32 in registers, times x already rounded to the same precision (round_activations),
//   as llama.cpp's CPU backend computes; f32 products and sums, 4 lanes then the lanes.
// Threads: output rows [o0, o1), every token.
// Memory: w f16/bf16 [out, k] (k % 4 == 0), x f32 [n, k], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass share each x load.
// Reference: src/reference/matmul.ts (with x rounded by src/formats/half.ts)
import { finish, hsum } from './lib/dot';

// @ts-ignore: decorator
@inline
function widen4(p: usize, bf16: bool): v128 {
  const h = i32x4.extend_low_i16x8_u(v128.load64_zero(p));
  if (bf16) return i32x4.shl(h, 16);
  // f16 → f32 for finite values: magnitude into place, rebias by 2^112, then the sign
  const mag = f32x4.mul(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), f32x4.splat(reinterpret<f32>(<u32>(127 + 112) << 23)));
  return v128.or(mag, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

export function matmul_f16(op: i32, w: usize, x: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const bf16 = op == 1;
  const rowBytes = <usize>k << 1;
  let o = o0;
  for (; o + 4 <= o1; o += 4) {
    const r0 = w + <usize>o * rowBytes;
    const r1 = r0 + rowBytes;
    const r2 = r1 + rowBytes;
    const r3 = r2 + rowBytes;
    for (let t = 0; t < n; t++) {
      const xt = x + ((<usize>t * <usize>k) << 2);
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      for (let i = 0; i < k; i += 4) {
        const xv = v128.load(xt + (<usize>i << 2));
        const off = <usize>i << 1;
        a0 = f32x4.add(a0, f32x4.mul(widen4(r0 + off, bf16), xv));
        a1 = f32x4.add(a1, f32x4.mul(widen4(r1 + off, bf16), xv));
        a2 = f32x4.add(a2, f32x4.mul(widen4(r2 + off, bf16), xv));
        a3 = f32x4.add(a3, f32x4.mul(widen4(r3 + off, bf16), xv));
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
      const xt = x + ((<usize>t * <usize>k) << 2);
      let a0 = f32x4.splat(0);
      for (let i = 0; i < k; i += 4) a0 = f32x4.add(a0, f32x4.mul(widen4(r0 + (<usize>i << 1), bf16), v128.load(xt + (<usize>i << 2))));
      finish(y, bias, add, t, o, out, hsum(a0));
    }
  }
}

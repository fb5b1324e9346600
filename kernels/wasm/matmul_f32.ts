// matmul_f32: y[t, o] = Σ_i w[o, i]·x[t, i] (+ bias[o]) (+ add[t, o]), f32 weights times f32 x
//   (llama.cpp's F32 vec_dot: f32 products and sums), 4 lanes then the lanes.
// Threads: output rows [o0, o1), every token.
// Memory: w f32 [out, k], x f32 [n, k], bias f32 [out] or 0, add f32 [n, out] or 0, y f32 [n, out].
// Tunables: 4 rows per pass share each x load.
// Reference: src/reference/matmul.ts
import { finish, hsum } from './lib/dot';

export function matmul_f32(w: usize, x: usize, bias: usize, add: usize, y: usize, k: i32, out: i32, n: i32, o0: i32, o1: i32): void {
  const rowBytes = <usize>k << 2;
  let o = o0;
  for (; o + 4 <= o1; o += 4) {
    const r0 = w + <usize>o * rowBytes;
    const r1 = r0 + rowBytes;
    const r2 = r1 + rowBytes;
    const r3 = r2 + rowBytes;
    for (let t = 0; t < n; t++) {
      const xt = x + <usize>t * rowBytes;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= k; i += 4) {
        const off = <usize>i << 2;
        const xv = v128.load(xt + off);
        a0 = f32x4.add(a0, f32x4.mul(v128.load(r0 + off), xv));
        a1 = f32x4.add(a1, f32x4.mul(v128.load(r1 + off), xv));
        a2 = f32x4.add(a2, f32x4.mul(v128.load(r2 + off), xv));
        a3 = f32x4.add(a3, f32x4.mul(v128.load(r3 + off), xv));
      }
      let s0 = hsum(a0);
      let s1 = hsum(a1);
      let s2 = hsum(a2);
      let s3 = hsum(a3);
      for (; i < k; i++) {
        const off = <usize>i << 2;
        const xv = load<f32>(xt + off);
        s0 += load<f32>(r0 + off) * xv;
        s1 += load<f32>(r1 + off) * xv;
        s2 += load<f32>(r2 + off) * xv;
        s3 += load<f32>(r3 + off) * xv;
      }
      finish(y, bias, add, t, o, out, s0);
      finish(y, bias, add, t, o + 1, out, s1);
      finish(y, bias, add, t, o + 2, out, s2);
      finish(y, bias, add, t, o + 3, out, s3);
    }
  }
  for (; o < o1; o++) {
    const r0 = w + <usize>o * rowBytes;
    for (let t = 0; t < n; t++) {
      const xt = x + <usize>t * rowBytes;
      let a0 = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= k; i += 4) a0 = f32x4.add(a0, f32x4.mul(v128.load(r0 + (<usize>i << 2)), v128.load(xt + (<usize>i << 2))));
      let s0 = hsum(a0);
      for (; i < k; i++) s0 += load<f32>(r0 + (<usize>i << 2)) * load<f32>(xt + (<usize>i << 2));
      finish(y, bias, add, t, o, out, s0);
    }
  }
}

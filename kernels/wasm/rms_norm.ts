// rms_norm: y = x / sqrt(mean(x²) + eps) · w over each group of g consecutive values of a row
//   (g = the row: an ordinary RMSNorm; g = head size: qwen3's per-head q/k norm); the sum of squares
//   in f64 (as ggml, and the reference), the scaling in f32.
// Threads: groups [r0, r1) (group i = values [i·g, (i+1)·g) of the flattened x).
// Memory: x f32 [groups · g], w f32 [g], y f32 [groups · g] (may be x).
// Reference: src/reference/rms_norm.ts

export function rms_norm(x: usize, w: usize, y: usize, g: i32, eps: f64, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const xr = x + ((<usize>r * <usize>g) << 2);
    const yr = y + ((<usize>r * <usize>g) << 2);
    let s2 = f64x2.splat(0);
    let ss: f64 = 0;
    let i = 0;
    for (; i + 4 <= g; i += 4) {
      const v = v128.load(xr + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      s2 = f64x2.add(s2, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
    }
    for (; i < g; i++) {
      const v = <f64>load<f32>(xr + (<usize>i << 2));
      ss += v * v;
    }
    ss += f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
    const scale = <f32>(1 / Math.sqrt(ss / <f64>g + eps));
    const sv = f32x4.splat(scale);
    i = 0;
    for (; i + 4 <= g; i += 4) {
      const o = <usize>i << 2;
      v128.store(yr + o, f32x4.mul(f32x4.mul(v128.load(xr + o), sv), v128.load(w + o)));
    }
    for (; i < g; i++) {
      const o = <usize>i << 2;
      store<f32>(yr + o, load<f32>(xr + o) * scale * load<f32>(w + o));
    }
  }
}

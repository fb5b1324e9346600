// quantize_q8_k: per block of 256 of each row of x (ggml's quantize_row_q8_K_ref, the activations of a
//   K-quant product): max = the x_j of largest |x_j| (the first of equals: it keeps its sign),
//   iscale = f32(−127/max), q_j = min(127, round_even(f32(iscale·x_j))), d = f32(1/iscale),
//   bsums = Σ q_j over each 16 values; an all-zero block has d = 0, q = 0, bsums = 0.
// Threads: rows [r0, r1) of x (each row alone).
// Memory: x f32 [n, k] (k % 256 == 0), q i8 [n, k], d f32 [n, k/256], bsums i16 [n, k/16].
// Reference: src/reference/quantize_q8_k.ts (quantizeQ8_K)

export function quantize_q8_k(x: usize, q: usize, d: usize, bsums: usize, k: i32, r0: i32, r1: i32): void {
  const nb = k >> 8;
  for (let r = r0; r < r1; r++) {
    for (let b = 0; b < nb; b++) {
      const e0 = <usize>r * <usize>k + (<usize>b << 8); // first element of the block
      const xp = x + (e0 << 2);
      const qp = q + e0;
      const sp = bsums + (e0 >> 3); // 16 i16 per block: e0/16 sums of 2 bytes
      // pmax(m, v) keeps m when v is NaN: a NaN is skipped, as the reference's `a > amax` skips it
      let m = f32x4.splat(0);
      for (let j: usize = 0; j < 1024; j += 16) m = f32x4.pmax(m, f32x4.abs(v128.load(xp + j)));
      const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
      const dp = d + ((<usize>r * <usize>nb + <usize>b) << 2);
      if (!(amax > 0)) {
        store<f32>(dp, 0);
        memory.fill(qp, 0, 256);
        memory.fill(sp, 0, 32);
        continue;
      }
      // the signed value of the first element with that magnitude
      let mx: f32 = 0;
      for (let j: usize = 0; j < 256; j++) {
        const v = load<f32>(xp + (j << 2));
        if (abs(v) == amax) {
          mx = v;
          break;
        }
      }
      const iscale: f32 = <f32>-127 / mx;
      store<f32>(dp, <f32>1 / iscale);
      const is = f32x4.splat(iscale);
      for (let j: usize = 0; j < 256; j += 16) {
        // 16 values: iscale·x in f32, rounded to nearest even, |·| ≤ 127 (the max maps to −127): the
        // narrowings never saturate, so min(127, ·) holds as is (a NaN converts to 0, as the reference's)
        const v0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (j << 2)), is)));
        const v1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (j << 2) + 16), is)));
        const v2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (j << 2) + 32), is)));
        const v3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (j << 2) + 48), is)));
        v128.store(qp + j, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(v0, v1), i16x8.narrow_i32x4_s(v2, v3)));
        const s = i32x4.add(i32x4.add(v0, v1), i32x4.add(v2, v3));
        store<i16>(sp + (j >> 3), <i16>(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)));
      }
    }
  }
}

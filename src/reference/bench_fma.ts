/**
 * bench_fma reference, in f32 (Math.fround after every operation). Thread t
 * runs 16 chains x_c(0) = (t mod 4096) + c, x_c(k+1) = x_c(k)·a + b for
 * `iters` steps, then sums them in the kernel's order:
 *   v[lane] = (x[lane] + x[4 + lane]) + (x[8 + lane] + x[12 + lane]),  out = (v0 + v1) + (v2 + v3).
 * The multiply and the add are rounded separately; a GPU may fuse them (one
 * rounding), which gives the same bits whenever x·a is exact in f32.
 * threads: the thread ids to compute → one value per id.
 */
export function benchFma(threads: ArrayLike<number>, iters: number, a: number, b: number): Float32Array {
  const f = Math.fround;
  const fa = f(a);
  const fb = f(b);
  const out = new Float32Array(threads.length);
  const x = new Float64Array(16);
  for (let j = 0; j < threads.length; j++) {
    const s = threads[j] % 4096;
    for (let c = 0; c < 16; c++) x[c] = s + c;
    for (let k = 0; k < iters; k++) for (let c = 0; c < 16; c++) x[c] = f(f(x[c] * fa) + fb);
    const v = [0, 1, 2, 3].map((l) => f(f(x[l] + x[4 + l]) + f(x[8 + l] + x[12 + l])));
    out[j] = f(f(v[0] + v[1]) + f(v[2] + v[3]));
  }
  return out;
}


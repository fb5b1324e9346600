/**
 * bench_fma on WebGPU vs src/reference/bench_fma.ts (f32, rounding after every
 * operation). A GPU may fuse x·a + b into one FMA; the cases say how that is
 * handled:
 * - a = 1, small integers: every value is an integer < 2²⁴, so every rounding is
 *   exact, fused or not, in any summation order: compared bit for bit. This also
 *   pins the iteration count (x = x₀ + ITERS·b).
 * - a = 0.5: x·a is exact, so fused and unfused round the same sum: the chains
 *   match bit for bit; only the final 16-term sum could be reassociated by a
 *   fast-math backend: 4 ulp.
 * - a = 0.9375, b = 0.1: x·a is not exact, so an FMA rounds once where the
 *   reference rounds twice: ≤ 1 ulp per step, damped by a each step, so at most
 *   Σ aᵏ ulp = 1/(1 − a) = 16 ulp of |x| in the end (+ the final sum): 1e-5 relative.
 */
import { benchFma } from '../../../src/gpu/kernels/bench_fma.ts';
import { benchFma as reference } from '../../../src/reference/bench_fma.ts';
import { compare, defineSuite, type Tolerance } from '../harness/suite.ts';

interface Case {
  threads: number;
  ITERS: number;
  a: number;
  b: number;
  WG?: number;
}

const EXACT: Tolerance = { atol: 0, rtol: 0, nmse: 0, why: 'integers < 2²⁴: every rounding is exact, fused or not' };
const HALF: Tolerance = { atol: 0, rtol: 4 * 2 ** -23, nmse: 1e-12, why: 'x·0.5 is exact (fusion changes nothing); final 16-term sum may be reassociated: 4 ulp' };
const DAMPED: Tolerance = { atol: 0, rtol: 1e-5, nmse: 1e-10, why: 'fused vs separate rounding: ≤ 1 ulp per step, damped by a = 15/16 → ≤ 16 ulp ≈ 2e-6, + the final sum' };

function tolerance(c: Case): Tolerance {
  if (c.a === 1) return EXACT;
  if (c.a === 0.5) return HALF;
  return DAMPED;
}

export default defineSuite<Case>({
  kernel: 'bench_fma',
  cases: [
    { threads: 1, ITERS: 4, a: 1, b: 1 },
    { threads: 257, ITERS: 256, a: 1, b: 1 }, // not a multiple of WG
    { threads: 5000, ITERS: 1024, a: 1, b: 3 }, // t mod 4096 wraps
    { threads: 1000, ITERS: 64, a: 0.5, b: 0.75, WG: 64 },
    { threads: 4099, ITERS: 64, a: 0.9375, b: 0.1 },
    { threads: 70000 * 2, ITERS: 4, a: 1, b: -1, WG: 2 }, // 70000 groups: 2-D grid
  ],
  name: (c) => `${c.threads} threads × ${c.ITERS} iters, a=${c.a} b=${c.b}${c.WG ? ` WG=${c.WG}` : ''}`,
  variant: (c) => `bench_fma|ITERS=${c.ITERS},WG=${c.WG ?? 256}`,
  async run(h, c) {
    const { out } = benchFma(h.rec, c.threads, c.a, c.b, { ITERS: c.ITERS, WG: c.WG });
    const p = h.rec.readback(out, 0, c.threads * 4);
    await h.rec.flush();
    const got = new Float32Array(await p);
    const want = reference(Uint32Array.from({ length: c.threads }, (_, i) => i), c.ITERS, c.a, c.b);
    return compare(got, want, tolerance(c));
  },
});

/**
 * Launcher for kernels/bench_fma.wgsl, the f32 multiply-add microbenchmark:
 * `nThreads` threads × 16 chains × ITERS steps of x = x·a + b, one value per thread.
 * `benchFmaPlan` is pure (variant, params, grid) so src/gpu/measure.ts can
 * encode the same dispatch into its own timed passes.
 */
import source from '@kernels/bench_fma.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel, type Variant } from '../kernel.ts';
import type { Recorder, TempBuffer } from '../recorder.ts';
import { grid1d } from '../tensor.ts';

export const benchFmaKernel = defineKernel('bench_fma', source);

/** independent multiply-add chains per thread (four vec4 registers in the kernel) */
export const BENCH_FMA_CHAINS = 16;

type Limits = Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupsPerDimension'>;

export interface BenchFmaTunables {
  /** threads per workgroup */
  WG: number;
  /** multiply-adds per chain, a multiple of 4 (the loop body is unrolled by 4) */
  ITERS: number;
}

export interface BenchFmaPlan {
  variant: Variant;
  params: { a: number; b: number; n_threads: number };
  grid: [number, number, number];
  /** floating-point operations of one dispatch (2 per multiply-add) */
  flops: number;
  ITERS: number;
}

export function benchFmaPlan(limits: Limits, nThreads: number, a: number, b: number, tun: Partial<BenchFmaTunables> = {}): BenchFmaPlan {
  const maxWg = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const WG = tun.WG ?? Math.min(256, maxWg);
  const ITERS = tun.ITERS ?? 256;
  if (!Number.isInteger(WG) || WG < 1 || WG > maxWg) throw new CriaError('limits', `bench_fma: WG=${WG} must be 1 .. ${maxWg} (maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX)`);
  if (!Number.isInteger(ITERS) || ITERS < 4 || ITERS % 4 !== 0) throw new CriaError('bad-argument', `bench_fma: ITERS=${ITERS} must be a positive multiple of 4`);
  if (!Number.isInteger(nThreads) || nThreads < 1 || nThreads >= 2 ** 32) throw new CriaError('bad-argument', `bench_fma: ${nThreads} threads`);
  const groups = Math.ceil(nThreads / WG);
  const maxDim = limits.maxComputeWorkgroupsPerDimension;
  if (groups > maxDim * maxDim) throw new CriaError('limits', `bench_fma: ${groups} workgroups exceed maxComputeWorkgroupsPerDimension² (${maxDim}²)`);
  return {
    variant: { overrides: { WG, ITERS } },
    params: { a, b, n_threads: nThreads },
    grid: grid1d(groups, maxDim),
    flops: nThreads * ITERS * BENCH_FMA_CHAINS * 2,
    ITERS,
  };
}

/** Run the recurrence on `nThreads` threads; returns the output (a temporary of nThreads f32). */
export function benchFma(rec: Recorder, nThreads: number, a: number, b: number, tun: Partial<BenchFmaTunables> = {}): { out: TempBuffer; plan: BenchFmaPlan } {
  const plan = benchFmaPlan(rec.device.limits, nThreads, a, b, tun);
  const out = rec.temp(nThreads * 4);
  rec.dispatch({ kernel: benchFmaKernel, variant: plan.variant, params: plan.params, bindings: [out], grid: plan.grid });
  return { out, plan };
}

/**
 * Launcher for kernels/bench_read.wgsl, the streaming-read microbenchmark:
 * per workgroup, the wrapping u32 sum of a slice of `src`.
 * `benchReadPlan` is pure (variant, params, grid) so src/gpu/measure.ts can
 * encode the same dispatch into its own timed passes.
 */
import source from '@kernels/bench_read.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel, type Variant } from '../kernel.ts';
import type { BufferRef, GpuBuf, Recorder, TempBuffer } from '../recorder.ts';
import { grid1d } from '../tensor.ts';

export const benchReadKernel = defineKernel('bench_read', source);

type Limits = Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupsPerDimension'>;

export interface BenchReadTunables {
  /** threads per workgroup */
  WG: number;
  /** vec4 loads per thread: a workgroup reads WG · VEC4_PER_THREAD · 16 bytes */
  VEC4_PER_THREAD: number;
}

export interface BenchReadPlan {
  variant: Variant;
  params: { n_vec4: number; n_groups: number };
  grid: [number, number, number];
  /** output words (one per workgroup) */
  groups: number;
  /** input words per workgroup (the reference's slice) */
  wordsPerGroup: number;
}

/**
 * Tunables within the device's limits: WG = 256 where allowed (every WebGPU device allows 256
 * by default), VEC4_PER_THREAD = 16, i.e. 64 KiB per workgroup: thousands of workgroups for a
 * buffer of 64+ MiB, enough to fill any GPU, and few enough that the per-workgroup reduction
 * and write are noise. (CPU adapters want far bigger slices: see src/gpu/measure.ts.)
 */
export function benchReadPlan(limits: Limits, nVec4: number, tun: Partial<BenchReadTunables> = {}): BenchReadPlan {
  const maxWg = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const WG = tun.WG ?? Math.min(256, maxWg);
  const VEC4_PER_THREAD = tun.VEC4_PER_THREAD ?? 16;
  if (!Number.isInteger(WG) || WG < 1 || WG > maxWg) {
    throw new CriaError('limits', `bench_read: WG=${WG} must be 1 .. ${maxWg} (maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX)`);
  }
  if (!Number.isInteger(VEC4_PER_THREAD) || VEC4_PER_THREAD < 1) throw new CriaError('bad-argument', `bench_read: VEC4_PER_THREAD=${VEC4_PER_THREAD} must be a positive integer`);
  if (!Number.isInteger(nVec4) || nVec4 < 1 || nVec4 >= 2 ** 32 / 16) throw new CriaError('bad-argument', `bench_read: ${nVec4} vec4s (must be 1 .. 2²⁸ − 1)`);
  const perGroup = WG * VEC4_PER_THREAD;
  const groups = Math.ceil(nVec4 / perGroup);
  const maxDim = limits.maxComputeWorkgroupsPerDimension;
  if (groups > maxDim * maxDim) throw new CriaError('limits', `bench_read: ${groups} workgroups exceed maxComputeWorkgroupsPerDimension² (${maxDim}²)`);
  return {
    variant: { overrides: { WG, VEC4_PER_THREAD } },
    params: { n_vec4: nVec4, n_groups: groups },
    grid: grid1d(groups, maxDim),
    groups,
    wordsPerGroup: perGroup * 4,
  };
}

/**
 * Sum `nVec4` vec4s (4·nVec4 u32 words) of `src`, one wrapping sum per workgroup slice.
 * Returns the output (a temporary of `groups` u32) and the slicing.
 */
export function benchRead(rec: Recorder, src: GpuBuf | BufferRef, nVec4: number, tun: Partial<BenchReadTunables> = {}): { out: TempBuffer; plan: BenchReadPlan } {
  const plan = benchReadPlan(rec.device.limits, nVec4, tun);
  const out = rec.temp(plan.groups * 4);
  rec.dispatch({ kernel: benchReadKernel, variant: plan.variant, params: plan.params, bindings: [src, out], grid: plan.grid });
  return { out, plan };
}

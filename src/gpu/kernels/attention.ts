/**
 * Launchers for kernels/attention.wgsl (+ kernels/attention_combine.wgsl):
 * causal GQA attention of q over one layer's KV cache, and `storeKv`, which
 * records the copies of the new k/v rows into that cache.
 */
import source from '@kernels/attention.wgsl?raw';
import combineSource from '@kernels/attention_combine.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';

export const attentionKernel = defineKernel('attention', source);
export const attentionCombineKernel = defineKernel('attention_combine', combineSource);

/** Structurally a subset of model/ops.ts `AttentionParams`, which can be passed as is. */
export interface AttentionKernelParams {
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly headDimV: number;
  /** multiplies q·k */
  readonly scale: number;
  /** cap·tanh(s/cap) on the scaled scores; 0 = off */
  readonly softcap: number;
  /** a query at position p sees keys p − window < j ≤ p; 0 = all */
  readonly window: number;
}

/** Tunables, for tests and benchmarks; the defaults are chosen from the shape and the device. */
export interface AttentionOptions {
  /** number of key ranges (flash-decoding splits, merged by attention_combine) */
  readonly split?: number;
  /** query rows per workgroup: 1, 2 or 4 */
  readonly rowsPerGroup?: number;
  /** threads per workgroup = keys per tile: a power of two, default 64 */
  readonly threads?: number;
}

const WG = 64;
/** head sizes up to 4·64 = 256 (q rows in workgroup memory, QD4 vec4 each) */
const MAX_D4 = 64;
/** the largest head size (q·k and v) the attention kernel takes; the engine checks it at load */
export const MAX_ATTENTION_HEAD_DIM = 4 * MAX_D4;
/** output vec4s per thread (a0..a3 in the kernel) */
const MAX_CH = 4;
/** Below this many workgroups a GPU has idle compute units: split the keys of long contexts. */
const GPU_TARGET_WORKGROUPS = 64;
/** A key range gets at least this many keys, so its fixed cost (q load, partial write, combine) stays small. */
const MIN_SPLIT_KEYS = 256;

const isPow2 = (x: number) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;
const nextPow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));

/**
 * Record the copies of k [n, kvDim] and v [n, kvDimV] into rows [pos0, pos0+n)
 * of the layer's caches ([nCtx, kvDim] and [nCtx, kvDimV] f32).
 */
export function storeKv(rec: Recorder, k: GpuTensor, v: GpuTensor, kCache: GPUBuffer, vCache: GPUBuffer, pos0: number): void {
  if (k.rows !== v.rows) throw new CriaError('internal', `storeKv: k has ${k.rows} rows, v ${v.rows}`);
  const copies = ([['k', k, kCache], ['v', v, vCache]] as const).map(([name, t, cache]) => {
    const row = t.cols * 4;
    if (!(Number.isInteger(pos0) && pos0 >= 0 && (pos0 + t.rows) * row <= cache.size)) {
      throw new CriaError('context-overflow', `storeKv: ${name} rows ${pos0}..${pos0 + t.rows - 1} do not fit a cache of ${Math.floor(cache.size / row)} positions`);
    }
    return () => rec.copy(t.buffer, 0, cache, pos0 * row, t.rows * row);
  });
  for (const c of copies) c(); // both checked before either is recorded
}

/** Query rows per workgroup: enough for every GQA head of a token, so decode reads K/V once per kv head. */
export function chooseRowsPerGroup(n: number, group: number): number {
  const rows = n * group;
  return rows >= 4 ? 4 : rows >= 2 ? 2 : 1;
}

/**
 * Threads per workgroup (= keys per tile). A GPU: 64 (two warps / one
 * wavefront; every thread has work in both phases). A CPU adapter
 * (SwiftShader) runs the invocations of a workgroup in SIMD groups one after
 * the other, so its cost grows with the thread count: the fewest that cover
 * a V row with ≤ 4 vec4 per lane (16 for head size 64 at 4 rows); measured on
 * SwiftShader for SmolLM2-135M (9/3 heads × 64): prefill of 128 tokens
 * 38 ms at 16 threads vs 92 ms at 64, decode at 128 keys 0.9 vs 1.1–1.5 ms,
 * decode at 1024 keys 5.5 vs 4.5 ms.
 */
export function chooseThreads(rowsPerGroup: number, headDimV: number, cpu: boolean): number {
  const fewest = Math.max(16, nextPow2(rowsPerGroup * Math.ceil(headDimV / 4 / MAX_CH)));
  return cpu ? fewest : Math.max(WG, fewest);
}

/**
 * Key ranges: 1 unless the grid would leave the device's parallel units idle
 * and there are keys enough to share (≥ MIN_SPLIT_KEYS per range). `target`:
 * workgroups that keep the device busy (GPU: GPU_TARGET_WORKGROUPS; a CPU
 * adapter such as SwiftShader: its cores).
 */
export function chooseSplit(workgroups: number, keys: number, target = GPU_TARGET_WORKGROUPS): number {
  if (workgroups >= target || keys < 2 * MIN_SPLIT_KEYS) return 1;
  return Math.max(1, Math.min(Math.floor(keys / MIN_SPLIT_KEYS), Math.ceil(target / workgroups)));
}

/**
 * Causal attention of q [n, nHead·headDim] (row t at position pos0 + t) over
 * K/V caches that already hold positions [0, pos0+n) (see `storeKv`)
 * → [n, nHead·headDimV].
 */
export function attention(
  rec: Recorder,
  q: GpuTensor,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  p: AttentionKernelParams,
  pos0: number,
  opts: AttentionOptions = {},
): GpuTensor {
  const n = q.rows;
  const fail = (msg: string) => new CriaError('internal', `attention: ${msg}`);
  if (q.cols !== p.nHead * p.headDim) throw fail(`q has ${q.cols} columns, ${p.nHead} heads × ${p.headDim} = ${p.nHead * p.headDim} expected`);
  if (!(p.nHeadKv > 0 && p.nHead % p.nHeadKv === 0)) throw fail(`${p.nHead} heads is not a multiple of ${p.nHeadKv} kv heads`);
  for (const d of [p.headDim, p.headDimV]) {
    if (!(d > 0 && d % 4 === 0 && d <= 4 * MAX_D4)) throw fail(`head size ${d} is not supported (multiples of 4 up to ${4 * MAX_D4})`);
  }
  if (!(p.softcap >= 0 && Number.isInteger(p.window) && p.window >= 0)) throw fail(`softcap ${p.softcap} and window ${p.window} must be ≥ 0`);
  if (n === 0) return { rows: 0, cols: p.nHead * p.headDimV, buffer: rec.temp(4) };
  const nCtx = Math.min(Math.floor(kCache.size / (p.nHeadKv * p.headDim * 4)), Math.floor(vCache.size / (p.nHeadKv * p.headDimV * 4)));
  if (!(Number.isInteger(pos0) && pos0 >= 0 && pos0 + n <= nCtx)) {
    throw new CriaError('context-overflow', `attention: positions ${pos0}..${pos0 + n - 1} exceed the KV cache (${nCtx} positions)`);
  }

  // workgroup shape: BR rows × (WG/BR threads per row = KS slices × LPR lanes, ≤ 4 output vec4s per lane)
  const group = p.nHead / p.nHeadKv;
  const br = opts.rowsPerGroup ?? chooseRowsPerGroup(n, group);
  if (![1, 2, 4].includes(br)) throw fail(`rowsPerGroup ${br} is not 1, 2 or 4`);
  const cpu = rec.ctx.info.isFallbackAdapter;
  const wg = opts.threads ?? chooseThreads(br, p.headDimV, cpu);
  const tpr = wg / br;
  if (!isPow2(wg) || !isPow2(tpr)) throw fail(`${wg} threads is not a power of two ≥ ${br} rows`);
  const dv4 = p.headDimV / 4;
  const lpr = Math.min(tpr, nextPow2(Math.ceil(dv4 / MAX_CH)));
  if (Math.ceil(dv4 / lpr) > MAX_CH) throw fail(`head size ${p.headDimV} needs more than ${MAX_CH} vec4 per thread at ${wg} threads and ${br} rows per workgroup`);
  // q rows in workgroup memory sized for the head: zero-initializing workgroup memory costs time
  const qd4 = p.headDim <= 64 ? 16 : p.headDim <= 128 ? 32 : 64;
  const lim = rec.device.limits;
  const shared = 16 * br * qd4 + 4 * Math.max(2 * br, 6) * wg;
  if (shared > lim.maxComputeWorkgroupStorageSize) {
    throw new CriaError('limits', `attention needs ${shared} bytes of workgroup memory, this GPU allows ${lim.maxComputeWorkgroupStorageSize} (maxComputeWorkgroupStorageSize)`);
  }

  // grid: row blocks × kv heads × key ranges
  const blocks = Math.ceil((n * group) / br);
  const kLo = p.window > 0 ? Math.max(0, pos0 - p.window + 1) : 0; // the first query's window start: the smallest
  const keys = pos0 + n - kLo;
  const target = cpu ? Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1) : GPU_TARGET_WORKGROUPS;
  const wanted = opts.split ?? chooseSplit(blocks * p.nHeadKv, keys, target);
  if (!(Number.isInteger(wanted) && wanted >= 1)) throw fail(`split ${wanted} is not a positive integer`);
  const splitLen = Math.ceil(Math.ceil(keys / Math.min(wanted, keys)) / wg) * wg; // whole tiles
  const nSplit = Math.ceil(keys / splitLen);
  const maxDim = lim.maxComputeWorkgroupsPerDimension;
  if (blocks > maxDim || p.nHeadKv > maxDim || nSplit > maxDim) throw fail(`grid ${blocks}×${p.nHeadKv}×${nSplit} exceeds ${maxDim} workgroups per dimension`);

  const outCols = p.nHead * p.headDimV;
  const out: GpuTensor = { rows: n, cols: outCols, buffer: rec.temp(n * outCols * 4) };
  const nOut = n * p.nHead;
  const parts = nSplit === 1 ? out.buffer : rec.temp(nSplit * nOut * p.headDimV * 4);
  const ml = rec.temp(nSplit * nOut * 8);
  rec.dispatch({
    kernel: attentionKernel,
    variant: { overrides: { WG: wg, BR: br, QD4: qd4 } },
    params: {
      n_rows: n,
      n_head: p.nHead,
      n_head_kv: p.nHeadKv,
      group,
      head_dim: p.headDim,
      head_dim_v: p.headDimV,
      pos0,
      window: p.window,
      scale: p.scale,
      softcap: p.softcap,
      k_lo: kLo,
      split_len: splitLen,
      n_split: nSplit,
      lpr,
    },
    bindings: [q.buffer, kCache, vCache, parts, ml],
    grid: [blocks, p.nHeadKv, nSplit],
  });
  if (nSplit > 1) {
    rec.dispatch({
      kernel: attentionCombineKernel,
      variant: { overrides: { WG } },
      params: { n_out: nOut, dv4, n_split: nSplit },
      bindings: [parts, ml, out.buffer],
      grid: grid1d(Math.ceil((nOut * dv4) / WG)),
    });
  }
  return out;
}

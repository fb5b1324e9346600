/**
 * Launcher for kernels/matmul.wgsl (and its rowwise and subgroup plans): y = add + rmsNorm?(x) · Wᵀ + bias
 * with W still quantized. x [n, cols] f32, W [rows, cols] of any type with a dequantizer library → y [n, rows];
 * the RMSNorm prologue (`norm`) and the residual epilogue (`add`) run in the same dispatch.
 * `matmulPlan` picks the tunables (pure, so tests and benchmarks can name the variant).
 */
import source from '@kernels/matmul.wgsl?raw';
import rowwiseSource from '@kernels/matmul_rowwise.wgsl?raw';
import subgroupSource from '@kernels/matmul_subgroup.wgsl?raw';
import int8Source from '@kernels/matmul_int8.wgsl?raw';
import storeSource from '@kernels/lib/matmul_store.wgsl?raw';
import { CriaError } from '../../shared/errors.ts';
import { defineKernel, type Variant } from '../kernel.ts';
import type { Recorder } from '../recorder.ts';
import { grid1d, type GpuTensor } from '../tensor.ts';
import { isCpuAdapter } from '../device.ts';
import { rmsNorm } from './rms_norm.ts';
import type { GpuWeight } from '../weights.ts';

export const matmulKernel = defineKernel('matmul', source);
export const matmulRowwiseKernel = defineKernel('matmul_rowwise', rowwiseSource);
export const matmulSubgroupKernel = defineKernel('matmul_subgroup', subgroupSource);
export const matmulInt8Kernel = defineKernel('matmul_int8', int8Source);
/** The output functions the rowwise and int8 kernels share (kernels/lib/matmul_store.wgsl). */
export const MATMUL_STORE_LIB = { name: 'matmul_store', source: storeSource };

/** Bounds of the kernel's register arrays (MAX_ROWS, MAX_TOKENS, MAX_ACC in matmul.wgsl). */
const MAX_ROWS = 8;
const MAX_TOKENS = 8;
const MAX_ACC = 40;

export interface MatmulPlan {
  WG: number;
  ROWS: number;
  TOKENS: number;
  /** 1: the RMSNorm prologue */
  NORM: number;
}

type Limits = Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupStorageSize'>;

const pow2Ceil = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));

/**
 * Tunables for n tokens × a weight of `cols` values per row in chunks of `chunk`.
 * - TOKENS: 1 for decode; for prefill the power of two ≥ n up to 8 (each dequantized chunk is used
 *   for up to 8 tokens; more accumulators would spill registers on many GPUs).
 * - ROWS = 4: four independent weight loads in flight per thread and each x value loaded once
 *   for four rows.
 * - NORM: 1 with the RMSNorm prologue, which adds TOKENS sums (Σx² per token) to the K = ROWS·TOKENS
 *   dot products: KN = K + NORM·TOKENS sums per thread.
 * - WG: about two chunks per thread and row (WG = the power of two ≥ chunks / 2, 32..256): long rows
 *   get more threads, so decode keeps enough loads in flight when there are few rows; never below
 *   KN (the reduction has one thread per sum) and within the device's limits,
 *   including workgroup memory 4·WG·(KN + 1) bytes.
 */
export function matmulPlan(n: number, cols: number, chunk: number, limits: Limits, norm = false): MatmulPlan {
  const TOKENS = Math.min(MAX_TOKENS, pow2Ceil(n));
  const ROWS = 4;
  const NORM = norm ? 1 : 0;
  const KN = (ROWS + NORM) * TOKENS;
  const minWg = pow2Ceil(KN);
  const maxWg = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const bytes = (wg: number) => 4 * wg * (KN + 1);
  let WG = Math.min(256, Math.max(32, minWg, pow2Ceil(Math.ceil(cols / chunk) / 2)));
  while (WG > minWg && (WG > maxWg || bytes(WG) > limits.maxComputeWorkgroupStorageSize)) WG /= 2;
  if (WG > maxWg || bytes(WG) > limits.maxComputeWorkgroupStorageSize || KN > MAX_ACC || ROWS > MAX_ROWS) {
    throw new CriaError('limits', `matmul: no workgroup fits this GPU (ROWS ${ROWS} × TOKENS ${TOKENS}${NORM ? ' + norm' : ''} needs ${minWg} threads and ${bytes(minWg)} bytes of workgroup memory; limits ${maxWg} threads, ${limits.maxComputeWorkgroupStorageSize} bytes)`);
  }
  return { WG, ROWS, TOKENS, NORM };
}

export function matmulVariant(w: GpuWeight, plan: MatmulPlan): Variant {
  return { libs: [w.lib], overrides: { ...plan } };
}

export interface MatmulOptions {
  /** RMSNorm of x first (`weight`: f32 [cols]) in the same pass: y = rmsNorm(x, weight, eps) · Wᵀ … */
  norm?: { weight: GpuWeight; eps: number };
  /** [n, rows], added to the result (a residual) */
  add?: GpuTensor;
  /**
   * `workgroup`: rows per workgroup, threads along the row, coalesced loads (GPUs);
   * `rowwise`: one invocation per row, no barriers (CPU adapters such as SwiftShader).
   * Default: chosen from the device (isCpuAdapter).
   */
  plan?: 'workgroup' | 'rowwise' | 'subgroup';
  /** tunables of the rowwise plan in place of `rowwisePlan`'s (benchmarks, tests) */
  rowwise?: Partial<RowwisePlan>;
  /**
   * Quantize x (after the norm) to int8 per block of 32 and multiply with integer dot products
   * (kernels/matmul_int8.wgsl) when the weight's type has an int8 library (Q8_0, Q4_0; `w.int8`) and
   * its rows fit workgroup memory (`int8Plan`); otherwise, and by default, the f32 product.
   * This changes the numbers (by the rounding of x to 8 bits), so the backend decides it once per
   * model (GpuBackendOptions.activations), never per call. The int8 kernel has one layout, rowwise.
   */
  int8?: boolean;
  /** tunables of the int8 plan in place of `int8Plan`'s (benchmarks, tests) */
  int8Tunables?: Partial<Int8Plan>;
}

export interface Int8Plan {
  WG: number;
  ROWS: number;
  TOKENS: number;
  NORM: number;
  /** 1: the integers as floats in vec4 dot products (prefill); 0: dot4I8Packed on packed bytes (decode) */
  FDOT: number;
  /** blocks of 32 values of x in workgroup memory: TOKENS·cols/32 */
  XB: number;
}

/**
 * Workgroup memory of matmul_int8.wgsl: per block of x 8 packed words (FDOT = 0) or 8 f16 pairs
 * (FDOT = 1), d and Σq; the other array one element long; the norm's partial sums.
 */
export const int8WorkgroupBytes = (p: Pick<Int8Plan, 'XB' | 'TOKENS' | 'FDOT'>) => (p.FDOT ? 64 : 32) * p.XB + 8 * p.XB + 32 * p.TOKENS + 8;

/**
 * Tunables of the int8 plan: the rowwise plan's (ROWS = 4, WG for ≥ 16 workgroups, TOKENS 4 for prefill),
 * with x of the token group quantized in workgroup memory. Decode takes FDOT = 0 (dot4I8Packed); prefill
 * FDOT = 1 (each word of W unpacked once for the 4 tokens), or where its f16 pairs do not fit in `maxBytes`
 * FDOT = 0, or TOKENS = 1; undefined when even one token's packed row does not fit (the f32 product runs
 * instead: rows of more than 13,000 values with WebGPU's default 16 KiB). All give the same numbers.
 */
export function int8Plan(n: number, rows: number, cols: number, norm: boolean, maxBytes: number): Int8Plan | undefined {
  const base = rowwisePlan(n, rows, cols, norm);
  const tries = base.TOKENS > 1 ? [[base.TOKENS, 1], [base.TOKENS, 0], [1, 0]] : [[1, 0]];
  for (const [TOKENS, FDOT] of tries) {
    const plan = { WG: base.WG, ROWS: base.ROWS, TOKENS, NORM: base.NORM, FDOT, XB: (TOKENS * cols) / 32 };
    if (int8WorkgroupBytes(plan) <= maxBytes) return plan;
  }
  return undefined;
}

export interface RowwisePlan {
  WG: number;
  /** rows per invocation: 1, 2 or 4 */
  ROWS: number;
  TOKENS: number;
  NORM: number;
  /** with NORM: the workgroup copy of x' (TOKENS·cols values), else 1 */
  XS: number;
}

/** Workgroups the rowwise plan aims for at least: a CPU adapter runs one workgroup per core at a time. */
const ROWWISE_MIN_GROUPS = 16;

/**
 * Tunables of the rowwise plan (CPU adapters) for n tokens × a weight of rows × cols:
 * - ROWS = 4: each invocation owns four rows, so every value of x it loads (from memory or workgroup
 *   memory: a per-lane load on a CPU adapter) serves four rows;
 * - TOKENS: 1 for decode, 4 for prefill (each dequantized chunk used for four tokens);
 * - WG: 64, halved down to 8 until there are ≥ ROWWISE_MIN_GROUPS workgroups, so small matrices
 *   still keep every core busy.
 */
export function rowwisePlan(n: number, rows: number, cols: number, norm: boolean): RowwisePlan {
  const ROWS = 4;
  const TOKENS = n > 1 ? 4 : 1;
  let WG = 64;
  while (WG > 8 && Math.ceil(rows / (WG * ROWS)) < ROWWISE_MIN_GROUPS) WG /= 2;
  return { WG, ROWS, TOKENS, NORM: norm ? 1 : 0, XS: norm ? TOKENS * cols : 1 };
}

/**
 * The plan a device gets by default: CPU adapters (SwiftShader) `rowwise` (measured there: 4–5× the
 * workgroup plan, and on par with `subgroup` whose subgroups are 4 lanes wide); GPUs with subgroups
 * `subgroup` (no barriers, coalesced); other GPUs `workgroup`.
 */
export function defaultMatmulPlan(info: GpuContextInfo): 'workgroup' | 'rowwise' | 'subgroup' {
  if (isCpuAdapter(info)) return 'rowwise';
  return info.subgroups && info.subgroupMinSize ? 'subgroup' : 'workgroup';
}
type GpuContextInfo = Recorder['ctx']['info'];

/** y [x.rows, w.rows] = add + rmsNorm?(x) [x.rows, w.cols] · Wᵀ + bias [w.rows] (bias, norm weight stored as f32). */
export function matmul(rec: Recorder, x: GpuTensor, w: GpuWeight, bias?: GpuWeight, opts: MatmulOptions = {}): GpuTensor {
  if (x.cols !== w.cols) throw new CriaError('internal', `matmul ${w.name}: x has ${x.cols} columns, the weight rows have ${w.cols}`);
  const vector = (v: GpuWeight, len: number, what: string) => {
    if (v.cols * v.rows !== len || v.lib.name !== 'dequant_f32') throw new CriaError('internal', `matmul ${w.name}: ${what} ${v.name} must be ${len} f32 values (has ${v.cols * v.rows}, ${v.lib.name})`);
  };
  if (bias) vector(bias, w.rows, 'bias');
  const { norm, add } = opts;
  if (norm) vector(norm.weight, w.cols, 'norm weight');
  if (add && (add.rows !== x.rows || add.cols !== w.rows)) throw new CriaError('internal', `matmul ${w.name}: the addend is ${add.rows}×${add.cols}, the result ${x.rows}×${w.rows}`);
  const n = x.rows;
  const y: GpuTensor = { rows: n, cols: w.rows, buffer: rec.temp(n * w.rows * 4) };
  if (n === 0 || w.rows === 0) return y;
  const NORM = norm ? 1 : 0;
  const params = { cols: w.cols, rows: w.rows, n_tokens: n, d_off: w.dOffsetWords, has_bias: bias ? 1 : 0, has_add: add ? 1 : 0, eps: norm?.eps ?? 0 };
  // what is absent is bound to x in its place (read-only, never read)
  const bindings = [w.buffer, x.buffer, bias?.buffer ?? x.buffer, y.buffer, norm?.weight.buffer ?? x.buffer, add?.buffer ?? x.buffer];
  const which = opts.plan ?? defaultMatmulPlan(rec.ctx.info);
  if (which === 'subgroup') {
    const S = rec.ctx.info.subgroupMinSize;
    if (!rec.ctx.info.subgroups || !S) throw new CriaError('internal', 'matmul: the subgroup plan needs the subgroups feature and a known subgroup size');
    const WG = Math.max(64, S);
    const ROWS = 4;
    const sgPerWg = WG / S;
    rec.dispatch({
      kernel: matmulSubgroupKernel,
      variant: { libs: [w.lib], overrides: { WG, ROWS, TOKENS: n > 1 ? 4 : 1, NORM } },
      params: { ...params, sg_per_wg: sgPerWg },
      bindings,
      grid: grid1d(Math.ceil(w.rows / (ROWS * sgPerWg))),
    });
    return y;
  }
  const i8 = opts.int8 && w.int8 && w.cols % 32 === 0 ? int8Plan(n, w.rows, w.cols, !!norm, rec.device.limits.maxComputeWorkgroupStorageSize) : undefined;
  if (i8) {
    const plan = { ...i8, ...opts.int8Tunables };
    rec.dispatch({
      kernel: matmulInt8Kernel,
      variant: { libs: [w.int8!, MATMUL_STORE_LIB], overrides: { ...plan } },
      params,
      bindings,
      grid: grid1d(Math.ceil(w.rows / (plan.WG * plan.ROWS))),
    });
    return y;
  }
  if (which === 'rowwise') {
    const plan = { ...rowwisePlan(n, w.rows, w.cols, !!norm), ...opts.rowwise };
    // with the norm, x' of each token group is kept in workgroup memory (XS values); rows too long for
    // it take the norm as a separate rms_norm dispatch
    if (norm && 4 * (plan.XS + 8 * plan.TOKENS) > rec.device.limits.maxComputeWorkgroupStorageSize) {
      return matmul(rec, rmsNorm(rec, x, norm.weight.buffer, norm.eps), w, bias, { ...opts, norm: undefined });
    }
    rec.dispatch({
      kernel: matmulRowwiseKernel,
      variant: { libs: [w.lib, MATMUL_STORE_LIB], overrides: { ...plan } },
      params,
      bindings,
      grid: grid1d(Math.ceil(w.rows / (plan.WG * plan.ROWS))),
    });
    return y;
  }
  const plan = matmulPlan(n, w.cols, w.lib.chunk, rec.device.limits, !!norm);
  rec.dispatch({
    kernel: matmulKernel,
    variant: matmulVariant(w, plan),
    params,
    bindings,
    grid: grid1d(Math.ceil(w.rows / plan.ROWS)),
  });
  return y;
}

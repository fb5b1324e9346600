/**
 * matmul on WebGPU (with every dequantizer library, both plans: kernels/matmul.wgsl for GPUs and
 * kernels/matmul_rowwise.wgsl for CPU adapters) vs src/reference/matmul.ts:
 * random weights are quantized with ggml's reference quantizers
 * (src/formats/quant.ts), uploaded in the GPU layout, and multiplied with
 * seeded activations, for decode (n = 1) and prefill (n > 1) shapes.
 *
 * Tolerance, per type: the dequantized weights themselves are
 *   F32, F16, BF16               exact (a bit copy or an exact widening)
 *   Q8_0, Q4_0, Q5_0             exact ((q − k)·d: an integer of ≤ 8 bits times an f16 fits in f32)
 *   Q4_1, Q5_1                   exact (q·d is exact, so q·d + m rounds once, fused or not, as in the reference)
 *   Q2_K .. Q6_K                 within 1 ulp ((d·scale)·q − m may be fused into one rounding)
 * so what differs is the summation: the reference adds the products in float64 and rounds once to
 * f32 (≤ u·|y|, u = 2⁻²⁴); the kernel adds them in f32 along a chain of D additions:
 * ⌈cols / (CHUNK·WG)⌉·CHUNK per thread (CHUNK 4 for the float types, 8 for the blocks), + 1 for the
 * ragged tail, + WG/G and G for the two reduction steps, + 1 for the bias. WGSL's fma may round the
 * product and the sum separately, so each term is rounded at most D + 1 times: the classic bound is
 *   |got − want| ≤ γ_{D+1} · S,  S = Σ_i |W[o, i]·x[t, i]| (+ |bias[o]|),  γ_m = m·u / (1 − m·u).
 * Per case: atol = γ_{D+3}·max S (+ 1 ulp of dequantization, + the final rounding of the
 * reference), rtol = 0, nmse ≤ γ_{D+3}²·ΣS² / Σy² (D and S are computed from the plan and data).
 * That is a worst case (rounding errors have random signs, so observed errors are ~100× smaller)
 * and still 10²–10³ below the error of one wrong or missing term (|W·x| ~ 0.1 .. 1 here).
 */
import { ggmlTypeByName, type GgmlTypeInfo } from '../../../src/formats/ggml-types.ts';
import { dequantize, quantize } from '../../../src/formats/quant.ts';
import { variantKey } from '../../../src/gpu/kernel.ts';
import { matmul, matmulKernel, matmulPlan, matmulRowwiseKernel, matmulSubgroupKernel } from '../../../src/gpu/kernels/matmul.ts';
import { DEQUANT_LIBS, uploadWeight } from '../../../src/gpu/weights.ts';
import { matmul as reference } from '../../../src/reference/matmul.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  type: string;
  /** every plan runs on every adapter that can: `workgroup`, `rowwise` (CPU adapters), `subgroup` (needs the subgroups feature) */
  plan: 'workgroup' | 'rowwise' | 'subgroup';
  n: number;
  rows: number;
  cols: number;
  bias: boolean;
}

/** WebGPU's default limits: the device may allow more, so the plan named here is a lower bound. */
const DEFAULT_LIMITS = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupStorageSize: 16384 };

/**
 * SwiftShader compiles every pipeline on the CPU (~0.2–2 s for each variant, and each type is its own
 * set of variants), so the whole table runs for the types benchmarked for SmolLM2 and Qwen2 (FULL) and
 * a shorter one for the rest: decode, prefill in one and in three token groups (TOKENS = 8, the
 * variant real prefill uses), bias, and ragged rows for the float types.
 */
const FULL = new Set(['F16', 'Q4_0', 'Q8_0']);

const shapes = (type: string): Omit<Case, 'type' | 'plan'>[] => {
  const block = ggmlTypeByName(type)!.blockSize;
  // realistic hidden/FFN sizes (SmolLM2-135M 576/1536, Qwen2-0.5B 896, 1–2B models 2048); K-quants need × 256
  const real = [576, 896, 1536, 2048].map((c) => (c % block === 0 ? c : Math.ceil(c / block) * block));
  const out: Omit<Case, 'type' | 'plan'>[] = [
    { n: 1, rows: 7, cols: real[0], bias: true },
    { n: 1, rows: 61, cols: real[0], bias: false },
    { n: 5, rows: 7, cols: real[0], bias: false },
    { n: 17, rows: 61, cols: real[0], bias: true }, // 3 token groups, the last one partial
  ];
  if (block === 1) {
    // ragged rows (cols % 4 ≠ 0: the tail read by load_one); odd: rows start mid-word for F16/BF16
    out.push({ n: 1, rows: 3, cols: 7, bias: false }, { n: 5, rows: 61, cols: 33, bias: true });
  }
  if (FULL.has(type)) {
    out.push(
      { n: 1, rows: 1, cols: block === 1 ? 33 : block, bias: false },
      { n: 1, rows: 61, cols: real[1], bias: false },
      { n: 1, rows: 576, cols: real[2], bias: true }, // a decode projection
      { n: 2, rows: 61, cols: real[3], bias: true },
      { n: 17, rows: 61, cols: real[1], bias: true },
      { n: 64, rows: 576, cols: real[0], bias: false }, // a prefill chunk
    );
    // an LM head's row count; for one type (the grid logic is the same for all), more workgroups
    // than one grid dimension allows (ROWS = 4 rows each): ~5 s on SwiftShader, mostly the 8.4M inputs
    if (type === 'Q8_0') out.push({ n: 1, rows: 4 * 65535 + 9, cols: 32, bias: true });
    else out.push({ n: 1, rows: 49152, cols: 64, bias: false });
    // 172: a multiple of 4, 174: of 2 only
    if (block === 1) out.push({ n: 2, rows: 7, cols: 172, bias: false }, { n: 3, rows: 5, cols: 174, bias: true });
  }
  return out;
};

const cases: Case[] = (['workgroup', 'rowwise', 'subgroup'] as const).flatMap((plan) =>
  [...DEQUANT_LIBS.keys()].sort().flatMap((type) => shapes(type).map((s) => ({ type, plan, ...s }))),
);

function weightOf(type: GgmlTypeInfo, rows: number, cols: number, bytes: Uint8Array) {
  return { type, dims: [cols, rows], bytes };
}

export default defineSuite<Case>({
  kernel: 'matmul',
  cases,
  name: (c) => `${c.plan} ${c.type} n=${c.n} ${c.rows}×${c.cols}${c.bias ? ' +bias' : ''}`,
  variant: (c) => {
    const lib = DEQUANT_LIBS.get(c.type)!;
    if (c.plan === 'rowwise') return variantKey(matmulRowwiseKernel, { libs: [lib], overrides: { WG: 64, TOKENS: c.n > 1 ? 4 : 1 } });
    if (c.plan === 'subgroup') return variantKey(matmulSubgroupKernel, { libs: [lib], overrides: { ROWS: 4, TOKENS: c.n > 1 ? 4 : 1 } });
    return variantKey(matmulKernel, { libs: [lib], overrides: { ...matmulPlan(c.n, c.cols, lib.chunk, DEFAULT_LIMITS) } });
  },
  skip: (h, c) => (c.plan === 'subgroup' && !(h.ctx.info.subgroups && h.ctx.info.subgroupMinSize) ? 'this device has no subgroups feature (or reports no subgroup size)' : undefined),
  async run(h, c) {
    const type = ggmlTypeByName(c.type)!;
    const bytes = quantize(type, h.randn(c.rows * c.cols, 11, 0.5));
    const x = h.randn(c.n * c.cols, 12);
    const bias = c.bias ? h.randn(c.rows, 13) : undefined;
    const want = reference(x, c.n, weightOf(type, c.rows, c.cols, bytes), bias);

    const w = uploadWeight(h.rec, 'w', type, [c.cols, c.rows], bytes);
    const b = bias ? uploadWeight(h.rec, 'bias', ggmlTypeByName('F32')!, [c.rows], new Uint8Array(bias.buffer)) : undefined;
    const plan = matmulPlan(c.n, c.cols, w.lib.chunk, h.rec.device.limits);
    const got = await h.read(matmul(h.rec, h.tensor(c.n, c.cols, x), w, b, { plan: c.plan }));
    w.buffer.destroy();
    b?.buffer.destroy();

    // S[t, o] = Σ|W·x| (+ |bias|) in float64, for the bound described at the top
    const wf = dequantize(type, bytes, c.rows * c.cols);
    let maxS = 0;
    let sumS2 = 0;
    let sumY2 = 0;
    for (let t = 0; t < c.n; t++) {
      for (let o = 0; o < c.rows; o++) {
        let s = bias ? Math.abs(bias[o]) : 0;
        for (let i = 0; i < c.cols; i++) s += Math.abs(wf[o * c.cols + i] * x[t * c.cols + i]);
        maxS = Math.max(maxS, s);
        sumS2 += s * s;
        sumY2 += want[t * c.rows + o] ** 2;
      }
    }
    const chunk = w.lib.chunk;
    const K = plan.ROWS * plan.TOKENS;
    const G = Math.min(plan.WG / K, 8);
    // rowwise: one invocation adds the whole row in order (cols terms, + the bias);
    // subgroup: each lane a strided share, then subgroupAdd (at most S − 1 more additions, however it is done)
    const S = h.ctx.info.subgroupMaxSize ?? 128;
    const D =
      c.plan === 'rowwise' ? c.cols + 1
      : c.plan === 'subgroup' ? Math.ceil(c.cols / chunk / (h.ctx.info.subgroupMinSize ?? 1)) * chunk + 1 + S + 1
      : Math.ceil(c.cols / (chunk * plan.WG)) * chunk + 1 + plan.WG / G + G + 1;
    const u = 2 ** -24;
    const gamma = ((D + 3) * u) / (1 - (D + 3) * u);
    return compare(got, want, {
      atol: gamma * maxS,
      rtol: 0,
      nmse: gamma ** 2 * (sumY2 > 0 ? sumS2 / sumY2 : 1),
      why: `f32 sum of ${D} steps vs float64: γ_${D + 3}·Σ|W·x| (max Σ|W·x| = ${maxS.toPrecision(3)}, ${c.plan === 'workgroup' ? `WG ${plan.WG} ROWS ${plan.ROWS} TOKENS ${plan.TOKENS}` : c.plan})`,
    });
  },
});

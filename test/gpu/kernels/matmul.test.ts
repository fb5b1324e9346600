/**
 * matmul on WebGPU (with every dequantizer library, all three plans: kernels/matmul.wgsl for GPUs,
 * kernels/matmul_subgroup.wgsl for GPUs with subgroups and kernels/matmul_rowwise.wgsl for CPU
 * adapters; plain, with the RMSNorm prologue, the residual epilogue, or both) vs src/reference/matmul.ts
 * (after src/reference/rms_norm.ts with the prologue, before src/reference/add.ts with the epilogue):
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
 *
 * The fusions, against the composition rmsNorm → matmul → add of the references:
 * - norm: the kernel computes y = s·Σ_i (W_i·g_i)·x_i (subgroup plan) or s·Σ_i W_i·(x_i·g_i) (workgroup
 *   plan), or Σ_i W_i·x'_i with x'_i = x_i·s·g_i in workgroup memory (rowwise plan), s = 1/sqrt(Σx²/cols +
 *   eps); the reference Σ_i W_i·x'_i with x'_i = x_i·s·g_i rounded to f32 once. The dot product is the same chain as
 *   above with one more rounding per term (W·g or x·g) against the reference's rounding of x'; Σx² is an
 *   f32 chain of at most D positive terms (relative error ≤ γ_D), so s is off by ≤ ½γ_{D+2} (+ /cols,
 *   + eps) + 2 ulp (WGSL's inverseSqrt) and s·A rounds once more: with S = Σ|W·x'| (+ |bias| + |add|),
 *   |got − want| ≤ (γ_{D+5} + ½γ_{D+2} + 3u)·S.
 * - add: one more f32 addition in the kernel and in the reference: γ_{D+5} covers both, S includes |add|.
 * Same form as above, so the same margin below a wrong term.
 */
import { ggmlTypeByName, type GgmlTypeInfo } from '../../../src/formats/ggml-types.ts';
import { dequantize, quantize } from '../../../src/formats/quant.ts';
import { variantKey } from '../../../src/gpu/kernel.ts';
import { MATMUL_STORE_LIB, matmul, matmulKernel, matmulPlan, matmulRowwiseKernel, matmulSubgroupKernel, rowwisePlan } from '../../../src/gpu/kernels/matmul.ts';
import { uploadMixedWeight } from '../../../src/gpu/mixed.ts';
import { DEQUANT_LIBS, uploadWeight } from '../../../src/gpu/weights.ts';
import { add } from '../../../src/reference/add.ts';
import { matmul as reference } from '../../../src/reference/matmul.ts';
import { rmsNorm } from '../../../src/reference/rms_norm.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  type: string;
  /** every plan runs on every adapter that can: `workgroup`, `rowwise` (CPU adapters), `subgroup` (needs the subgroups feature) */
  plan: 'workgroup' | 'rowwise' | 'subgroup';
  n: number;
  rows: number;
  cols: number;
  bias: boolean;
  /** the RMSNorm prologue */
  norm?: boolean;
  /** the residual epilogue */
  add?: boolean;
  /** rowwise plan: tunables in place of rowwisePlan's (its ROWS = 1 and 2 variants) */
  rowwise?: { ROWS: number };
  /** a mixed weight (src/gpu/mixed.ts): rows [0, mixed.rowsA) of `type`, the rest of `mixed.type` */
  mixed?: { type: string; rowsA: number };
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

/**
 * The fusions: for every type, decode with norm + add + bias; for the FULL types also each one alone,
 * prefill in one and in several token groups (the workgroup plan at TOKENS = 8 with the norm sums: 40
 * accumulators), a prefill chunk, and for the float types a ragged row (the tail path).
 */
const fusedShapes = (type: string): Omit<Case, 'type' | 'plan'>[] => {
  const block = ggmlTypeByName(type)!.blockSize;
  const real = [576, 1536].map((c) => (c % block === 0 ? c : Math.ceil(c / block) * block));
  const out: Omit<Case, 'type' | 'plan'>[] = [{ n: 1, rows: 61, cols: real[0], bias: true, norm: true, add: true }];
  if (FULL.has(type)) {
    out.push(
      { n: 1, rows: 576, cols: real[0], bias: false, norm: true }, // SmolLM2-135M q|k|v, gate|up
      { n: 1, rows: 576, cols: real[1], bias: false, add: true }, // ffn_down + residual
      { n: 5, rows: 7, cols: real[0], bias: true, norm: true },
      { n: 17, rows: 61, cols: real[0], bias: false, norm: true, add: true },
      { n: 64, rows: 96, cols: real[0], bias: true, norm: true, add: true }, // a prefill chunk
      // rowwise: 4 tokens × 2048 values of x' exceed SwiftShader's 32 KiB of workgroup memory, so the
      // launcher runs the norm as an rms_norm dispatch first (the other plans: the usual prologue)
      { n: 5, rows: 61, cols: 2048, bias: true, norm: true, add: true },
    );
    if (block === 1) out.push({ n: 3, rows: 5, cols: 33, bias: true, norm: true, add: true });
  }
  return out;
};

/**
 * The rowwise plan's other row counts per invocation (the launcher picks ROWS = 4): 1 and 2, for a
 * block and a float type (the tail path), decode and prefill, rows not a multiple of ROWS, fused.
 */
const rowwiseRows: Case[] = ['Q8_0', 'F32'].flatMap((type) =>
  [1, 2].flatMap((ROWS) =>
    [
      { n: 1, rows: 61, cols: type === 'F32' ? 33 : 576, bias: true },
      { n: 5, rows: 7, cols: type === 'F32' ? 33 : 576, bias: false, norm: true, add: true },
    ].map((s) => ({ type, plan: 'rowwise' as const, rowwise: { ROWS }, ...s })),
  ),
);

/**
 * Mixed weights (src/gpu/mixed.ts: one buffer, one generated library, two types): Q4_K_M's fused
 * q|k|v in every plan, as a 1B model has it (Q4_K q|k, Q6_K v, rows of 2048 → 256 here) and as
 * SmolLM2-135M has it (rows of 576: Q5_0 q|k, Q8_0 v); decode, prefill, with the norm and the residual,
 * and a split that is not a multiple of 4 rows (the rowwise plan's invocations straddle it).
 */
const mixedCases: Case[] = (['workgroup', 'rowwise', 'subgroup'] as const).flatMap((plan) => [
  { type: 'Q4_K', mixed: { type: 'Q6_K', rowsA: 48 }, plan, n: 1, rows: 64, cols: 256, bias: false, norm: true },
  { type: 'Q4_K', mixed: { type: 'Q6_K', rowsA: 48 }, plan, n: 5, rows: 64, cols: 512, bias: true, norm: true, add: true },
  { type: 'Q5_0', mixed: { type: 'Q8_0', rowsA: 38 }, plan, n: 1, rows: 61, cols: 576, bias: true, add: true },
  { type: 'Q5_0', mixed: { type: 'Q8_0', rowsA: 38 }, plan, n: 17, rows: 61, cols: 576, bias: false, norm: true },
]);

const cases: Case[] = [
  ...mixedCases,
  ...(['workgroup', 'rowwise', 'subgroup'] as const).flatMap((plan) =>
    [...DEQUANT_LIBS.keys()].sort().flatMap((type) => [...shapes(type), ...fusedShapes(type)].map((s) => ({ type, plan, ...s }))),
  ),
  ...rowwiseRows,
];

function weightOf(type: GgmlTypeInfo, rows: number, cols: number, bytes: Uint8Array) {
  return { type, dims: [cols, rows], bytes };
}

/** The reference of a mixed weight: each part's product, side by side in every token's row. */
function mixedReference(x: Float32Array, n: number, a: ReturnType<typeof weightOf>, b: ReturnType<typeof weightOf>, bias?: Float32Array): Float32Array {
  const ra = a.dims[1];
  const rb = b.dims[1];
  const ya = reference(x, n, a, bias?.subarray(0, ra));
  const yb = reference(x, n, b, bias?.subarray(ra));
  const y = new Float32Array(n * (ra + rb));
  for (let t = 0; t < n; t++) {
    y.set(ya.subarray(t * ra, (t + 1) * ra), t * (ra + rb));
    y.set(yb.subarray(t * rb, (t + 1) * rb), t * (ra + rb) + ra);
  }
  return y;
}

export default defineSuite<Case>({
  kernel: 'matmul',
  cases,
  name: (c) => `${c.plan}${c.rowwise ? ` ROWS=${c.rowwise.ROWS}` : ''} ${c.type}${c.mixed ? `×${c.mixed.rowsA}+${c.mixed.type}` : ''} n=${c.n} ${c.rows}×${c.cols}${c.norm ? ' norm+' : ''}${c.bias ? ' +bias' : ''}${c.add ? ' +add' : ''}`,
  variant: (c) => {
    const lib = c.mixed ? { name: `mixed ${c.type}+${c.mixed.type}`, source: '', chunk: 8 } : DEQUANT_LIBS.get(c.type)!;
    const NORM = c.norm ? 1 : 0;
    const TOKENS = c.n > 1 ? 4 : 1;
    if (c.plan === 'rowwise') return variantKey(matmulRowwiseKernel, { libs: [lib, MATMUL_STORE_LIB], overrides: { ...rowwisePlan(c.n, c.rows, c.cols, !!c.norm), ...c.rowwise } });
    if (c.plan === 'subgroup') return variantKey(matmulSubgroupKernel, { libs: [lib], overrides: { ROWS: 4, TOKENS, NORM } });
    return variantKey(matmulKernel, { libs: [lib], overrides: { ...matmulPlan(c.n, c.cols, lib.chunk, DEFAULT_LIMITS, c.norm) } });
  },
  skip: (h, c) => (c.plan === 'subgroup' && !(h.ctx.info.subgroups && h.ctx.info.subgroupMinSize) ? 'this device has no subgroups feature (or reports no subgroup size)' : undefined),
  async run(h, c) {
    const type = ggmlTypeByName(c.type)!;
    const typeB = c.mixed ? ggmlTypeByName(c.mixed.type)! : type;
    const rowsA = c.mixed ? c.mixed.rowsA : c.rows;
    const wf32 = h.randn(c.rows * c.cols, 11, 0.5);
    const bytes = quantize(type, wf32.subarray(0, rowsA * c.cols));
    const bytesB = c.mixed ? quantize(typeB, wf32.subarray(rowsA * c.cols)) : undefined;
    const x = h.randn(c.n * c.cols, 12);
    const bias = c.bias ? h.randn(c.rows, 13) : undefined;
    // a norm weight around 1 (as trained ones are), a residual of the size of a hidden state
    const g = c.norm ? Float32Array.from(h.randn(c.cols, 14, 0.3), (v) => 1 + v) : undefined;
    const addend = c.add ? h.randn(c.n * c.rows, 15, 2) : undefined;
    const eps = 1e-5;
    const xn = g ? rmsNorm(x, c.cols, g, eps) : x;
    const product = bytesB ? mixedReference(xn, c.n, weightOf(type, rowsA, c.cols, bytes), weightOf(typeB, c.rows - rowsA, c.cols, bytesB), bias) : reference(xn, c.n, weightOf(type, c.rows, c.cols, bytes), bias);
    const want = addend ? add(product, addend) : product;

    const f32 = ggmlTypeByName('F32')!;
    const w = bytesB
      ? uploadMixedWeight(h.rec, 'w', [{ type, dims: [c.cols, rowsA], bytes }, { type: typeB, dims: [c.cols, c.rows - rowsA], bytes: bytesB }], [c.cols, c.rows])
      : uploadWeight(h.rec, 'w', type, [c.cols, c.rows], bytes);
    const b = bias ? uploadWeight(h.rec, 'bias', f32, [c.rows], new Uint8Array(bias.buffer)) : undefined;
    const gw = g ? uploadWeight(h.rec, 'norm', f32, [c.cols], new Uint8Array(g.buffer)) : undefined;
    const plan = matmulPlan(c.n, c.cols, w.lib.chunk, h.rec.device.limits, c.norm);
    const got = await h.read(
      matmul(h.rec, h.tensor(c.n, c.cols, x), w, b, {
        plan: c.plan,
        rowwise: c.rowwise,
        norm: gw && { weight: gw, eps },
        add: addend && h.tensor(c.n, c.rows, addend),
      }),
    );
    w.buffer.destroy();
    b?.buffer.destroy();
    gw?.buffer.destroy();

    // S[t, o] = Σ|W·x| (+ |bias|) in float64, for the bound described at the top
    const wf = new Float32Array(c.rows * c.cols);
    wf.set(dequantize(type, bytes, rowsA * c.cols));
    if (bytesB) wf.set(dequantize(typeB, bytesB, (c.rows - rowsA) * c.cols), rowsA * c.cols);
    let maxS = 0;
    let sumS2 = 0;
    let sumY2 = 0;
    for (let t = 0; t < c.n; t++) {
      for (let o = 0; o < c.rows; o++) {
        let s = (bias ? Math.abs(bias[o]) : 0) + (addend ? Math.abs(addend[t * c.rows + o]) : 0);
        for (let i = 0; i < c.cols; i++) s += Math.abs(wf[o * c.cols + i] * xn[t * c.cols + i]);
        maxS = Math.max(maxS, s);
        sumS2 += s * s;
        sumY2 += want[t * c.rows + o] ** 2;
      }
    }
    const chunk = w.lib.chunk;
    const KN = (plan.ROWS + plan.NORM) * plan.TOKENS;
    const G = 2 ** Math.floor(Math.log2(Math.min(plan.WG / KN, 8)));
    // rowwise: one invocation adds the whole row in order (cols terms, + the bias);
    // subgroup: each lane a strided share, then subgroupAdd (at most S − 1 more additions, however it is done)
    const S = h.ctx.info.subgroupMaxSize ?? 128;
    const D =
      c.plan === 'rowwise' ? c.cols + 1
      : c.plan === 'subgroup' ? Math.ceil(c.cols / chunk / (h.ctx.info.subgroupMinSize ?? 1)) * chunk + 1 + S + 1
      : Math.ceil(c.cols / (chunk * plan.WG)) * chunk + 1 + plan.WG / G + G + 1;
    const u = 2 ** -24;
    const gamma = (m: number) => (m * u) / (1 - m * u);
    const fused = c.norm || c.add;
    const bound = fused ? gamma(D + 5) + (c.norm ? gamma(D + 2) / 2 + 3 * u : 0) : gamma(D + 3);
    return compare(got, want, {
      atol: bound * maxS,
      rtol: 0,
      nmse: bound ** 2 * (sumY2 > 0 ? sumS2 / sumY2 : 1),
      why: `f32 sum of ${D} steps vs float64: ${fused ? `(γ_${D + 5}${c.norm ? ` + ½γ_${D + 2} + 3u` : ''})` : `γ_${D + 3}`}·Σ|W·x| (max Σ|W·x| = ${maxS.toPrecision(3)}, ${c.plan === 'workgroup' ? `WG ${plan.WG} ROWS ${plan.ROWS} TOKENS ${plan.TOKENS} NORM ${plan.NORM}` : c.plan})`,
    });
  },
});

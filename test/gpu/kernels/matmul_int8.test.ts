/**
 * matmul with int8 activations on WebGPU (kernels/matmul_int8.wgsl with kernels/lib/int8_q8_0.wgsl and
 * int8_q4_0.wgsl, through the launcher's `int8` option) vs src/reference/matmul_int8.ts (after
 * src/reference/rms_norm.ts with the prologue, before src/reference/add.ts with the epilogue): decode,
 * prefill in one and several groups of 4 tokens (and the TOKENS = 1 plan a long row falls back to),
 * both ways to dot (FDOT 0/1), ROWS 1/2/4, bias, the RMSNorm prologue and the residual epilogue, a
 * block of zeros (d = 0), scales below f16's normal range.
 *
 * What the kernel computes exactly: per block, the integer Σ q_w·q_x (|Σ| ≤ 32·127·128 < 2²⁴, exact in
 * f32 too). What it rounds: the two products by d_w and d_x (2 roundings) and the f32 sum over the nb
 * blocks of a row (+ bias, + add): |got − want| ≤ γ_{nb+5}·S, S = Σ_b |d_x·d_w·Σ q_w·q_x| (+ |bias| + |add|),
 * γ_m = m·u / (1 − m·u), u = 2⁻²⁴.
 * Where the kernel and the reference may quantize x differently: x' (the norm in f32 on both sides,
 * emulated here as the kernel orders it: 8 interleaved partial sums; its fma may or may not be fused,
 * and inverseSqrt and division are within 2.5 ulp in WGSL) differs by a relative δ ≤ ½γ_{cols/8+8} + 4u
 * (0 without the norm), so d = max|x'|/127 by δ + 3u: a value whose x'·(1/d) lies within 127·(2δ + 8u)
 * of a half-integer may round the other way (one step of q_x: d_x·|W| more or less), and a block whose d
 * lies within δ + 3u of a rounding boundary of f16 may get the neighbouring f16 scale (2⁻¹⁰ relative).
 * Per output:
 *   bound = (γ_{nb+5} + δ + 3u)·S + Σ_{such values j} d_x·|W[o, j]| + 2⁻¹⁰·S_{such blocks},
 * atol = the largest bound of the case (the candidates are ~10⁻³ of the values; one wrong or missing
 * block term, ~|W·x| ~ 0.1–1 here, is still 10–100× above it).
 */
import { ggmlTypeByName } from '../../../src/formats/ggml-types.ts';
import { dequantize, quantize } from '../../../src/formats/quant.ts';
import { variantKey } from '../../../src/gpu/kernel.ts';
import { MATMUL_STORE_LIB, int8Plan, matmul, matmulInt8Kernel } from '../../../src/gpu/kernels/matmul.ts';
import { INT8_LIBS, uploadWeight } from '../../../src/gpu/weights.ts';
import { add } from '../../../src/reference/add.ts';
import { ACT_BLOCK, matmulInt8 as reference, quantizeActivations, roundF16 } from '../../../src/reference/matmul_int8.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  type: 'Q8_0' | 'Q4_0';
  n: number;
  rows: number;
  cols: number;
  bias: boolean;
  norm?: boolean;
  add?: boolean;
  /** tunables in place of int8Plan's */
  tune?: { ROWS?: number; TOKENS?: number; FDOT?: number };
  /** x's first block of every token is all zeros */
  zeros?: boolean;
  /** compare FDOT = 1 with FDOT = 0 bit for bit (not with the reference) */
  sameBits?: boolean;
  /** x ~ N(0, xScale²): 1e-3 puts every block's scale below f16's smallest normal (its subnormal rounding) */
  xScale?: number;
}

const cases: Case[] = (['Q8_0', 'Q4_0'] as const).flatMap((type) => [
  { type, n: 1, rows: 3, cols: 32, bias: false },
  { type, n: 1, rows: 7, cols: 576, bias: true },
  { type, n: 1, rows: 61, cols: 576, bias: false, zeros: true },
  { type, n: 1, rows: 576, cols: 1536, bias: true }, // a decode projection (down)
  { type, n: 1, rows: 960, cols: 576, bias: false, norm: true }, // SmolLM2-135M norm + q|k|v
  { type, n: 1, rows: 576, cols: 1536, bias: false, add: true }, // down + residual
  { type, n: 1, rows: 61, cols: 576, bias: true, norm: true, add: true },
  { type, n: 4, rows: 7, cols: 576, bias: false },
  { type, n: 5, rows: 61, cols: 576, bias: true, norm: true, add: true, zeros: true }, // 2 token groups, the last partial
  { type, n: 17, rows: 61, cols: 896, bias: false, norm: true },
  { type, n: 5, rows: 61, cols: 576, bias: true, norm: true, tune: { TOKENS: 1 } }, // the long-row plan
  // the other way to dot (prefill takes FDOT = 1, decode FDOT = 0): the same numbers
  { type, n: 5, rows: 61, cols: 576, bias: true, norm: true, add: true, tune: { FDOT: 0 } },
  { type, n: 1, rows: 61, cols: 576, bias: true, norm: true, tune: { FDOT: 1 } },
  { type, n: 5, rows: 61, cols: 576, bias: true, norm: true, add: true, sameBits: true },
  { type, n: 1, rows: 49152, cols: 64, bias: false }, // an LM head's row count
  { type, n: 1, rows: 61, cols: 576, bias: false, xScale: 1e-3 },
  ...[1, 2].flatMap((ROWS) => [
    { type, n: 1, rows: 61, cols: 576, bias: true, norm: true, tune: { ROWS } },
    { type, n: 5, rows: 7, cols: 576, bias: false, add: true, tune: { ROWS } },
  ]),
]);

/** x' as the kernel computes it: 8 interleaved partial sums of x², their sum, s = 1/sqrt(mean + eps), x·s·g. */
function kernelNorm(x: Float32Array, n: number, cols: number, g: Float32Array, eps: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(n * cols);
  for (let t = 0; t < n; t++) {
    const part = new Float32Array(8);
    for (let k = 0; k < 8; k++) for (let i = k; i < cols; i += 8) part[k] = f(x[t * cols + i] * x[t * cols + i] + part[k]);
    let q = 0;
    for (let k = 0; k < 8; k++) q = f(q + part[k]);
    const s = f(1 / Math.sqrt(f(f(q / cols) + eps)));
    for (let i = 0; i < cols; i++) out[t * cols + i] = f(f(x[t * cols + i] * s) * g[i]);
  }
  return out;
}

export default defineSuite<Case>({
  kernel: 'matmul_int8',
  cases,
  name: (c) => `int8 ${c.type} n=${c.n} ${c.rows}×${c.cols}${c.norm ? ' norm+' : ''}${c.bias ? ' +bias' : ''}${c.add ? ' +add' : ''}${c.zeros ? ' zero block' : ''}${c.xScale ? ` x·${c.xScale}` : ''}${c.sameBits ? ' FDOT 1 = FDOT 0 bit for bit' : ''}${c.tune ? ` ${JSON.stringify(c.tune)}` : ''}`,
  variant: (c) => variantKey(matmulInt8Kernel, { libs: [INT8_LIBS.get(c.type)!, MATMUL_STORE_LIB], overrides: { ...int8Plan(c.n, c.rows, c.cols, !!c.norm, 16384)!, ...c.tune } }),
  skip: (h) => (h.ctx.info.int8Dot ? undefined : "this browser's WGSL has no packed_4x8_integer_dot_product"),
  async run(h, c) {
    const type = ggmlTypeByName(c.type)!;
    const bytes = quantize(type, h.randn(c.rows * c.cols, 21, 0.5));
    const x = h.randn(c.n * c.cols, 22, c.xScale ?? 1);
    if (c.zeros) for (let t = 0; t < c.n; t++) x.fill(0, t * c.cols, t * c.cols + ACT_BLOCK);
    const bias = c.bias ? h.randn(c.rows, 23) : undefined;
    const g = c.norm ? Float32Array.from(h.randn(c.cols, 24, 0.3), (v) => 1 + v) : undefined;
    const addend = c.add ? h.randn(c.n * c.rows, 25, 2) : undefined;
    const eps = 1e-5;
    const xn = g ? kernelNorm(x, c.n, c.cols, g, eps) : x;
    const weight = { type, dims: [c.cols, c.rows], bytes };
    const product = reference(xn, c.n, weight, bias);
    const want = addend ? add(product, addend) : product;

    const f32 = ggmlTypeByName('F32')!;
    const w = uploadWeight(h.rec, 'w', type, [c.cols, c.rows], bytes);
    if (!w.int8) throw new Error(`no int8 library for ${c.type}`);
    const b = bias ? uploadWeight(h.rec, 'bias', f32, [c.rows], new Uint8Array(bias.buffer)) : undefined;
    const gw = g ? uploadWeight(h.rec, 'norm', f32, [c.cols], new Uint8Array(g.buffer)) : undefined;
    const run = (tune: Case['tune']) =>
      h.read(
        matmul(h.rec, h.tensor(c.n, c.cols, x), w, b, {
          plan: 'rowwise',
          int8: true,
          int8Tunables: tune,
          norm: gw && { weight: gw, eps },
          add: addend && h.tensor(c.n, c.rows, addend),
        }),
      );
    const got = await run(c.tune);
    if (c.sameBits) {
      // every partial sum is an integer below 2²⁴, scaled in the same order: the two must agree exactly
      const other = await run({ ...c.tune, FDOT: 0 });
      const fdot1 = await run({ ...c.tune, FDOT: 1 });
      w.buffer.destroy();
      b?.buffer.destroy();
      gw?.buffer.destroy();
      return compare(fdot1, other, { atol: 0, rtol: 0, nmse: 0, why: 'integer sums, exact in f32 and i32' });
    }
    w.buffer.destroy();
    b?.buffer.destroy();
    gw?.buffer.destroy();

    const u = 2 ** -24;
    const gamma = (m: number) => (m * u) / (1 - m * u);
    const nb = c.cols / ACT_BLOCK;
    const delta = c.norm ? gamma(c.cols / 8 + 8) / 2 + 4 * u : 0;
    const window = 127 * (2 * delta + 8 * u);
    const wf = dequantize(type, bytes, c.rows * c.cols);
    let atol = 0;
    let candidates = 0;
    let scales = 0;
    for (let t = 0; t < c.n; t++) {
      const row = xn.subarray(t * c.cols, (t + 1) * c.cols);
      const { q, d } = quantizeActivations(row);
      // the values that may round the other way, and the blocks whose f16 scale may
      const flip: number[] = [];
      const nearF16 = new Set<number>();
      const eps = delta + 3 * u;
      for (let b = 0; b < nb; b++) {
        let amax = 0;
        for (let j = b * ACT_BLOCK; j < (b + 1) * ACT_BLOCK; j++) amax = Math.max(amax, Math.abs(row[j]));
        const db = Math.fround(amax / 127);
        if (db === 0) continue;
        if (roundF16(db * (1 - eps)) !== roundF16(db * (1 + eps))) nearF16.add(b);
        for (let j = b * ACT_BLOCK; j < (b + 1) * ACT_BLOCK; j++) {
          const v = row[j] / db;
          if (Math.abs(Math.abs(v - Math.trunc(v)) - 0.5) <= window) flip.push(j);
        }
      }
      candidates += flip.length;
      scales += nearF16.size;
      for (let o = 0; o < c.rows; o++) {
        let s = (bias ? Math.abs(bias[o]) : 0) + (addend ? Math.abs(addend[t * c.rows + o]) : 0);
        let sNear = 0;
        for (let j = 0; j < c.cols; j++) {
          const term = Math.abs(wf[o * c.cols + j] * q[j] * d[Math.floor(j / ACT_BLOCK)]);
          s += term;
          if (nearF16.has(Math.floor(j / ACT_BLOCK))) sNear += term;
        }
        let fl = 0;
        for (const j of flip) fl += d[Math.floor(j / ACT_BLOCK)] * Math.abs(wf[o * c.cols + j]);
        atol = Math.max(atol, (gamma(nb + 5) + eps) * s + fl + 2 ** -10 * sNear);
      }
    }
    return compare(got, want, {
      atol,
      rtol: 0,
      nmse: 1e-8, // measured ~1e-14: catches a wrong scale that stays under atol everywhere
      why: `(γ_${nb + 5} + δ + 3u)·S + ${candidates} values within ${window.toExponential(1)} of a rounding boundary + ${scales} scales near an f16 boundary (δ = ${delta.toExponential(1)})`,
    });
  },
});

/**
 * quantize_q8_k and the K-quant products (matmul_q4_k, matmul_q6_k: Q8_K activations, integer dot
 * products per block) against src/reference/quantize_q8_k.ts and src/reference/matmul_int8.ts.
 * - quantize: the integers, the f32 scales and the bsums must be equal (both compute iscale, iscale·x
 *   and 1/iscale in f32 and round half to even).
 * - matmul: the integer sums per block are exact in both; the kernel then adds, per row and block
 *   after block in f32, f32(isum)·f32(d_w·d_x) − f32(msum)·f32(dmin_w·d_x), where the reference adds
 *   the same f32-scaled terms in float64. Per block that is 2 conversions, 2 products and 2 sums in f32,
 *   each rounding by ≤ 2^-24 of a value ≤ Σ_b|term_b| (computed here from the reference's own
 *   integers), plus the bias and add in f32: |error| ≤ 2^-24·((2·nb + 2)·Σ|terms| + 2·(|y| + |bias| +
 *   |add|)). The bound is twice that (2^-23 ≈ 1.2e-7, with nb + 4 for the block count): f32 summation
 *   order only. Any wrong integer (a scale, a nibble, a bsum) moves an output by ≥ |d_w·d_x| ~ 1e-4·|y|,
 *   far above it.
 * Shapes: k a multiple of 256 (the block), row counts 1, 3, 7, 61, 64, 131, 576 and 1536 (SmolLM2-135M's
 * ffn_down and a wide one), 1, 2, 5 and 17 tokens (the 4-token passes and every remainder), bias and add
 * on and off; and a 7-token product equal, bit for bit, to each token alone.
 */
import { GgmlType, ggmlTypeInfo, type GgmlTypeInfo } from '../../../src/formats/ggml-types.ts';
import { quantize } from '../../../src/formats/quant.ts';
import { matmulInt8 } from '../../../src/reference/matmul_int8.ts';
import { K_TYPES } from '../../../src/reference/matmul_int8_blocks.ts';
import { quantizeQ8_K } from '../../../src/reference/quantize_q8_k.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { WASM_KQUANT_KERNELS } from '../../../src/wasm/kernels/matmul_kquants.ts';
import { matmul } from '../../../src/wasm/kernels/matmul.ts';
import { quantizeQ8_K as quantizeQ8_KWasm } from '../../../src/wasm/kernels/quantize_q8_k.ts';
import { uploadWeight } from '../../../src/wasm/weights.ts';
import { compare, type CaseReport, type Ctx, type Suite } from '../harness.ts';

const f = Math.fround;

function normals(rng: Rng, n: number, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * scale;
  // an outlier now and then, as real activations have
  for (let i = 0; i < n; i += 97) x[i] *= 8;
  return x;
}

/** Σ_b |term_b| of every output (see the header), from the reference's integers. */
function termMagnitudes(type: GgmlTypeInfo, bytes: Uint8Array, x: Float32Array, n: number, k: number, out: number): Float64Array {
  const t = K_TYPES[type.name];
  const nb = k / 256;
  const nSub = 256 / t.sub;
  const rows = Array.from({ length: n }, (_, i) => quantizeQ8_K(x.subarray(i * k, (i + 1) * k)));
  const qw = new Int8Array(256);
  const sc = new Int32Array(nSub);
  const mn = new Int32Array(nSub);
  const mag = new Float64Array(n * out);
  for (let o = 0; o < out; o++) {
    for (let b = 0; b < nb; b++) {
      const { d, dmin } = t.decode(bytes, (o * nb + b) * t.bytes, qw, sc, mn);
      for (let i = 0; i < n; i++) {
        const r = rows[i];
        let isum = 0;
        let msum = 0;
        for (let s = 0; s < nSub; s++) {
          let dot = 0;
          let qs = 0;
          for (let j = s * t.sub; j < (s + 1) * t.sub; j++) {
            dot += qw[j] * r.q[b * 256 + j];
            qs += r.q[b * 256 + j];
          }
          isum += sc[s] * dot;
          msum += mn[s] * qs;
        }
        mag[i * out + o] += Math.abs(f(d * r.d[b]) * isum) + Math.abs(f(dmin * r.d[b]) * msum);
      }
    }
  }
  return mag;
}

const SHAPES: [k: number, out: number, n: number, bias: boolean, add: boolean][] = [
  [256, 1, 1, false, false],
  [256, 3, 2, true, false],
  [512, 7, 5, false, true],
  [768, 61, 17, true, true],
  [256, 64, 2, true, true],
  [1536, 576, 1, false, true],
  [512, 1536, 1, true, false],
  [1024, 131, 5, false, false],
];

export const quantizeQ8_KSuite: Suite = {
  name: 'quantize_q8_k',
  cases: [[256, 1], [512, 3], [1536, 2], [2048, 1]].map(([k, n]) => ({
    name: `k=${k} n=${n}`,
    run(ctx) {
      const rng = new Rng(k * 37 + n);
      const x = normals(rng, n * k);
      x.fill(0, 0, 256); // an all-zero block
      if (k >= 512) {
        // +amax and −amax in one block: the first one sets the sign of the scale
        x[300] = -20;
        x[400] = 20;
        x[700] = NaN; // skipped by the max, quantized to 0
      }
      ctx.heap.clearScratch();
      const xp = ctx.heap.scratch(x.byteLength);
      ctx.heap.f32(xp, x.length).set(x);
      const r = quantizeQ8_KWasm(ctx.run, ctx.heap, xp, n, k);
      const buf = ctx.kernels.memory.buffer;
      const wantQ = new Int8Array(n * k);
      const wantD = new Float32Array((n * k) / 256);
      const wantS = new Int16Array((n * k) / 16);
      for (let t = 0; t < n; t++) {
        const { q, d, bsums } = quantizeQ8_K(x.subarray(t * k, (t + 1) * k));
        wantQ.set(q, t * k);
        wantD.set(d, (t * k) / 256);
        wantS.set(bsums, (t * k) / 16);
      }
      const reports = [
        compare('quantize_q8_k', `q k=${k} n=${n}`, new Int8Array(buf, r.q, n * k), wantQ, () => 0),
        compare('quantize_q8_k', `d k=${k} n=${n}`, ctx.heap.f32(r.d, (n * k) / 256), wantD, () => 0),
        compare('quantize_q8_k', `bsums k=${k} n=${n}`, new Int16Array(buf, r.bsums, (n * k) / 16), wantS, () => 0),
      ];
      return reports.find((x) => !x.ok) ?? reports[0];
    },
  })),
};

interface Prepared {
  bytes: Uint8Array;
  x: Float32Array;
  bias: Float32Array;
  add: Float32Array;
  want: Float32Array;
  mag: Float64Array;
}

/** Inputs and the reference's outputs, made once per case (the suite runs on every variant). */
const prepared = new Map<string, Prepared>();

function prepare(type: GgmlTypeInfo, k: number, out: number, n: number): Prepared {
  const key = `${type.name} ${k} ${out} ${n}`;
  let p = prepared.get(key);
  if (!p) {
    const rng = new Rng(k * 7 + out * 13 + n + type.id * 1009);
    const bytes = quantize(type, normals(rng, out * k, 1 / Math.sqrt(k)));
    const x = normals(rng, n * k);
    const bias = normals(rng, out, 0.1);
    const add = normals(rng, n * out);
    const want = matmulInt8(x, n, { type, dims: [k, out], bytes });
    p = { bytes, x, bias, add, want, mag: termMagnitudes(type, bytes, x, n, k, out) };
    prepared.set(key, p);
  }
  return p;
}

const TYPES = Object.keys(WASM_KQUANT_KERNELS).map((name) => ggmlTypeInfo(GgmlType[name as keyof typeof GgmlType])!);

/** One product against the reference (the suite's case for a type and a shape). */
function runCase(ctx: Ctx, type: GgmlTypeInfo, name: string, [k, out, n, withBias, withAdd]: (typeof SHAPES)[number]): CaseReport {
  const p = prepare(type, k, out, n);
  ctx.heap.reset();
  const w = uploadWeight(ctx.heap, 'w', type, [k, out], p.bytes);
  const bp = ctx.heap.alloc(p.bias.byteLength, 'bias');
  ctx.heap.f32(bp, out).set(p.bias);
  const xp = ctx.heap.scratch(p.x.byteLength);
  ctx.heap.f32(xp, p.x.length).set(p.x);
  const ap = ctx.heap.scratch(p.add.byteLength);
  ctx.heap.f32(ap, p.add.length).set(p.add);
  const y = matmul(ctx.run, ctx.heap, xp, n, w, withBias ? bp : undefined, withAdd ? ap : undefined);
  const got = ctx.heap.f32(y, n * out).slice();
  const bias = (i: number) => (withBias ? p.bias[i % out] : 0);
  const add = (i: number) => (withAdd ? p.add[i] : 0);
  const want = p.want.map((v, i) => f(f(v + bias(i)) + add(i)));
  const nb = k / 256;
  return compare(`matmul ${type.name}`, name, got, want, (i) => 1.2e-7 * ((nb + 4) * p.mag[i] + 2 * (Math.abs(want[i]) + Math.abs(bias(i)) + Math.abs(add(i)))));
}

/**
 * A token's output does not depend on the batch it came in: the kernels take 4 tokens at a time where
 * they can (sharing each block's decoding) and the rest one by one, with the same integers and the same
 * f32 steps per token, so every row of a 7-token product equals that token computed alone, bit for bit.
 */
function runBatchCase(ctx: Ctx, type: GgmlTypeInfo, name: string): CaseReport {
  const [k, out, n] = [512, 61, 7];
  const p = prepare(type, k, out, n);
  ctx.heap.reset();
  const w = uploadWeight(ctx.heap, 'w', type, [k, out], p.bytes);
  const xp = ctx.heap.scratch(p.x.byteLength);
  ctx.heap.f32(xp, p.x.length).set(p.x);
  const all = ctx.heap.f32(matmul(ctx.run, ctx.heap, xp, n, w), n * out).slice();
  const alone = new Float32Array(n * out);
  for (let t = 0; t < n; t++) alone.set(ctx.heap.f32(matmul(ctx.run, ctx.heap, xp + t * k * 4, 1, w), out), t * out);
  return compare(`matmul ${type.name}`, name, all, alone, () => 0);
}

export const matmulKQuantsSuite: Suite = {
  name: `matmul K-quants (${TYPES.map((t) => t.name).join(', ')})`,
  cases: TYPES.flatMap((type) => [
    ...SHAPES.map((shape) => {
      const [k, out, n, withBias, withAdd] = shape;
      const name = `${type.name} k=${k} out=${out} n=${n}${withBias ? ' bias' : ''}${withAdd ? ' add' : ''}`;
      return { name, run: (ctx: Ctx) => runCase(ctx, type, name, shape) };
    }),
    { name: `${type.name} 7 tokens at once = each alone`, run: (ctx: Ctx) => runBatchCase(ctx, type, `${type.name} 7 tokens at once = each alone`) },
  ]),
};

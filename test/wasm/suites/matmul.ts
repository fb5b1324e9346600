/**
 * quantize_q8_0 and the matrix products (matmul_q8_0, matmul_q4_0 with int8 activations; matmul_f32;
 * matmul_f16 for F16 and BF16 after round_activations) against src/reference/matmul_int8.ts and
 * src/reference/matmul.ts (with x rounded as llama.cpp rounds it for F16/BF16 weights).
 * - quantize: the integers and the f16-rounded scales must be equal (both round half to even in f32).
 * - matmul: the kernel adds each block's exact integer sum, scaled, in f32 (4 lanes, then the lanes);
 *   the reference adds in float64. Each of the nb block terms carries one f32 rounding (≤ 2^-24
 *   relative) and the running sum one more per block, so |error| ≤ 2·nb·2^-24·Σ|terms| ≤ 1.2e-7·nb·Σ|terms|;
 *   the bound is 4× that, per output (Σ|terms| computed from the reference's integers).
 * Shapes: one block, odd and prime row counts (the 4-row body and its tail), several tokens, and
 * SmolLM2-135M's (576 → 1536, 1536 → 576).
 */
import { GgmlType, ggmlTypeInfo } from '../../../src/formats/ggml-types.ts';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../../src/formats/half.ts';
import { quantize } from '../../../src/formats/quant.ts';
import { matmul as matmulF32 } from '../../../src/reference/matmul.ts';
import { matmulInt8, quantizeActivations } from '../../../src/reference/matmul_int8.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { matmul } from '../../../src/wasm/kernels/matmul.ts';
import { quantizeQ8_0 } from '../../../src/wasm/kernels/quantize_q8_0.ts';
import { uploadWeight } from '../../../src/wasm/weights.ts';
import { compare, type Suite } from '../harness.ts';

const Q8_0 = ggmlTypeInfo(GgmlType.Q8_0)!;
const TYPES = [Q8_0, ggmlTypeInfo(GgmlType.Q4_0)!, ggmlTypeInfo(GgmlType.F32)!, ggmlTypeInfo(GgmlType.F16)!, ggmlTypeInfo(GgmlType.BF16)!];

/** x as llama.cpp's CPU backend gives it to a product with F16 / BF16 weights (rounded to their precision) */
function rounded(type: string, x: Float32Array): Float32Array {
  if (type === 'F16') return x.map((v) => f16ToF32(f32ToF16(v)));
  if (type === 'BF16') return x.map((v) => bf16ToF32(f32ToBf16(v)));
  return x;
}

function normals(rng: Rng, n: number, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * scale;
  // an outlier now and then, as real activations have
  for (let i = 0; i < n; i += 97) x[i] *= 8;
  return x;
}

const SHAPES: [k: number, out: number, n: number][] = [
  [32, 1, 1],
  [32, 5, 1],
  [64, 7, 3],
  [96, 13, 2],
  [288, 37, 5],
  [576, 1536, 1],
  [1536, 576, 1],
  [576, 131, 9],
];

export const quantizeSuite: Suite = {
  name: 'quantize_q8_0',
  cases: [[32, 1, 0], [64, 3, 0], [576, 2, 0], [1536, 1, 0], [256, 2, 1]].map(([k, n, midpoints]) => ({
    name: `k=${k} n=${n}${midpoints ? ', values halfway between two steps' : ''}`,
    run(ctx) {
      const rng = new Rng(k * 31 + n);
      const x = normals(rng, n * k);
      x.fill(0, 0, Math.min(32, x.length)); // an all-zero block
      if (midpoints) {
        // x = (i + ½)·amax/127: where x·(1/d) and x·127/amax round differently in f32 (ggml's x86
        // quantize_row_q8_0 multiplies by 127/amax; the reference does too)
        for (let b = 1; b < (n * k) / 32; b++) {
          const amax = 0.5 + (b % 7) * 0.37;
          for (let j = 0; j < 32; j++) x[b * 32 + j] = j === 0 ? amax : (((j * 5) % 127) - 63 + 0.5) * (amax / 127) * (j % 2 ? 1 : -1);
        }
      }
      ctx.heap.clearScratch();
      const xp = ctx.heap.scratch(x.byteLength);
      ctx.heap.f32(xp, x.length).set(x);
      const r = quantizeQ8_0(ctx.run, ctx.heap, xp, n, k);
      const gotQ = new Int8Array(ctx.kernels.memory.buffer, r.q, n * k);
      const gotD = ctx.heap.f32(r.d, (n * k) / 32);
      const wantQ = new Int8Array(n * k);
      const wantD = new Float32Array((n * k) / 32);
      for (let t = 0; t < n; t++) {
        const { q, d } = quantizeActivations(x.subarray(t * k, (t + 1) * k));
        wantQ.set(q, t * k);
        wantD.set(d, (t * k) / 32);
      }
      const a = compare('quantize_q8_0', `q k=${k} n=${n}`, gotQ, wantQ, () => 0);
      const b = compare('quantize_q8_0', `d k=${k} n=${n}`, gotD, wantD, () => 0);
      return a.ok ? b : a;
    },
  })),
};

export const matmulSuite: Suite = {
  name: 'matmul (Q8_0, Q4_0, F32, F16, BF16)',
  cases: TYPES.flatMap((type) =>
    SHAPES.map(([k, out, n]) => ({
      name: `${type.name} k=${k} out=${out} n=${n}`,
      run(ctx) {
        const rng = new Rng(k * 7 + out * 13 + n);
        const wf = normals(rng, out * k, 1 / Math.sqrt(k));
        const bytes = quantize(type, wf);
        const x = normals(rng, n * k);
        const bias = normals(rng, out, 0.1);
        const add = normals(rng, n * out);
        ctx.heap.reset();
        const w = uploadWeight(ctx.heap, 'w', type, [k, out], bytes);
        const bp = ctx.heap.alloc(bias.byteLength, 'bias');
        ctx.heap.f32(bp, out).set(bias);
        const xp = ctx.heap.scratch(x.byteLength);
        ctx.heap.f32(xp, x.length).set(x);
        const ap = ctx.heap.scratch(add.byteLength);
        ctx.heap.f32(ap, add.length).set(add);
        const y = matmul(ctx.run, ctx.heap, xp, n, w, bp, ap);
        const got = ctx.heap.f32(y, n * out).slice();
        const int8 = type.name === 'Q8_0' || type.name === 'Q4_0';
        const product = int8 ? matmulInt8 : matmulF32;
        const want = product(rounded(type.name, x), n, { type, dims: [k, out], bytes }, bias);
        for (let i = 0; i < want.length; i++) want[i] += add[i];
        // Σ|terms| per output: the same product with |w| and |x| (an upper estimate within 2× for the quantized types)
        const mag = product(x.map(Math.abs), n, { type, dims: [k, out], bytes: quantize(type, wf.map(Math.abs)) });
        // int8: nb block terms in f32 (see the header); f32: k products and k sums in f32 (≤ 2k·2^-24 relative)
        const terms = int8 ? k / 32 : k;
        return compare(`matmul ${type.name}`, `k=${k} out=${out} n=${n}`, got, want, (i) => 4 * 1.2e-7 * terms * (2 * mag[i] + Math.abs(add[i]) + Math.abs(bias[i % out])) + 1e-6);
      },
    })),
  ),
};

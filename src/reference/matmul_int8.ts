/**
 * Matrix product with 8-bit activations: what llama.cpp's CPU backend computes for quantized weights
 * (ggml_compute_forward_mul_mat: the activations are first converted to the weight type's vec_dot_type,
 * then integer dot products), the reference for the WebAssembly kernels and, for Q8_0 and Q4_0, for
 * kernels/matmul_int8.wgsl. Every token row of x is quantized on its own:
 *   Q8_0, Q4_0, Q5_0 weights → Q8_0 activations (blocks of 32, f16 scale; src/reference/quantize_q8_0.ts)
 *   Q4_1, Q5_1 weights       → Q8_1 activations (Q8_0 plus s = f16(d·Σq) per block)
 *   Q2_K … Q6_K weights      → Q8_K activations (blocks of 256, f32 scale, bsums per 16;
 *                                                src/reference/quantize_q8_k.ts)
 * and then, with the weight blocks' integers (src/reference/matmul_int8_blocks.ts), per block b of a row:
 *   Q8_0, Q4_0, Q5_0   term_b = f32(d_w·d_x) · Σ_j q_w·q_x
 *   Q4_1, Q5_1         term_b = f32(d_w·d_x) · Σ_j q_w·q_x + f32(m_w·s_x)
 *   Q3_K, Q6_K         term_b = f32(d_w·d_x) · Σ_s sc_s·Σ_{j∈s} q_w·q_x
 *   Q2_K, Q4_K, Q5_K   term_b = f32(d_w·d_x) · Σ_s sc_s·Σ_{j∈s} q_w·q_x − f32(dmin_w·d_x) · Σ_s mn_s·Σ_{j∈s} q_x
 *                      (Σ_{j∈s} q_x from the activations' bsums: one per 16 values, two per sub-block of 32)
 * where the sums of integers are exact (int32 in ggml, no overflow: |Σ| < 2³¹), f32(·) is the product
 * of the two scales rounded to f32 as ggml forms it (exact when both are f16; d_x of Q8_K is an f32), and
 *   y[t, o] = f32( f32(Σ_b term_b) + bias[o] )     with Σ_b in float64.
 * llama.cpp adds the same terms in f32 (on x86: 8 FMA lanes, then a horizontal sum; tinyBLAS for
 * Q8_0/Q4_0/Q5_0 with several tokens; repacked GEMMs for Q4_0/Q4_K), so its products differ from these
 * by f32 rounding only: |Δ| ≲ nb·2⁻²⁴·Σ_b|term_b| (measured on the fixtures' own inputs: ≤ 5e-7 on values
 * ~1). The bias is llama.cpp's separate f32 add. A kernel that adds in another order is compared with a
 * bound of that size, and its integers (the quantized activations) must be equal.
 * x [n, in] (in % 32 = 0, or % 256 for K-quants) → y [n, out]; bias [out]; W as stored in GGUF.
 */
import { CriaError } from '../shared/errors.ts';
import type { QuantMatrix } from './matmul.ts';
import { K_TYPES, SMALL_TYPES } from './matmul_int8_blocks.ts';
import { Q8_BLOCK, quantizeQ8_0, quantizeQ8_1, roundF16, type Q8_0Row, type Q8_1Row } from './quantize_q8_0.ts';
import { Q8_K_BLOCK, Q8_K_SUB, quantizeQ8_K } from './quantize_q8_k.ts';

export { roundF16 };
/** The block length of Q8_0/Q8_1 activations (kept under its old name for existing callers). */
export const ACT_BLOCK = Q8_BLOCK;

/**
 * The weight types whose products take int8 activations in CpuBackend({ activations: 'int8' }): every
 * type llama.cpp computes with integer dot products and Cria reads. F32, F16 and BF16 keep f32
 * activations (llama.cpp's F16 vec_dot_type is F16: it rounds x to f16 and adds in f32; Cria keeps x
 * in f32 there: llama-gqa-f16 is 0.006 from llama.cpp's logits either way, see model-random.test.ts).
 */
export const INT8_ACTIVATION_TYPES: ReadonlySet<string> = new Set([...Object.keys(SMALL_TYPES), ...Object.keys(K_TYPES)]);

/**
 * The weight types the WebGPU backend computes with int8 activations ('Q8_0', 'Q4_0': the types with a
 * kernels/lib/int8_<type>.wgsl): a CPU reference for the GPU's int8 path quantizes only these.
 */
export const GPU_INT8_ACTIVATION_TYPES: ReadonlySet<string> = new Set(['Q8_0', 'Q4_0']);

/** One row quantized per block of 32 as llama.cpp's x86 quantize_row_q8_0 (see quantize_q8_0.ts). */
export function quantizeActivations(x: Float32Array): Q8_0Row {
  return quantizeQ8_0(x);
}

const f = Math.fround;

export function matmulInt8(x: Float32Array, n: number, w: QuantMatrix, bias?: Float32Array): Float32Array {
  const name = w.type.name;
  const product = SMALL_TYPES[name] ? matmulSmall : K_TYPES[name] ? matmulK : undefined;
  if (!product) throw new CriaError('internal', `no int8 product for ${name} weights; int8 activations are for ${[...INT8_ACTIVATION_TYPES].join(', ')}`);
  const inDim = w.dims[0];
  const block = K_TYPES[name] ? Q8_K_BLOCK : Q8_BLOCK;
  if (inDim % block !== 0) throw new CriaError('internal', `${name} rows need a multiple of ${block} values, got ${inDim}`);
  const typeBytes = (SMALL_TYPES[name] ?? K_TYPES[name]).bytes;
  const outDim = w.bytes.byteLength / ((inDim / block) * typeBytes);
  if (x.length !== n * inDim || !Number.isInteger(outDim)) throw new CriaError('internal', `matmulInt8: x has ${x.length} values for ${n}×${inDim}, W ${w.bytes.byteLength} bytes`);
  const y = product(x, n, inDim, outDim, w);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = f(y[i] + bias[i % outDim]);
  return y;
}

/** Q8_0/Q4_0/Q5_0 with Q8_0 activations, Q4_1/Q5_1 with Q8_1 */
function matmulSmall(x: Float32Array, n: number, inDim: number, outDim: number, w: QuantMatrix): Float32Array {
  const t = SMALL_TYPES[w.type.name];
  const nb = inDim / Q8_BLOCK;
  const rows = Array.from({ length: n }, (_, i) => (t.act === 'Q8_1' ? quantizeQ8_1 : quantizeQ8_0)(x.subarray(i * inDim, (i + 1) * inDim)));
  const qw = new Int8Array(inDim);
  const dw = new Float64Array(nb);
  const mw = new Float64Array(nb);
  const y = new Float32Array(n * outDim);
  for (let o = 0; o < outDim; o++) {
    for (let b = 0; b < nb; b++) {
      const r = t.decode(w.bytes, (o * nb + b) * t.bytes, qw.subarray(b * Q8_BLOCK, (b + 1) * Q8_BLOCK));
      dw[b] = r.d;
      mw[b] = r.m;
    }
    for (let i = 0; i < n; i++) {
      const { q, d } = rows[i];
      const s = t.act === 'Q8_1' ? (rows[i] as Q8_1Row).s : undefined;
      let sum = 0;
      for (let b = 0; b < nb; b++) {
        let isum = 0;
        for (let j = b * Q8_BLOCK; j < (b + 1) * Q8_BLOCK; j++) isum += qw[j] * q[j];
        sum += f(dw[b] * d[b]) * isum;
        if (s) sum += f(mw[b] * s[b]);
      }
      y[i * outDim + o] = sum;
    }
  }
  return y;
}

/** Q2_K…Q6_K with Q8_K activations */
function matmulK(x: Float32Array, n: number, inDim: number, outDim: number, w: QuantMatrix): Float32Array {
  const t = K_TYPES[w.type.name];
  const nb = inDim / Q8_K_BLOCK;
  const nSub = Q8_K_BLOCK / t.sub;
  const perSub = t.sub / Q8_K_SUB; // bsums per sub-block
  const rows = Array.from({ length: n }, (_, i) => quantizeQ8_K(x.subarray(i * inDim, (i + 1) * inDim)));
  const qw = new Int8Array(inDim);
  const sc = new Int32Array(nb * nSub);
  const mn = new Int32Array(nb * nSub);
  const dw = new Float64Array(nb);
  const dminw = new Float64Array(nb);
  const y = new Float32Array(n * outDim);
  for (let o = 0; o < outDim; o++) {
    for (let b = 0; b < nb; b++) {
      const s0 = b * nSub;
      const r = t.decode(w.bytes, (o * nb + b) * t.bytes, qw.subarray(b * Q8_K_BLOCK, (b + 1) * Q8_K_BLOCK), sc.subarray(s0, s0 + nSub), mn.subarray(s0, s0 + nSub));
      dw[b] = r.d;
      dminw[b] = r.dmin;
    }
    for (let i = 0; i < n; i++) {
      const { q, d, bsums } = rows[i];
      let sum = 0;
      for (let b = 0; b < nb; b++) {
        let isum = 0; // Σ_s sc_s · Σ_{j∈s} q_w·q_x
        let msum = 0; // Σ_s mn_s · Σ_{j∈s} q_x
        for (let s = 0; s < nSub; s++) {
          const j0 = b * Q8_K_BLOCK + s * t.sub;
          let dot = 0;
          for (let j = j0; j < j0 + t.sub; j++) dot += qw[j] * q[j];
          isum += sc[b * nSub + s] * dot;
          let qsum = 0;
          for (let k = 0; k < perSub; k++) qsum += bsums[j0 / Q8_K_SUB + k];
          msum += mn[b * nSub + s] * qsum;
        }
        sum += f(dw[b] * d[b]) * isum;
        if (msum !== 0) sum -= f(dminw[b] * d[b]) * msum;
      }
      y[i * outDim + o] = sum;
    }
  }
  return y;
}

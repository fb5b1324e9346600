/**
 * Matrix product with 8-bit activations, the reference for kernels/matmul_int8.wgsl (and what
 * llama.cpp's CPU backend computes for Q8_0 and Q4_0 weights, whose vec_dot_type is Q8_0):
 * every token row of x is quantized per block of 32 as ggml's quantize_row_q8_0 does,
 *   d = max_j |x_j| / 127,  q_j = round(x_j · (1/d))   (0 where the block is all zeros),
 * with the scale then stored as f16 (d₁₆, rounded to nearest even) as ggml's block_q8_0 stores it,
 * and y[t, o] = Σ_b d₁₆_b · Σ_j W[o, 32b + j] · q_j (+ bias[o]), accumulated in float64 (matmulInt8).
 * The quantization is computed in f32 step by step as the kernel does (so the integers agree with
 * it except where a GPU's division rounds differently), rounding halves to even like WGSL's round()
 * (ggml's scalar code rounds them away from zero, its AVX code to even: ties are rare either way).
 * With the f16 scale this is llama.cpp's arithmetic: its logits for the Q8_0 random models are matched
 * exactly (test/unit/model-random.test.ts).
 * x [n, in] (in % 32 = 0) → y [n, out]; bias [out].
 */
import { CriaError } from '../shared/errors.ts';
import { F16_TO_F32, f32BitsToF16 } from '../formats/half.ts';
import { matmul, type QuantMatrix } from './matmul.ts';

export const ACT_BLOCK = 32;

/** The weight types whose products take int8 activations (CpuBackend, and the WebGPU backend's kernels/lib/int8_<type>.wgsl). */
export const INT8_ACTIVATION_TYPES: ReadonlySet<string> = new Set(['Q8_0', 'Q4_0']);

const f = Math.fround;
const bits = new Float32Array(1);
const bitsU = new Uint32Array(bits.buffer);

/** v rounded to the nearest f16 (ties to even), as an f32 */
export function roundF16(v: number): number {
  bits[0] = v;
  return F16_TO_F32[f32BitsToF16(bitsU[0])];
}

/** round half to even, as WGSL's round() */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One row of activations quantized per block of 32: q (int8 values) and d (the f16 scale of each block, as f32). */
export function quantizeActivations(x: Float32Array): { q: Int8Array; d: Float32Array } {
  if (x.length % ACT_BLOCK !== 0) throw new CriaError('internal', `int8 activations need a multiple of ${ACT_BLOCK} values, got ${x.length}`);
  const nb = x.length / ACT_BLOCK;
  const q = new Int8Array(x.length);
  const d = new Float32Array(nb);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < ACT_BLOCK; j++) amax = Math.max(amax, Math.abs(x[b * ACT_BLOCK + j]));
    const db = f(amax / 127);
    const id = db > 0 ? f(1 / db) : 0;
    d[b] = roundF16(db);
    for (let j = 0; j < ACT_BLOCK; j++) q[b * ACT_BLOCK + j] = roundEven(f(x[b * ACT_BLOCK + j] * id));
  }
  return { q, d };
}

/**
 * The product with every token row of x replaced by its quantized values q_j·d₁₆_b: each such value and
 * each product with a weight is exact in float64 (≤ 38 significant bits), so this is
 * Σ_b d₁₆_b · Σ_j W·q_j up to float64 rounding, computed by the plain reference product.
 */
export function matmulInt8(x: Float32Array, n: number, w: QuantMatrix, bias?: Float32Array): Float32Array {
  const inDim = w.dims[0];
  const xq = new Float32Array(n * inDim);
  for (let t = 0; t < n; t++) {
    const { q, d } = quantizeActivations(x.subarray(t * inDim, (t + 1) * inDim));
    for (let j = 0; j < inDim; j++) xq[t * inDim + j] = q[j] * d[Math.floor(j / ACT_BLOCK)];
  }
  return matmul(xq, n, w, bias);
}

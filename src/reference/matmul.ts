/**
 * Matrix product with a (possibly quantized) weight, the reference for every
 * matvec_* / matmul_* kernel: y[t, o] = Σ_i W[o, i] · x[t, i] (+ bias[o]).
 * W is `[out, in]` row-major as stored in GGUF (ggml dims [in, out]); each
 * weight row is dequantized once per call and dotted with every token row,
 * accumulating in float64.
 * x [n, in] → y [n, out]; bias [out].
 */
import { dequantizeRows } from '../formats/quant.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';

export interface QuantMatrix {
  readonly type: GgmlTypeInfo;
  /** ggml order: [in, out] */
  readonly dims: readonly number[];
  readonly bytes: Uint8Array;
}

const ROWS_PER_CHUNK = 32;

export function matmul(x: Float32Array, n: number, w: QuantMatrix, bias?: Float32Array): Float32Array {
  const inDim = w.dims[0];
  const outDim = w.bytes.byteLength / ((inDim / w.type.blockSize) * w.type.typeSize);
  const y = new Float32Array(n * outDim);
  const rows = new Float32Array(ROWS_PER_CHUNK * inDim);
  for (let o0 = 0; o0 < outDim; o0 += ROWS_PER_CHUNK) {
    const nr = Math.min(ROWS_PER_CHUNK, outDim - o0);
    dequantizeRows(w.type, w.bytes, inDim, o0, nr, rows);
    for (let r = 0; r < nr; r++) {
      const ro = r * inDim;
      const b = bias ? bias[o0 + r] : 0;
      for (let t = 0; t < n; t++) {
        const xo = t * inDim;
        let s = 0;
        for (let i = 0; i < inDim; i++) s += rows[ro + i] * x[xo + i];
        y[t * outDim + o0 + r] = s + b;
      }
    }
  }
  return y;
}

/**
 * Embedding lookup reference: y[t] = dequantize(table row tokens[t]).
 * table ggml dims [dim, nVocab] → y [n, dim].
 */
import { CriaError } from '../shared/errors.ts';
import { dequantizeRows } from '../formats/quant.ts';
import type { QuantMatrix } from './matmul.ts';

export function embedding(table: QuantMatrix, tokens: readonly number[]): Float32Array {
  const dim = table.dims[0];
  const nVocab = table.dims[1];
  const y = new Float32Array(tokens.length * dim);
  tokens.forEach((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= nVocab) {
      throw new CriaError('bad-argument', `token id ${id} is outside the vocabulary (0..${nVocab - 1})`);
    }
    y.set(dequantizeRows(table.type, table.bytes, dim, id, 1), t * dim);
  });
  return y;
}

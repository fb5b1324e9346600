/**
 * A model with an adapter merged into its weights (llama.cpp's export-lora): every adapted matrix
 * becomes W + scale · (alpha / r) · B·A, written back in its own type (a quantized matrix is
 * dequantized, changed and quantized again with ggml's reference quantizer, so it carries one more
 * rounding than applying the adapter at run time; F32 stays exact up to float sums), every other
 * tensor and all metadata copied as they are. Returns the GGUF file's byte parts.
 */
import { CriaError } from '../shared/errors.ts';
import { readTensorBytes, type GgufFile } from '../formats/gguf.ts';
import { encodeGguf, gv } from '../formats/gguf-writer.ts';
import { loraScale, readLoraPair, type LoraAdapter } from '../formats/lora.ts';
import { dequantize, isQuantizable, quantize } from '../formats/quant.ts';

export async function mergeLora(base: GgufFile, adapter: LoraAdapter, scale = 1): Promise<Uint8Array[]> {
  if (!Number.isFinite(scale)) throw new CriaError('bad-argument', `the scale must be a finite number, got ${scale}`);
  const tensors = [];
  for (const t of base.tensors) {
    let data = await readTensorBytes(base, t);
    const pair = adapter.pairs.get(t.name);
    if (pair) {
      if (!isQuantizable(t.type)) throw new CriaError('not-implemented', `${t.name} is ${t.type.name}, which Cria cannot write back after merging`, { tensor: t.name });
      const w = dequantize(t.type, data, t.nElements).slice();
      const { a, b } = await readLoraPair(adapter, pair);
      const s = loraScale(adapter.alpha, pair.rank, scale);
      const acc = new Float64Array(pair.inDim);
      for (let o = 0; o < pair.outDim; o++) {
        acc.fill(0);
        for (let k = 0; k < pair.rank; k++) {
          const bk = b[o * pair.rank + k]!;
          if (bk === 0) continue;
          const row = k * pair.inDim;
          for (let i = 0; i < pair.inDim; i++) acc[i]! += bk * a[row + i]!;
        }
        const wo = o * pair.inDim;
        for (let i = 0; i < pair.inDim; i++) w[wo + i]! += s * acc[i]!;
      }
      data = t.type.name === 'F32' ? new Uint8Array(w.buffer) : quantize(t.type, w);
    }
    tensors.push({ name: t.name, type: t.type, dims: t.dims, data });
  }
  const metadata = new Map(base.metadata);
  const name = base.metadata.get('general.name')?.value;
  metadata.set('general.name', gv.str(`${typeof name === 'string' ? name : 'model'} + ${adapter.name ?? 'LoRA'}`));
  return encodeGguf({ metadata, tensors, alignment: base.alignment });
}

/**
 * embedding (+ every dequantizer library) on WebGPU vs the CPU dequantizers:
 * random weights are quantized with ggml's reference quantizers
 * (src/formats/quant.ts), uploaded in the GPU layout, and rows are looked up.
 */
import { ggmlTypeByName } from '../../../src/formats/ggml-types.ts';
import { quantize } from '../../../src/formats/quant.ts';
import { embedding } from '../../../src/gpu/kernels/embedding.ts';
import { DEQUANT_LIBS, uploadWeight } from '../../../src/gpu/weights.ts';
import { embedding as reference } from '../../../src/reference/embedding.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  type: string;
  cols: number;
  vocab: number;
  ids: number[];
}

const shapes = (type: string): Omit<Case, 'type'>[] => {
  const block = ggmlTypeByName(type)!.blockSize;
  const unit = block === 1 ? 1 : block;
  const out = [
    { cols: unit === 1 ? 4 : unit, vocab: 1, ids: [0] },
    { cols: 3 * Math.max(unit, 32), vocab: 37, ids: [0, 36, 5, 5, 17] },
    { cols: 576 % unit === 0 ? 576 : 768, vocab: 11, ids: [10, 0, 3] },
  ];
  if (unit === 1) out.push({ cols: 33, vocab: 5, ids: [4, 1] }, { cols: 7, vocab: 3, ids: [2, 0, 1] }, { cols: 2, vocab: 70001, ids: [70000, 0] });
  return out;
};

const cases: Case[] = [...DEQUANT_LIBS.keys()].sort().flatMap((type) => shapes(type).map((s) => ({ type, ...s })));

export default defineSuite<Case>({
  kernel: 'embedding',
  cases,
  name: (c) => `${c.type} ${c.vocab}×${c.cols} ids [${c.ids.join(',')}]`,
  variant: (c) => `embedding|dequant_${c.type.toLowerCase()}`,
  async run(h, c) {
    const type = ggmlTypeByName(c.type)!;
    const f32 = h.randn(c.vocab * c.cols, 7, 0.5);
    const bytes = quantize(type, f32);
    const want = reference({ type, dims: [c.cols, c.vocab], bytes }, c.ids);
    const w = uploadWeight(h.rec, 'w', type, [c.cols, c.vocab], bytes);
    const got = await h.read(embedding(h.rec, w, h.upload(Uint32Array.from(c.ids)), c.ids.length));
    w.buffer.destroy();
    // dequantization is exact arithmetic on f16 scales and small ints, except that a GPU may fuse
    // d·q − m into one FMA (≤ 1 ulp of the result): relative 2⁻²², plus 1e-30 for zeros
    return compare(got, want, { atol: 1e-30, rtol: 2 ** -22, nmse: 1e-12, why: 'exact up to FMA contraction (1 ulp)' });
  },
});

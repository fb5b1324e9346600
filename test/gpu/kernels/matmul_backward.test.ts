/**
 * matmul_backward_input (a weight of every type the GPU reads, through its dequantizer library) and
 * matmul_backward_weight (f32: a LoRA adapter's A and B, f32 models) on WebGPU vs
 * src/reference/matmul_backward.ts (float64, with the weight's dequantized values), which is checked
 * against finite differences in test/unit/backward.test.ts.
 */
import { matmulBackwardInput, matmulBackwardWeight } from '../../../src/gpu/kernels/matmul_backward.ts';
import { matmulBackwardInput as refInput, matmulBackwardWeight as refWeight } from '../../../src/reference/matmul_backward.ts';
import { compare, defineSuite } from '../harness/suite.ts';
import { ggmlTypeByName } from '../../../src/formats/ggml-types.ts';
import { dequantize, quantize } from '../../../src/formats/quant.ts';
import { DEQUANT_LIBS, uploadWeight } from '../../../src/gpu/weights.ts';

interface Case {
  rows: number;
  inDim: number;
  outDim: number;
  /** the weight's type for dx (dW is f32): every dequantizer library */
  type: string;
}

const SHAPES = [
  { rows: 1, inDim: 256, outDim: 1 },
  { rows: 3, inDim: 256, outDim: 7 },
  { rows: 5, inDim: 512, outDim: 67 }, // prime rows
  { rows: 24, inDim: 576, outDim: 32 }, // LoRA A of SmolLM2-135M (rank 8 padded to 32), a training sequence
];
const F32_SHAPES = [
  { rows: 1, inDim: 1, outDim: 1 },
  { rows: 3, inDim: 13, outDim: 7 },
  { rows: 24, inDim: 32, outDim: 1536 }, // LoRA B of its gate/up
  { rows: 70, inDim: 896, outDim: 128 }, // Qwen2.5-0.5B shapes
];
// K-quants need rows of 256 values; the others 32 (or 1)
const cases: Case[] = [...DEQUANT_LIBS.keys()].sort().flatMap((type) => (type === 'F32' ? [...F32_SHAPES, ...SHAPES] : SHAPES.filter((s) => s.inDim % ggmlTypeByName(type)!.blockSize === 0)).map((s) => ({ ...s, type })));

export default defineSuite<Case>({
  kernel: 'matmul_backward',
  cases,
  name: (c) => `${c.type}: ${c.rows} rows, in ${c.inDim}, out ${c.outDim}`,
  variant: (c) => `matmul_backward_input|dequant_${c.type.toLowerCase()}`,
  async run(h, c) {
    const type = ggmlTypeByName(c.type)!;
    const x = h.randn(c.rows * c.inDim, 51);
    // the weight as stored (quantized by ggml's reference quantizer), and its values as the GPU reads them
    const bytes = quantize(type, h.randn(c.outDim * c.inDim, 52, 0.2));
    const w = dequantize(type, bytes, c.outDim * c.inDim);
    const dy = h.randn(c.rows * c.outDim, 53);
    const dxWant = refInput(dy, c.rows, w, c.inDim, c.outDim);
    const dwWant = refWeight(dy, x, c.rows, c.inDim, c.outDim);
    const dyT = h.tensor(c.rows, c.outDim, dy);
    const wt = uploadWeight(h.rec, 'w', type, [c.inDim, c.outDim], bytes);
    const [dx, dw] = await h.readAll(matmulBackwardInput(h.rec, dyT, wt), matmulBackwardWeight(h.rec, dyT, h.tensor(c.rows, c.inDim, x)));
    wt.buffer.destroy();
    // f32 sums of products over out (dx) or rows (dW), vs f64: ~√terms ulp of the terms' size
    return compare(Float64Array.from([...dx, ...dw]), Float64Array.from([...dxWant, ...dwWant]), { atol: 1e-5, rtol: 1e-5, nmse: 1e-11, why: 'f32 sums of products vs f64' });
  },
});

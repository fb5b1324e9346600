/**
 * matmul_backward_input and matmul_backward_weight on WebGPU (f32 weights: a LoRA adapter's A and B,
 * f32 models) vs src/reference/matmul_backward.ts (float64), which is checked against finite
 * differences in test/unit/backward.test.ts.
 */
import { matmulBackwardInput, matmulBackwardWeight } from '../../../src/gpu/kernels/matmul_backward.ts';
import { matmulBackwardInput as refInput, matmulBackwardWeight as refWeight } from '../../../src/reference/matmul_backward.ts';
import { compare, defineSuite } from '../harness/suite.ts';

interface Case {
  rows: number;
  inDim: number;
  outDim: number;
}

export default defineSuite<Case>({
  kernel: 'matmul_backward',
  cases: [
    { rows: 1, inDim: 1, outDim: 1 },
    { rows: 3, inDim: 13, outDim: 7 },
    { rows: 5, inDim: 61, outDim: 67 }, // primes
    { rows: 24, inDim: 576, outDim: 32 }, // LoRA A of SmolLM2-135M (rank 8 padded to 32), a training sequence
    { rows: 24, inDim: 32, outDim: 1536 }, // LoRA B of its gate/up
    { rows: 70, inDim: 896, outDim: 128 }, // Qwen2.5-0.5B shapes
  ],
  name: (c) => `${c.rows} rows, in ${c.inDim}, out ${c.outDim}`,
  async run(h, c) {
    const x = h.randn(c.rows * c.inDim, 51);
    const w = h.randn(c.outDim * c.inDim, 52, 0.2);
    const dy = h.randn(c.rows * c.outDim, 53);
    const dxWant = refInput(dy, c.rows, w, c.inDim, c.outDim);
    const dwWant = refWeight(dy, x, c.rows, c.inDim, c.outDim);
    const dyT = h.tensor(c.rows, c.outDim, dy);
    const [dx, dw] = await h.readAll(matmulBackwardInput(h.rec, dyT, h.tensor(c.outDim, c.inDim, w)), matmulBackwardWeight(h.rec, dyT, h.tensor(c.rows, c.inDim, x)));
    // f32 sums of products over out (dx) or rows (dW), vs f64: ~√terms ulp of the terms' size
    return compare(Float64Array.from([...dx, ...dw]), Float64Array.from([...dxWant, ...dwWant]), { atol: 1e-5, rtol: 1e-5, nmse: 1e-11, why: 'f32 sums of products vs f64' });
  },
});

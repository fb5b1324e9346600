/**
 * WasmBackend.maskLogits (structured output) against src/reference/mask_logits.ts, on the logits row in
 * the kernel's memory: the WebAssembly backend masks in JavaScript on a view of that memory (a
 * row-bound step, like its argmax and top-k), in place. Compared as bit patterns: exact. The same
 * shapes and masks as the WebGPU kernel's suite (test/gpu/harness/mask-cases.ts).
 */
import { maskLogits } from '../../../src/reference/mask_logits.ts';
import { WasmBackend } from '../../../src/wasm/backend.ts';
import { MASK_KINDS, MASK_VOCABS, bits, makeMask, makeRow } from '../../gpu/harness/mask-cases.ts';
import { compare, type Suite } from '../harness.ts';

export const maskLogitsSuite: Suite = {
  name: 'mask_logits (WasmBackend.maskLogits)',
  cases: MASK_VOCABS.flatMap((n) =>
    MASK_KINDS.map((kind) => ({
      name: `nVocab ${n}, mask ${kind}`,
      run(ctx) {
        const x = makeRow(n, n);
        const allowed = makeMask(kind, n, n + 1);
        ctx.heap.reset();
        const ptr = ctx.heap.scratch(n * 4);
        ctx.heap.f32(ptr, n).set(x);
        const backend = new WasmBackend(ctx.kernels, ctx.run);
        const logits = { rows: 1, cols: n, ptr };
        const y = backend.maskLogits(logits, allowed);
        const got = bits(ctx.heap.f32(ptr, n).slice());
        const report = compare('mask_logits', `nVocab ${n}, mask ${kind}`, got, bits(maskLogits(x, allowed)), () => 0);
        return y === logits ? report : { ...report, ok: false, mismatches: [[-1, 0, 0]] };
      },
    })),
  ),
};

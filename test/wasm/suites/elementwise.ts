/**
 * elementwise (add, scale, softcap) against src/reference/add.ts, scale.ts, softcap.ts: add and scale
 * are one f32 operation each, like the reference: equal. softcap: tanh in f64 then rounded, like the
 * reference: equal up to the last bit (bound 2^-23 relative).
 */
import { add } from '../../../src/reference/add.ts';
import { scale } from '../../../src/reference/scale.ts';
import { softcap } from '../../../src/reference/softcap.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { elementwise } from '../../../src/wasm/kernels/elementwise.ts';
import { compare, type Suite } from '../harness.ts';

export const elementwiseSuite: Suite = {
  name: 'elementwise',
  cases: [1, 3, 4, 17, 1000, 49153].flatMap((count) =>
    (['add', 'scale', 'softcap'] as const).map((op) => ({
      name: `${op} ${count}`,
      run(ctx) {
        const rng = new Rng(count * 3 + op.length);
        const a = Float32Array.from({ length: count }, () => rng.normal() * 40);
        const b = Float32Array.from({ length: count }, () => rng.normal());
        ctx.heap.reset();
        const ap = ctx.heap.scratch(a.byteLength);
        const bp = ctx.heap.scratch(b.byteLength);
        ctx.heap.f32(ap, count).set(a);
        ctx.heap.f32(bp, count).set(b);
        const s = op === 'scale' ? 0.125 : 30;
        const y = ctx.heap.f32(elementwise(ctx.run, ctx.heap, op, ap, bp, count, s), count).slice();
        const want = op === 'add' ? add(a, b) : op === 'scale' ? scale(a, s) : softcap(a, s);
        return compare('elementwise', `${op} ${count}`, y, want, (i) => (op === 'softcap' ? 2 ** -23 * Math.abs(want[i]) : 0));
      },
    })),
  ),
};

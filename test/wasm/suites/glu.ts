/**
 * glu (swiglu, geglu; separate and fused gate|up) against src/reference/swiglu.ts and geglu.ts. Both
 * compute in f64 and round once: equal up to the last bit (bound 2^-23 relative).
 */
import { geglu } from '../../../src/reference/geglu.ts';
import { swiglu } from '../../../src/reference/swiglu.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { glu } from '../../../src/wasm/kernels/glu.ts';
import { compare, type Suite } from '../harness.ts';

export const gluSuite: Suite = {
  name: 'glu',
  cases: ([[1, 1], [3, 7], [2, 1536], [5, 37]] as const).flatMap(([rows, cols]) =>
    (['silu', 'gelu'] as const).flatMap((act) =>
      [false, true].map((fused) => ({
        name: `${act} ${rows}×${cols}${fused ? ' fused' : ''}`,
        run(ctx) {
          const rng = new Rng(rows * 7 + cols + (fused ? 1 : 0));
          const g = Float32Array.from({ length: rows * cols }, () => rng.normal() * 4);
          const u = Float32Array.from({ length: rows * cols }, () => rng.normal());
          ctx.heap.reset();
          let gp: number;
          let up: number;
          if (fused) {
            const gu = new Float32Array(rows * 2 * cols);
            for (let r = 0; r < rows; r++) {
              gu.set(g.subarray(r * cols, (r + 1) * cols), r * 2 * cols);
              gu.set(u.subarray(r * cols, (r + 1) * cols), r * 2 * cols + cols);
            }
            gp = ctx.heap.scratch(gu.byteLength);
            ctx.heap.f32(gp, gu.length).set(gu);
            up = gp + cols * 4;
          } else {
            gp = ctx.heap.scratch(g.byteLength);
            up = ctx.heap.scratch(u.byteLength);
            ctx.heap.f32(gp, g.length).set(g);
            ctx.heap.f32(up, u.length).set(u);
          }
          const y = ctx.heap.f32(glu(ctx.run, ctx.heap, act, gp, up, rows, cols, fused), rows * cols).slice();
          const want = act === 'silu' ? swiglu(g, u) : geglu(g, u);
          return compare('glu', `${act} ${rows}×${cols}${fused ? ' fused' : ''}`, y, want, (i) => 2 ** -23 * Math.abs(want[i]));
        },
      })),
    ),
  ),
};

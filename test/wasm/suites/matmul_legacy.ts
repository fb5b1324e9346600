/**
 * quantize_q8_1 and the products with Q4_1, Q5_0 and Q5_1 weights (matmul_q4_1, matmul_q5_0, matmul_q5_1
 * through their launcher, src/wasm/kernels/matmul_legacy.ts; matmul.ts's routing to it is exercised by the
 * whole models of test/unit/wasm-legacy-quants.test.ts) against src/reference/quantize_q8_0.ts (quantizeQ8_1) and
 * src/reference/matmul_int8.ts (matmulInt8: llama.cpp's ggml_vec_dot_q4_1_q8_1 / q5_0_q8_0 / q5_1_q8_1).
 * - quantize: q, d and s must be equal (the same f32 steps; round half to even). Inputs include values
 *   that sit on a half of the int8 grid, where id = 1/d instead of ggml's 127/amax rounds differently.
 * - matmul: the integers are exact on both sides (int32 block sums); only the f32 additions differ in
 *   order. Per row the kernel adds, block after block, f32(isum_b)·f32(d_w·d_x) (the scale is exact: a
 *   product of two f16 values; one rounding per term) and apart the mins' m_w·s_x (exact products), then
 *   acc + mins, the bias and the add: nb + (nb − 1) + 3 roundings; the reference adds the same terms in
 *   float64 and rounds 3 times (its sum, + bias, + add in the test). First-order bound per output:
 *   (nb + 6)·2⁻²⁴·M, M = Σ_b (|d_w·d_x|·Σ_j |q_w·q_x| + |m_w·s_x|) + |bias| + |add|, which bounds every
 *   partial sum on either side; the test allows 2× that, which still catches a wrong integer, scale or min
 *   (each moves an output by about a block term, ~M/nb). The relaxed-SIMD variants compute the same
 *   integers (codes 0..31 in relaxed_dot's i7 operand), so the same bits (test/unit/wasm-legacy-quants.test.ts
 *   checks that in Node, with V8's flag).
 * - a token's outputs are the same bits in a batch (where 4 tokens share a pass) as alone (bound 0).
 * Shapes: k of 1, 3, 5, 18 and 48 blocks (odd block counts: the loops have no pairing of blocks),
 * out 1, 3, 7 (the 4-row body's tail alone, then with one pass), 61 (prime), 576 (SmolLM2's width), n 1,
 * 2, 5, 17 tokens, bias and add each on and off.
 */
import { GgmlType, ggmlTypeInfo, type GgmlTypeInfo } from '../../../src/formats/ggml-types.ts';
import { quantize } from '../../../src/formats/quant.ts';
import { matmulInt8 } from '../../../src/reference/matmul_int8.ts';
import { SMALL_TYPES } from '../../../src/reference/matmul_int8_blocks.ts';
import { quantizeQ8_1 as quantizeQ8_1Ref } from '../../../src/reference/quantize_q8_0.ts';
import { Rng } from '../../../src/shared/rng.ts';
import { matmulLegacy } from '../../../src/wasm/kernels/matmul_legacy.ts';
import { quantizeQ8_1 } from '../../../src/wasm/kernels/quantize_q8_1.ts';
import { uploadWeight } from '../../../src/wasm/weights.ts';
import { compare, type Suite } from '../harness.ts';

const TYPES = [GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1].map((t) => ggmlTypeInfo(t)!);
const KS = [32, 96, 160, 576, 1536];
const OUTS = [1, 3, 7, 61, 576];
const NS = [1, 2, 5, 17];
const U = 2 ** -24;

/**
 * Activations as a model has them (normals, an outlier now and then), with an all-zero block and, every
 * third block, values on halves of the int8 grid: x = a·(j + ½)/127 with a the block's max.
 */
function activations(rng: Rng, n: number, k: number): Float32Array {
  const x = new Float32Array(n * k);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() * (i % 97 === 0 ? 8 : 1);
  x.fill(0, 0, 32);
  for (let b = 3; b < x.length / 32; b += 3) {
    const a = Math.fround(1 + 0.1 * rng.normal());
    x[b * 32] = a;
    for (let j = 1; j < 32; j++) x[b * 32 + j] = Math.fround((a * (Math.floor(rng.uniform() * 254) - 127 + 0.5)) / 127);
  }
  return x;
}

/** Weights N(0, 1/k), odd rows shifted by 2/√k (so the mins of Q4_1/Q5_1 are positive as well as negative). */
function weights(rng: Rng, out: number, k: number): Float32Array {
  const w = new Float32Array(out * k);
  const s = 1 / Math.sqrt(k);
  for (let o = 0; o < out; o++) for (let j = 0; j < k; j++) w[o * k + j] = rng.normal() * s + (o % 2) * 2 * s;
  return w;
}

/** M of the header for every output: Σ_b (|d_w·d_x|·Σ_j |q_w·q_x| + |m_w·s_x|), from the reference's own integers. */
function magnitudes(type: GgmlTypeInfo, bytes: Uint8Array, x: Float32Array, n: number, k: number, out: number): Float64Array {
  const t = SMALL_TYPES[type.name];
  const nb = k / 32;
  const rows = Array.from({ length: n }, (_, i) => quantizeQ8_1Ref(x.subarray(i * k, (i + 1) * k)));
  const qw = new Int8Array(32);
  const m = new Float64Array(n * out);
  for (let o = 0; o < out; o++) {
    for (let b = 0; b < nb; b++) {
      const { d, m: mw } = t.decode(bytes, (o * nb + b) * t.bytes, qw);
      for (let i = 0; i < n; i++) {
        const r = rows[i];
        let s = 0;
        for (let j = 0; j < 32; j++) s += Math.abs(qw[j] * r.q[b * 32 + j]);
        m[i * out + o] += Math.abs(d * r.d[b]) * s + (t.act === 'Q8_1' ? Math.abs(mw * r.s[b]) : 0);
      }
    }
  }
  return m;
}

export const quantizeQ8_1Suite: Suite = {
  name: 'quantize_q8_1',
  cases: KS.flatMap((k) => [1, 2, 5].map((n) => [k, n])).map(([k, n]) => ({
    name: `k=${k} n=${n}`,
    run(ctx) {
      const x = activations(new Rng(k * 31 + n), n, k);
      ctx.heap.clearScratch();
      const xp = ctx.heap.scratch(x.byteLength);
      ctx.heap.f32(xp, x.length).set(x);
      const r = quantizeQ8_1(ctx.run, ctx.heap, xp, n, k);
      const nb = (n * k) / 32;
      const got = { q: new Int8Array(ctx.kernels.memory.buffer, r.q, n * k).slice(), d: ctx.heap.f32(r.d, nb).slice(), s: ctx.heap.f32(r.s, nb).slice() };
      const want = { q: new Int8Array(n * k), d: new Float32Array(nb), s: new Float32Array(nb) };
      for (let t = 0; t < n; t++) {
        const row = quantizeQ8_1Ref(x.subarray(t * k, (t + 1) * k));
        want.q.set(row.q, t * k);
        want.d.set(row.d, (t * k) / 32);
        want.s.set(row.s, (t * k) / 32);
      }
      const reports = (['q', 'd', 's'] as const).map((part) => compare('quantize_q8_1', `${part} k=${k} n=${n}`, got[part], want[part], () => 0));
      return reports.find((rep) => !rep.ok) ?? reports[0];
    },
  })),
};

export const legacyMatmulSuite: Suite = {
  name: 'matmul (Q4_1, Q5_0, Q5_1)',
  cases: TYPES.flatMap((type) =>
    KS.flatMap((k, ik) =>
      OUTS.map((out, io) => {
        const n = NS[(ik + io) % NS.length];
        const mode = (ik * 3 + io) % 4; // bit 0: bias, bit 1: add
        return { k, out, n, bias: (mode & 1) !== 0, add: (mode & 2) !== 0 };
      }),
    ).map(({ k, out, n, bias: withBias, add: withAdd }) => {
      const label = `k=${k} out=${out} n=${n}${withBias ? ' bias' : ''}${withAdd ? ' add' : ''}`;
      return {
        name: `${type.name} ${label}`,
        run(ctx) {
          const rng = new Rng(k * 7 + out * 13 + n + type.id * 1009);
          const bytes = quantize(type, weights(rng, out, k));
          const x = activations(rng, n, k);
          const bias = Float32Array.from({ length: out }, () => 0.1 * rng.normal());
          const add = Float32Array.from({ length: n * out }, () => rng.normal());
          ctx.heap.reset();
          const w = uploadWeight(ctx.heap, 'w', type, [k, out], bytes);
          const bp = ctx.heap.alloc(bias.byteLength, 'bias');
          ctx.heap.f32(bp, out).set(bias);
          const xp = ctx.heap.scratch(x.byteLength);
          ctx.heap.f32(xp, x.length).set(x);
          const ap = ctx.heap.scratch(add.byteLength);
          ctx.heap.f32(ap, add.length).set(add);
          const y = matmulLegacy(ctx.run, ctx.heap, xp, n, w, ctx.heap.scratch(n * out * 4), withBias ? bp : undefined, withAdd ? ap : undefined);
          const got = ctx.heap.f32(y, n * out).slice();
          const want = matmulInt8(x, n, { type, dims: [k, out], bytes }, withBias ? bias : undefined);
          if (withAdd) for (let i = 0; i < want.length; i++) want[i] += add[i];
          const mag = magnitudes(type, bytes, x, n, k, out);
          const nb = k / 32;
          return compare(`matmul ${type.name}`, label, got, want, (i) => 2 * (nb + 6) * U * (mag[i] + (withBias ? Math.abs(bias[i % out]) : 0) + (withAdd ? Math.abs(add[i]) : 0)));
        },
      };
    }),
  ),
};

/** The products of a batch of 9 tokens (two passes of 4 and one alone) against each token alone: equal bits. */
export const legacyBatchSuite: Suite = {
  name: 'matmul (Q4_1, Q5_0, Q5_1): a batch equals its tokens alone',
  cases: TYPES.map((type) => ({
    name: type.name,
    run(ctx) {
      const [k, out, n] = [160, 7, 9];
      const rng = new Rng(type.id);
      const bytes = quantize(type, weights(rng, out, k));
      const x = activations(rng, n, k);
      ctx.heap.reset();
      const w = uploadWeight(ctx.heap, 'w', type, [k, out], bytes);
      const xp = ctx.heap.alloc(x.byteLength, 'x');
      ctx.heap.f32(xp, x.length).set(x);
      const batch = ctx.heap.f32(matmulLegacy(ctx.run, ctx.heap, xp, n, w, ctx.heap.scratch(n * out * 4)), n * out).slice();
      const alone = new Float32Array(n * out);
      for (let t = 0; t < n; t++) alone.set(ctx.heap.f32(matmulLegacy(ctx.run, ctx.heap, xp + t * k * 4, 1, w, ctx.heap.scratch(out * 4)), out), t * out);
      return compare(`matmul ${type.name} batch`, `k=${k} out=${out} n=${n}`, batch, alone, () => 0);
    },
  })),
};

/**
 * mask_logits on WebGPU vs src/reference/mask_logits.ts, compared as bit patterns: a select with no
 * arithmetic, so exact (−∞ where masked; allowed values, −0, ±∞ and NaN included, untouched).
 * Also: two rows masked with different masks before one flush (each keeps its own upload), and the
 * launcher's refusals (rows ≠ 1, a mask too short).
 */
import { maskLogits } from '../../../src/gpu/kernels/mask_logits.ts';
import { maskLogits as reference } from '../../../src/reference/mask_logits.ts';
import { CriaError } from '../../../src/shared/errors.ts';
import { compare, defineSuite } from '../harness/suite.ts';
import { MASK_KINDS, MASK_VOCABS, bits, makeMask, makeRow, type MaskKind } from '../harness/mask-cases.ts';

type Case = { n: number; kind: MaskKind } | { special: 'two masks, one flush' | 'refusals' };

const EXACT = { atol: 0, rtol: 0, nmse: 0, why: 'a select: bit-exact' };

export default defineSuite<Case>({
  kernel: 'mask_logits',
  cases: [...MASK_VOCABS.flatMap((n) => MASK_KINDS.map((kind): Case => ({ n, kind }))), { special: 'two masks, one flush' }, { special: 'refusals' }],
  name: (c) => ('special' in c ? c.special : `nVocab ${c.n}, mask ${c.kind}`),
  async run(h, c) {
    if (!('special' in c)) {
      const x = makeRow(c.n, c.n);
      const allowed = makeMask(c.kind, c.n, c.n + 1);
      const t = h.tensor(1, c.n, x);
      const y = maskLogits(h.rec, t, allowed);
      if (y !== t) throw new Error('maskLogits should return the tensor it masked in place');
      const got = await h.read(y);
      return compare(bits(got), bits(reference(x, allowed)), EXACT);
    }
    if (c.special === 'two masks, one flush') {
      const n = 4097;
      const [xa, xb] = [makeRow(n, 1), makeRow(n, 2)];
      const [ma, mb] = [makeMask('random', n, 3), makeMask('random', n, 4)];
      const a = maskLogits(h.rec, h.tensor(1, n, xa), ma);
      const b = maskLogits(h.rec, h.tensor(1, n, xb), mb);
      const ra = h.rec.readback(a.buffer, 0, n * 4);
      const rb = h.rec.readback(b.buffer, 0, n * 4);
      await h.rec.flush();
      const got = new Uint32Array([...new Uint32Array(await ra), ...new Uint32Array(await rb)]);
      return compare(got, new Uint32Array([...bits(reference(xa, ma)), ...bits(reference(xb, mb))]), EXACT);
    }
    // refusals: 1 when the launcher threw CriaError('internal'), before recording anything
    const internal = (f: () => unknown) => {
      try {
        f();
        return 0;
      } catch (e) {
        return e instanceof CriaError && e.code === 'internal' ? 1 : 0;
      }
    };
    const got = [
      internal(() => maskLogits(h.rec, h.tensor(2, 32, new Float32Array(64)), new Uint32Array(2))),
      internal(() => maskLogits(h.rec, h.tensor(1, 33, new Float32Array(33)), new Uint32Array(1))),
      internal(() => maskLogits(h.rec, h.tensor(1, 32, new Float32Array(32)), new Uint32Array(1))),
    ];
    await h.rec.flush();
    return compare(got, [1, 1, 0], { ...EXACT, why: 'rows 2 and a 1-word mask for 33 tokens refused; a 1-word mask for 32 taken' });
  },
});

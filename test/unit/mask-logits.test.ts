/**
 * The logit mask (structured output, issue 16) on the CPU: the reference against hand-worked rows,
 * CpuBackend.maskLogits and WasmBackend.maskLogits over the shared shape × mask table (in place, the
 * same handle back), their refusals, and Session.mask in a real greedy decode (stories260K) on both
 * backends: the token chosen is the best allowed one of the unmasked logits.
 * The WebGPU kernel: test/gpu/kernels/mask_logits.test.ts; the WebAssembly suite (Node and Chromium):
 * test/wasm/suites/mask_logits.ts.
 */
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { Model } from '../../src/model/model.ts';
import type { Backend } from '../../src/model/backend.ts';
import type { Act, Weight } from '../../src/model/ops.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { maskLogits, maskWords } from '../../src/reference/mask_logits.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { Rng } from '../../src/shared/rng.ts';
import { createNodeWasmBackend } from '../../src/wasm/node.ts';
import { MASK_KINDS, MASK_VOCABS, bits, makeMask, makeRow } from '../gpu/harness/mask-cases.ts';
import { fixtureGguf } from './helpers/models.ts';

const NEG = -Infinity;

describe('maskLogits reference', () => {
  it('keeps exactly the tokens whose bit is set (low bit first, 32 per word)', () => {
    const x = Float32Array.from({ length: 35 }, (_, i) => i + 0.5);
    // word 0: tokens 0, 2, 31; word 1: token 32 and 34
    const y = maskLogits(x, Uint32Array.from([0b101 | 0x80000000, 0b101]));
    const want = Array.from({ length: 35 }, (_, i) => ([0, 2, 31, 32, 34].includes(i) ? i + 0.5 : NEG));
    expect(Array.from(y)).toEqual(want);
    expect(Array.from(x)[1], 'the input is left alone when no out is given').toBe(1.5);
  });

  it('ignores bits past nVocab and words past ⌈nVocab / 32⌉', () => {
    const x = Float32Array.from([1, 2, 3]);
    expect(Array.from(maskLogits(x, Uint32Array.from([0xfffffffa, 0xffffffff])))).toEqual([NEG, 2, NEG]);
  });

  it('copies allowed values bit for bit (−0, ±∞, NaN) and masks them too', () => {
    const x = Float32Array.from([-0, Infinity, -Infinity, NaN, -0, NaN]);
    const y = maskLogits(x, Uint32Array.from([0b001111]));
    expect(Array.from(bits(y))).toEqual([...Array.from(bits(x)).slice(0, 4), 0xff800000, 0xff800000]);
  });

  it('in place when out is the input', () => {
    const x = Float32Array.from([1, 2]);
    expect(maskLogits(x, Uint32Array.from([2]), x)).toBe(x);
    expect(Array.from(x)).toEqual([NEG, 2]);
  });

  it('refuses a mask shorter than ⌈nVocab / 32⌉ words', () => {
    expect(maskWords(0)).toBe(0);
    expect(maskWords(32)).toBe(1);
    expect(maskWords(33)).toBe(2);
    expect(() => maskLogits(new Float32Array(33), new Uint32Array(1))).toThrow(/needs 2 u32 words, got 1/);
    expect(() => maskLogits(new Float32Array(33), new Uint32Array(1))).toThrow(CriaError);
  });
});

type AnyBackend = Backend<Act & { rows: number; cols: number }, Weight>;

/** a backend, a way to put one row of logits on it, and to look at it again */
interface Subject {
  name: string;
  make(): Promise<{ backend: AnyBackend; put(rows: number, x: Float32Array): Act; view(a: Act): Float32Array }>;
}

const subjects: Subject[] = [
  {
    name: 'CpuBackend',
    async make() {
      const backend = new CpuBackend();
      return {
        backend: backend as unknown as AnyBackend,
        put: (rows, x) => ({ rows, cols: x.length / rows, data: x.slice() }),
        view: (a) => (a as unknown as { data: Float32Array }).data,
      };
    },
  },
  {
    name: 'WasmBackend',
    async make() {
      const backend = await createNodeWasmBackend();
      return {
        backend: backend as unknown as AnyBackend,
        put: (rows, x) => {
          const ptr = backend.heap.scratch(x.byteLength);
          backend.heap.f32(ptr, x.length).set(x);
          return { rows, cols: x.length / rows, ptr } as Act;
        },
        view: (a) => backend.heap.f32((a as unknown as { ptr: number }).ptr, a.rows * a.cols),
      };
    },
  },
];

describe.each(subjects)('$name.maskLogits', (s) => {
  it('matches the reference bit for bit over every shape and mask, in place, returning the same handle', async () => {
    const { backend, put, view } = await s.make();
    for (const n of MASK_VOCABS) {
      for (const kind of MASK_KINDS) {
        backend.beginForward?.();
        const x = makeRow(n, n);
        const allowed = makeMask(kind, n, n + 1);
        const a = put(1, x);
        expect(backend.maskLogits(a, allowed), `${n} ${kind}: the same handle`).toBe(a);
        const got = bits(view(a));
        const want = bits(maskLogits(x, allowed));
        expect(got.every((v, i) => v === want[i]), `${n} ${kind}: first difference at ${got.findIndex((v, i) => v !== want[i])}`).toBe(true);
      }
    }
    backend.dispose();
  });

  it('refuses more than one row and a mask too short, with internal', async () => {
    const { backend, put } = await s.make();
    const code = (f: () => unknown) => {
      try {
        f();
        return 'none';
      } catch (e) {
        return e instanceof CriaError ? e.code : String(e);
      }
    };
    expect(code(() => backend.maskLogits(put(2, new Float32Array(64)), new Uint32Array(2)))).toBe('internal');
    expect(code(() => backend.maskLogits(put(1, new Float32Array(33)), new Uint32Array(1)))).toBe('internal');
    backend.dispose();
  });
});

describe.each([
  { name: 'CPU reference', backend: async () => new CpuBackend() as unknown as AnyBackend },
  { name: 'WebAssembly', backend: async () => (await createNodeWasmBackend()) as unknown as AnyBackend },
])('Session.mask on stories260K ($name)', ({ backend }) => {
  it('greedy decoding picks the best allowed token of the unmasked logits, every step', async () => {
    const model = await Model.load(await fixtureGguf('models/stories260K/stories260K-f32.gguf'), await backend());
    const s = new Session(model, { nCtx: 64 });
    const n = model.config.nVocab;
    const rng = new Rng(5);
    let token = 1;
    let differed = 0;
    for (let step = 0; step < 12; step++) {
      const logits = await s.forward([token]);
      const plain = (await s.read(logits)).slice();
      // a few allowed tokens each step (a grammar's mid-structure mask); step 0 allows only the last one
      const allowed = step === 0 ? makeMask('single', n, 0) : makeMask('sparse', n, 100 + step);
      for (let k = 0; step > 0 && k < 3; k++) {
        const t = rng.nextU32() % n;
        allowed[t >>> 5] |= 1 << (t & 31);
      }
      let best = -1;
      for (let t = 0; t < n; t++) if ((allowed[t >>> 5] >>> (t & 31)) & 1 && (best < 0 || plain[t] > plain[best])) best = t;
      expect(best, 'the mask allows something').toBeGreaterThanOrEqual(0);
      const masked = s.mask(logits, allowed);
      token = await s.argmax(masked);
      expect(token, `step ${step}`).toBe(best);
      const unmasked = plain.reduce((b, v, i) => (v > plain[b] ? i : b), 0);
      if (unmasked !== best) differed++;
    }
    expect(differed, 'the mask changed the choice at some steps (the test can fail)').toBeGreaterThan(5);
    model.backend.dispose();
  });
});

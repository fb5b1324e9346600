/**
 * The shape × mask table of the logit-mask tests (maskLogits on WebGPU: test/gpu/kernels/mask_logits.test.ts;
 * on the WebAssembly backend: test/wasm/suites/mask_logits.ts; the CPU backend: test/unit/mask-logits.test.ts),
 * so every backend is checked on the same rows and masks.
 */
import { Rng } from '../../../src/shared/rng.ts';

/** vocabularies: tiny, around one word, a workgroup and a bit, SmolLM2's, Qwen2.5's */
export const MASK_VOCABS = [1, 31, 32, 33, 4097, 49152, 151936] as const;

/**
 * - zero: nothing allowed (every value −∞)
 * - ones: everything allowed (the row unchanged)
 * - random: each bit a coin flip
 * - single: one token allowed (the last one, where a word boundary or the row's end is hardest)
 * - past: random, and every bit past nVocab set in the last word (and one extra word of ones): ignored
 * - sparse: about 1 in 1000 allowed, as a JSON grammar leaves a vocabulary mid-string
 */
export const MASK_KINDS = ['zero', 'ones', 'random', 'single', 'past', 'sparse'] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

export function makeMask(kind: MaskKind, n: number, seed: number): Uint32Array {
  const words = Math.ceil(n / 32);
  const rng = new Rng(seed);
  const m = new Uint32Array(kind === 'past' ? words + 1 : words);
  if (kind === 'ones') m.fill(0xffffffff);
  if (kind === 'random' || kind === 'past') for (let i = 0; i < words; i++) m[i] = rng.nextU32();
  if (kind === 'single') m[(n - 1) >>> 5] = (1 << ((n - 1) & 31)) >>> 0;
  if (kind === 'sparse') for (let t = 0; t < n; t++) if (rng.uniform() < 1e-3) m[t >>> 5] |= 1 << (t & 31);
  if (kind === 'past') {
    const used = n & 31;
    if (used) m[words - 1] = (m[words - 1] | (0xffffffff << used)) >>> 0;
    m[words] = 0xffffffff;
  }
  return m;
}

/** Special values planted among N(0, 9) logits: allowed ones must come through bit for bit. */
const SPECIAL = [-0, 0, Infinity, -Infinity, NaN, 3.4e38, -3.4e38, 1e-45, -1e-45];

export function makeRow(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n }, () => rng.normal() * 3);
  for (let i = 0; i < SPECIAL.length && i * 7 < n; i++) x[i * 7] = SPECIAL[i];
  return x;
}

/** The row as its bit patterns: masks compare exactly, −∞ = −∞ and NaN = NaN included. */
export const bits = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

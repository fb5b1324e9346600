/**
 * Logit-mask reference (structured output, issue 16): y[t] = x[t] when token t is allowed, −∞ when not.
 * `allowed` is a bitmask in xgrammar's layout: 32 tokens per u32 word, token t allowed iff bit (t & 31)
 * of word (t >> 5) is set. Only the first ⌈n / 32⌉ words are read (longer masks: the rest ignored);
 * bits past n in the last word are ignored. A select, no arithmetic: allowed values are copied as
 * they are (−0, ±∞, NaN included).
 *
 * `out` may be `x` itself (in place: what CpuBackend and WasmBackend do); by default a new row.
 */
import { CriaError } from '../shared/errors.ts';

/** u32 words a mask over `n` tokens needs: ⌈n / 32⌉ */
export const maskWords = (n: number): number => Math.ceil(n / 32);

/** Refuse a mask too short for `n` tokens (the shape errors of every backend's maskLogits). */
export function checkMask(n: number, allowed: Uint32Array): void {
  if (allowed.length < maskWords(n)) {
    throw new CriaError('internal', `maskLogits: a mask over ${n} tokens needs ${maskWords(n)} u32 words, got ${allowed.length}`);
  }
}

export function maskLogits(x: Float32Array, allowed: Uint32Array, out: Float32Array = new Float32Array(x.length)): Float32Array {
  checkMask(x.length, allowed);
  if (out.length !== x.length) throw new CriaError('internal', `maskLogits: output has ${out.length} values, input ${x.length}`);
  for (let t = 0; t < x.length; t++) {
    const on = (allowed[t >>> 5] >>> (t & 31)) & 1;
    out[t] = on ? x[t] : -Infinity;
  }
  return out;
}

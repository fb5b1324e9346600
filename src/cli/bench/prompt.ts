/**
 * The prompts of `cria bench`: a text and its tokens, the same for every
 * engine. wllama 3 takes only text (llama-server's completion path
 * tokenizes it, adding BOS as the model says), so each prompt is a text
 * whose tokenization is exactly `length` tokens. Cria's tokenizer matches
 * llama.cpp's (test/unit/tokenizer-vectors.test.ts), so these ids are what
 * every engine evaluates: Cria and wllama get the text, llama.cpp the ids
 * (checked against its own tokenization of the text), and every engine's
 * count of evaluated prompt tokens is checked.
 *
 * The text is the decoding of pseudo-random ordinary token ids (from
 * [1000, min(vocab, 30000)): control tokens sit at the ends of real
 * vocabularies), as many as it takes for the text's tokenization to have
 * exactly `length` tokens; deterministic per (length, variant), a different
 * text per variant. No engine reuses a cached prefix (see cria.ts,
 * wllama.ts, llamacpp.ts); the evaluated counts are checked.
 */
import { CriaError } from '../../shared/errors.ts';
import { Rng } from '../../shared/rng.ts';
import type { Tokenizer } from '../../tokenizer/index.ts';

export interface BenchPrompt {
  text: string;
  /** the text's tokens, BOS included when the model adds one */
  ids: number[];
}

const LOW = 1000;
const HIGH = 30000;

export function benchPrompt(tok: Pick<Tokenizer, 'vocabSize' | 'addBos' | 'bos' | 'encode' | 'decode'>, length: number, variant: number): BenchPrompt {
  const lo = Math.min(LOW, Math.floor(tok.vocabSize / 4));
  const span = Math.max(2, Math.min(tok.vocabSize, HIGH) - lo);
  const minimum = tok.addBos ? 2 : 1;
  if (length < minimum) throw new CriaError('bad-argument', `a prompt of ${length} tokens is too short for this model (at least ${minimum})`);
  for (let attempt = 0; attempt < 32; attempt++) {
    const rng = new Rng(0xbe4c + length * 7919 + attempt * 104729);
    const pool: number[] = [lo + (variant % span)];
    const tried = new Set<number>();
    let n = length - (tok.addBos ? 1 : 0);
    while (n >= 1 && !tried.has(n)) {
      tried.add(n);
      while (pool.length < n) pool.push(lo + (rng.nextU32() % span));
      // decoded after BOS, as llama.cpp does: SentencePiece then drops the leading space the encoder adds back
      const text = tok.decode(tok.addBos ? [tok.bos, ...pool.slice(0, n)] : pool.slice(0, n));
      const ids = tok.encode(text);
      if (ids.length === length) return { text, ids };
      const off = length - ids.length;
      n += Math.abs(off) > 1 ? Math.trunc(off / 2) || Math.sign(off) : off;
    }
  }
  throw new CriaError('internal', `could not make a text of exactly ${length} tokens for this tokenizer`);
}

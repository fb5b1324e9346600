/**
 * Performance sanity (timings are printed, never asserted): tokenizing ~200 KB
 * of TinyStories with a 128k byte-level BPE vocab (Llama 3.2) and with the 32k
 * SPM vocab, and building a tokenizer from a 150k vocab (Qwen2). The decoded
 * text must equal the input.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { FIXTURES, llama3Meta, qwen2Meta, readVocabGguf, type Meta } from './helpers/tokenizer-fixtures.ts';

const TEXT = readFileSync(`${FIXTURES}text/tinystories_train_head_niklas6.txt`, 'utf8');

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

describe('tokenizer performance (printed, not asserted)', () => {
  const cases: [string, () => Promise<Meta> | Meta][] = [
    ['Llama 3.2 BPE, 128k', () => llama3Meta()],
    ['Qwen2 BPE, 151k', () => qwen2Meta()],
    ['Llama 2 SPM, 32k', () => readVocabGguf('llama-spm')],
  ];
  for (const [name, load] of cases) {
    it(name, async () => {
      const meta = await load();
      const [tok, buildMs] = time(() => createTokenizer(meta));
      const [ids, encodeMs] = time(() => tok.encode(TEXT));
      const [back, decodeMs] = time(() => tok.decode(ids));
      console.log(
        `${name}: build ${buildMs.toFixed(0)} ms (${tok.vocabSize} tokens); encode ${(TEXT.length / 1024).toFixed(0)} KiB → ${ids.length} tokens in ${encodeMs.toFixed(0)} ms; decode ${decodeMs.toFixed(0)} ms`,
      );
      expect(back).toBe(TEXT);
    });
  }
});

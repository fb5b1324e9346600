/**
 * tokenizer.json written from a GGUF vocabulary (src/export/tokenizer-json.ts, for `cria export onnx`
 * and `cria export mlc`): every token is in `vocab` under its id. Regression: the vocabulary map was a
 * plain object, so tokens named like Object.prototype members ("constructor", "toString", "valueOf")
 * were taken as already present and left out, while merges still named them; Hugging Face's Rust
 * tokenizers (WebLLM's build) then refuse the file ("Token `constructor` out of vocabulary").
 */
import { describe, expect, it } from 'vitest';
import { tokenizerJson } from '../../src/export/tokenizer-json.ts';
import { parseVocab } from '../../src/tokenizer/vocab.ts';
import { VECTOR_VOCABS } from './helpers/tokenizer-fixtures.ts';

describe('tokenizer.json vocab: every GGUF token under its id', () => {
  for (const { vectors, load } of VECTOR_VOCABS) {
    it(vectors, async () => {
      const vocab = parseVocab(await load());
      const json = tokenizerJson(vocab).tokenizer as { model: { vocab: Record<string, number> }; added_tokens?: { id: number; content: string }[] };
      const map = json.model.vocab;
      const added = new Map((json.added_tokens ?? []).map((a) => [a.content, a.id]));
      const missing: string[] = [];
      // a token text that occurs twice keeps its first id (as the GGUF's own lookup does)
      const firstId = new Map<string, number>();
      vocab.tokens.forEach((t, id) => void (firstId.has(t) || firstId.set(t, id)));
      vocab.tokens.forEach((t, id) => {
        const first = firstId.get(t);
        const got = Object.prototype.hasOwnProperty.call(map, t) ? map[t] : added.get(t);
        if (got !== first) missing.push(`${JSON.stringify(t)} (id ${id}): ${got}`);
      });
      expect(missing.slice(0, 5), `${missing.length} tokens missing or misnumbered`).toEqual([]);
    });
  }
});

/**
 * The tokenizer.json `cria export onnx` writes (src/export/tokenizer-json.ts), run through Hugging Face's
 * own `@huggingface/tokenizers`, against llama.cpp's tokenizer test vectors (gguf-vocab/*.inp/.out: made
 * by llama.cpp's script from the HF tokenizers, no BOS, no parse_special) and against Cria's tokenizer
 * on the same vocabulary. Every vocabulary test/unit/tokenizer-vectors.test.ts runs is run here; a
 * vector that does not match is a failure, with the text and both id lists.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { tokenizerJson } from '../../src/export/tokenizer-json.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { parseVocab } from '../../src/tokenizer/vocab.ts';
import { vocabMetadata } from '../../src/model/synthetic.ts';
import { readVectors, VECTOR_VOCABS } from './helpers/tokenizer-fixtures.ts';


describe.each(VECTOR_VOCABS)('tokenizer.json for $vectors, through @huggingface/tokenizers', ({ vectors, load }) => {
  it('encodes every llama.cpp test vector exactly, as Cria does', async () => {
    const meta = await load();
    const files = tokenizerJson(parseVocab(meta));
    // the files as they are written and read: JSON text
    const hf = new HfTokenizer(JSON.parse(JSON.stringify(files.tokenizer)), JSON.parse(JSON.stringify(files.config)));
    const cria = createTokenizer(meta);
    const failures: string[] = [];
    for (const v of readVectors(vectors)) {
      const got = hf.encode(v.text, { add_special_tokens: false }).ids;
      if (got.join(' ') !== v.ids.join(' ')) failures.push(`${JSON.stringify(v.text)}\n    expected ${v.ids.join(' ')}\n    got      ${got.join(' ')}`);
      else expect(cria.encode(v.text, { addSpecial: false })).toEqual(got);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('adds BOS as the GGUF says, and decodes back to the text', async () => {
    const meta = await load();
    const vocab = parseVocab(meta);
    const files = tokenizerJson(vocab);
    const hf = new HfTokenizer(files.tokenizer, files.config);
    const cria = createTokenizer(meta);
    const text = 'Hello world, this is Cria.';
    const ids = hf.encode(text).ids;
    expect(ids).toEqual(cria.encode(text));
    expect(ids[0] === vocab.bos).toBe(vocab.addBos);
    expect(hf.decode(ids, { skip_special_tokens: true })).toBe(text);
  });
});

describe('what tokenizer.json cannot carry over is said', () => {
  it('no warning for the real vocabularies; a SentencePiece vocabulary whose pieces are not made of pieces (the bench models\' made-up one) is named, and tokenizes differently as the warning says', async () => {
    for (const { load } of VECTOR_VOCABS) expect(tokenizerJson(parseVocab(await load())).warnings).toEqual([]);
    const meta = { metadata: new Map(vocabMetadata(600)) } as unknown as Parameters<typeof parseVocab>[0];
    const files = tokenizerJson(parseVocab(meta));
    expect(files.warnings).toHaveLength(1);
    expect(files.warnings[0]).toMatch(/^341 of the vocabulary's 600 pieces \(e\.g\. "▁a", .*tokenizes differently/);
    const hf = new HfTokenizer(JSON.parse(JSON.stringify(files.tokenizer)), JSON.parse(JSON.stringify(files.config)));
    const cria = createTokenizer(meta);
    expect(cria.encode('aa ab', { addSpecial: false })).toHaveLength(2); // ▁aa ▁ab
    expect(hf.encode('aa ab', { add_special_tokens: false }).ids.length).toBeGreaterThan(2); // bytes
  });
});

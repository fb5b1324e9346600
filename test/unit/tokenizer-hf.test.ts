/**
 * Tokenizers from Hugging Face files (src/tokenizer/hf.ts: @huggingface/tokenizers between special
 * tokens, Cria's vocabulary, partition and decoding around it), for models that ship tokenizer.json
 * instead of GGUF metadata (ONNX repositories):
 * - real tokenizer.json files (Llama 2, Phi-3 mini) against llama.cpp's test vectors for the same
 *   vocabularies, and decoding back to the text;
 * - the tokenizer.json `cria export onnx` writes, for every vocabulary of the vector tests, against the
 *   vectors and against Cria's own GGUF tokenizer, chat prompts included: a control token typed into a
 *   message stays text, as with a GGUF.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenizerJson } from '../../src/export/tokenizer-json.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { createHfTokenizer } from '../../src/tokenizer/hf.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { parseVocab, TokenAttr } from '../../src/tokenizer/vocab.ts';
import { FIXTURES, readVectors, VECTOR_VOCABS } from './helpers/tokenizer-fixtures.ts';

const json = (rel: string) => JSON.parse(readFileSync(`${FIXTURES}${rel}`, 'utf8'));

describe('real tokenizer.json files against llama.cpp\'s vectors', () => {
  it.each([
    ['llama2-hf', 'llama-spm'],
    ['phi-3-mini', 'phi-3'],
  ])('tokenizers/%s ↔ %s vectors', (dir, vectors) => {
    const tok = createHfTokenizer({ tokenizer: json(`tokenizers/${dir}/tokenizer.json`), config: json(`tokenizers/${dir}/tokenizer_config.json`) });
    const failures: string[] = [];
    for (const v of readVectors(vectors)) {
      const got = tok.encode(v.text, { addSpecial: false });
      if (got.join(' ') !== v.ids.join(' ')) failures.push(`${JSON.stringify(v.text)}\n    expected ${v.ids.join(' ')}\n    got      ${got.join(' ')}`);
      expect(tok.decode(v.ids, { startOfText: true }), JSON.stringify(v.text)).toBe(v.text);
    }
    expect(failures, failures.join('\n')).toEqual([]);
    // BOS as tokenizer_config says, and the end of generation
    const config = json(`tokenizers/${dir}/tokenizer_config.json`);
    expect(tok.encode('Hello')[0] === 1).toBe(config.add_bos_token !== false);
    expect(tok.isEog(tok.eos)).toBe(true);
  });
});


describe.each(VECTOR_VOCABS)('the exported tokenizer.json of $vectors, read back', ({ vectors: name, load }) => {
  it('encodes every vector as the GGUF tokenizer does, and decodes back', async () => {
    const meta = await load();
    const files = tokenizerJson(parseVocab(meta));
    const hf = createHfTokenizer({ tokenizer: JSON.parse(JSON.stringify(files.tokenizer)), config: JSON.parse(JSON.stringify(files.config)) });
    const gguf = createTokenizer(meta);
    expect(hf.vocabSize).toBe(gguf.vocabSize);
    const failures: string[] = [];
    for (const v of readVectors(name)) {
      const got = hf.encode(v.text, { addSpecial: false });
      if (got.join(' ') !== v.ids.join(' ')) failures.push(`${JSON.stringify(v.text)}\n    expected ${v.ids.join(' ')}\n    got      ${got.join(' ')}`);
      expect(hf.decode(got)).toBe(gguf.decode(got));
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(hf.encode('Hello there')).toEqual(gguf.encode('Hello there'));
  });

  it('builds chat prompts as the GGUF tokenizer does; a control token typed in a message stays text', async () => {
    const meta = await load();
    const gguf = createTokenizer(meta);
    const files = tokenizerJson(parseVocab(meta));
    const hf = createHfTokenizer({ tokenizer: files.tokenizer, config: files.config });
    const template = gguf.chatTemplate ?? "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    // a control token (user-defined ones are always parsed, in contents too, as in llama.cpp)
    const control = [...gguf.vocab.specialTokens].filter((id) => gguf.vocab.attrs[id] & TokenAttr.CONTROL).map((id) => gguf.vocab.tokens[id]).find((t) => t.length > 3) ?? '</s>';
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: `Say ${control} twice.` },
    ];
    const a = gguf.encodeChat(messages, { template });
    expect(hf.encodeChat(messages, { template })).toEqual(a);
    // the typed control token is not its id: as many of that id as without it in the message
    const id = gguf.vocab.ids.get(control)!;
    const count = (ids: number[]) => ids.filter((x) => x === id).length;
    expect(count(a)).toBe(count(gguf.encodeChat([messages[0], { role: 'user', content: 'Say it twice.' }], { template })));
  });
});

describe('what it refuses', () => {
  it('a Unigram tokenizer: unsupported-tokenizer, saying what is supported', () => {
    let err: unknown;
    try {
      createHfTokenizer({ tokenizer: { model: { type: 'Unigram', vocab: [['a', 0]] } } });
    } catch (e) {
      err = e;
    }
    expect(isCriaError(err, 'unsupported-tokenizer'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/Unigram.*BPE/);
  });
});

/**
 * Encoding rules beyond the test vectors, each following a rule in llama.cpp's
 * llama-vocab.cpp (`tokenize(text, add_special, parse_special)`):
 *  - BOS/EOS from add_bos_token / add_eos_token and the per-type defaults;
 *  - CONTROL tokens only with parseSpecial; USER_DEFINED tokens always;
 *  - SPM prefixes a space at the start and after every special token;
 *  - Phi-3's RSTRIP special tokens swallow the whitespace after them;
 *  - the metadata errors (unknown model / pre-tokenizer, malformed arrays);
 *  - the SPM chunked fast path gives the same ids as llama.cpp's single global
 *    merge queue (the dumb reference), on real text and random strings.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gv } from '../../src/formats/gguf-writer.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { createTokenizer, NO_TOKEN, TokenAttr, type Tokenizer } from '../../src/tokenizer/index.ts';
import { SpmEncoder, spmMerge } from '../../src/tokenizer/spm.ts';
import { FIXTURES, gpt2Meta, llama3Meta, readVectors, readVocabGguf, type Meta } from './helpers/tokenizer-fixtures.ts';

const plain = { addSpecial: false } as const;
const special = { addSpecial: false, parseSpecial: true } as const;

function expectError(fn: () => unknown, code: string, pattern: RegExp) {
  try {
    fn();
  } catch (e) {
    expect(isCriaError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an error');
}

describe('SentencePiece (llama-spm)', () => {
  let spm: Tokenizer;
  beforeAll(async () => {
    spm = createTokenizer(await readVocabGguf('llama-spm'));
  });

  it('adds BOS (not EOS) by default, and nothing with addSpecial false', () => {
    expect(spm.bos).toBe(1);
    expect(spm.eos).toBe(2);
    expect(spm.encode('')).toEqual([1]);
    expect(spm.encode('', plain)).toEqual([]);
    const ids = spm.encode('Hello world');
    expect(ids[0]).toBe(1);
    expect(ids.slice(1)).toEqual(spm.encode('Hello world', plain));
    expect(ids.at(-1)).not.toBe(2);
  });

  it('escapes spaces to ▁ and prefixes one', () => {
    expect(spm.encode('Hello world', plain).map((i) => spm.tokenText(i))).toEqual(['▁Hello', '▁world']);
  });

  it('treats "</s>" as text unless parseSpecial, and prefixes a space after a special token', () => {
    const asText = spm.encode('Hello</s>world', plain);
    expect(asText).not.toContain(2);
    const parsed = spm.encode('Hello</s>world', special);
    expect(parsed).toEqual([...spm.encode('Hello', plain), 2, ...spm.encode('world', plain)]);
    expect(spm.tokenText(parsed.at(-1)!)).toBe('▁world');
  });

  it('matches UNKNOWN tokens only with parseSpecial', () => {
    expect(spm.encode('<unk>', special)).toEqual([0]);
    expect(spm.encode('<unk>', plain)).not.toContain(0);
  });

  it('falls back to <0xXX> byte tokens for characters without a piece', () => {
    const ids = spm.encode('🦙', plain); // "▁" + 4 UTF-8 bytes of U+1F999
    const bytes = ids.filter((i) => spm.vocab.attrs[i] & TokenAttr.BYTE).map((i) => spm.tokenText(i));
    expect(bytes).toEqual(['<0xF0>', '<0x9F>', '<0xA6>', '<0x99>']);
  });

  it('isEog: EOS', () => {
    expect(spm.isEog(2)).toBe(true);
    expect(spm.isEog(1)).toBe(false);
    expect(spm.isEog(NO_TOKEN)).toBe(false);
  });

  it('the chunked fast path equals the single global merge queue (reference)', () => {
    const encoder = new SpmEncoder(spm.vocab);
    // long inputs only: below 256 characters the encoder runs the reference itself
    const texts = [
      readFileSync(`${FIXTURES}text/tinystories_train_head_niklas6.txt`, 'utf8').slice(0, 20_000),
      readVectors('llama-spm').map((v) => v.text).join('\n'),
    ];
    // random strings over a small alphabet with spaces, punctuation and multi-byte characters
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const alphabet = [...'aabcdeeilnorst  ,.\n\t▁éü中文🦙'];
    for (let k = 0; k < 100; k++) texts.push(Array.from({ length: 256 + Math.floor(rnd() * 500) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''));
    for (const t of texts) {
      const escaped = (' ' + t).replaceAll(' ', '\u2581');
      const fast: number[] = [];
      const reference: number[] = [];
      encoder.encode(escaped, fast);
      spmMerge(spm.vocab, escaped, reference);
      expect(fast, JSON.stringify(t.slice(0, 80))).toEqual(reference);
    }
  });
});

describe('Phi-3 (SPM with control tokens that strip whitespace on their right)', () => {
  let phi: Tokenizer;
  beforeAll(async () => {
    phi = createTokenizer(await readVocabGguf('phi-3'));
  });

  it('parses its chat markers only with parseSpecial; RSTRIP eats the newline after them', () => {
    const text = '<|user|>\nHi<|end|>\n<|assistant|>\n';
    const ids = phi.encode(text, special);
    expect(ids).toEqual([32010, ...phi.encode('Hi', plain), 32007, 32001]);
    expect(phi.encode(text, plain).some((i) => i >= 32000)).toBe(false);
  });

  it('EOS is <|endoftext|>; <|end|> (EOT) and </s> also end generation', () => {
    expect(phi.eos).toBe(32000);
    expect(phi.eot).toBe(32007);
    for (const id of [32000, 32007, 2]) expect(phi.isEog(id), String(id)).toBe(true);
    expect(phi.isEog(32010)).toBe(false);
  });
});

describe('byte-level BPE special tokens', () => {
  it('USER_DEFINED tokens are matched even without parseSpecial (deepseek-llm "ø", mpt whitespace runs)', async () => {
    const ds = createTokenizer(await readVocabGguf('deepseek-llm'));
    expect(ds.vocab.attrs[100002] & TokenAttr.USER_DEFINED).toBeTruthy();
    expect(ds.tokenText(100002)).toBe('ø');
    expect(ds.encode('ø', plain)).toEqual([100002]);
    expect(ds.encode('x')[0]).toBe(100000); // add_bos_token = true in this GGUF

    const mpt = createTokenizer(await readVocabGguf('mpt'));
    const four = mpt.vocab.ids.get('    ')!;
    expect(mpt.vocab.attrs[four] & TokenAttr.USER_DEFINED).toBeTruthy();
    expect(mpt.encode('a    b', plain)).toContain(four);
    // CONTROL <|endoftext|> (id 0) only with parseSpecial
    expect(mpt.encode('b<|endoftext|>', plain)).not.toContain(0);
    expect(mpt.encode('b<|endoftext|>', special).at(-1)).toBe(0);
  });

  it('Llama 3: header tokens with parseSpecial, BOS added by default, EOT/EOM/EOS end generation', () => {
    const l3 = createTokenizer(llama3Meta());
    const text = '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>';
    expect(l3.encode(text, { parseSpecial: true })).toEqual([
      128000, 128006, ...l3.encode('user', plain), 128007, ...l3.encode('\n\nHi', plain), 128009,
    ]);
    expect(l3.encode(text).filter((i) => i >= 128000)).toEqual([128000]); // only the BOS
    expect(l3.addBos).toBe(true); // llama-bpe pre-tokenizer default
    expect(l3.eot).toBe(128009);
    for (const id of [128001, 128008, 128009]) expect(l3.isEog(id), String(id)).toBe(true);
    expect(l3.isEog(128006)).toBe(false);
  });

  it('GPT-2 adds no BOS by default (no add_bos_token key, gpt-2 pre-tokenizer)', async () => {
    const g = createTokenizer(await readVocabGguf('gpt-2'));
    expect(g.addBos).toBe(false);
    expect(g.encode('Hello')).toEqual(g.encode('Hello', plain));
    expect(g.isEog(50256)).toBe(true);
  });

  it('add_bos_token / add_eos_token in the metadata override the defaults', () => {
    const meta: Meta = gpt2Meta();
    meta.set('tokenizer.ggml.add_bos_token', gv.bool(true));
    meta.set('tokenizer.ggml.add_eos_token', gv.bool(true));
    const g = createTokenizer(meta);
    const ids = g.encode('Hello');
    expect(ids[0]).toBe(50256);
    expect(ids.at(-1)).toBe(50256);
    expect(ids.slice(1, -1)).toEqual(g.encode('Hello', plain));
  });
});

describe('metadata errors', () => {
  it('an unknown tokenizer.ggml.pre is refused with unsupported-tokenizer, naming it and the supported ones', () => {
    const meta = gpt2Meta();
    meta.set('tokenizer.ggml.pre', gv.str('made-up'));
    expectError(() => createTokenizer(meta), 'unsupported-tokenizer', /"made-up".*Supported: .*llama-bpe.*qwen2/s);
  });

  it('an unknown tokenizer.ggml.model is refused', () => {
    const meta = gpt2Meta();
    meta.set('tokenizer.ggml.model', gv.str('bert'));
    expectError(() => createTokenizer(meta), 'unsupported-tokenizer', /"bert".*"llama", "gpt2"/s);
  });

  it('a missing pre-tokenizer falls back to "default" like llama.cpp, with a warning', () => {
    const meta = gpt2Meta();
    meta.delete('tokenizer.ggml.pre');
    const t = createTokenizer(meta);
    expect(t.warnings.join('\n')).toMatch(/no tokenizer\.ggml\.pre/);
  });

  it('missing tokens is missing-key; short score arrays, duplicate tokens and missing merges are bad-file', () => {
    const base = () => new Map([['tokenizer.ggml.model', gv.str('llama')], ['tokenizer.ggml.tokens', gv.strs(['<unk>', '<s>', '</s>', 'a'])]]);
    const m0 = base();
    m0.delete('tokenizer.ggml.tokens');
    expectError(() => createTokenizer(m0), 'missing-key', /tokenizer\.ggml\.tokens/);
    const m1 = base();
    m1.set('tokenizer.ggml.scores', gv.f32s([0, 0]));
    expectError(() => createTokenizer(m1), 'bad-file', /scores has 2 entries for 4 tokens/);
    const m2 = base();
    m2.set('tokenizer.ggml.tokens', gv.strs(['<unk>', 'a', 'a']));
    expectError(() => createTokenizer(m2), 'bad-file', /duplicate token/);
    const m3 = base();
    m3.set('tokenizer.ggml.model', gv.str('gpt2'));
    m3.set('tokenizer.ggml.pre', gv.str('gpt-2'));
    expectError(() => createTokenizer(m3), 'bad-file', /merges/);
  });

  it('ids outside the vocabulary are refused by decode and tokenText', async () => {
    const spm = createTokenizer(await readVocabGguf('llama-spm'));
    expectError(() => spm.decode([5, 32000]), 'bad-argument', /32000 is outside the vocabulary/);
    expectError(() => spm.tokenText(-1), 'bad-argument', /outside/);
  });
});

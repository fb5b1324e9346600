/**
 * Detokenization: token bytes, the SPM leading-space rule, special tokens, and
 * the streaming decoder (one id at a time must concatenate to decode(all), and
 * a character split across byte tokens must never show up as U+FFFD).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createTokenizer, type DecodeOptions, type Tokenizer } from '../../src/tokenizer/index.ts';
import { TokenAttr } from '../../src/tokenizer/vocab.ts';
import { llama3Meta, qwen2Meta, readVocabGguf } from './helpers/tokenizer-fixtures.ts';

const plain = { addSpecial: false } as const;

function streamChunks(tok: Tokenizer, ids: readonly number[], opts?: DecodeOptions): string[] {
  const d = tok.decoder(opts);
  const chunks = ids.map((id) => d.push(id));
  chunks.push(d.flush());
  return chunks;
}

/** Text with characters that the vocabularies below can only spell with several byte tokens. */
const MULTIBYTE = ['🦙 llamas 😀😶‍🌫️ and café', '你好，世界！这是一个测试。', 'Здравствуй мир', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✅ ok', 'a\u{FEFF}b BOM stays'];

describe('streaming decoder', () => {
  const tokenizers: [string, () => Promise<Tokenizer> | Tokenizer][] = [
    ['llama-spm', async () => createTokenizer(await readVocabGguf('llama-spm'))],
    ['llama-bpe', () => createTokenizer(llama3Meta())],
    ['qwen2', () => createTokenizer(qwen2Meta())],
  ];
  for (const [name, make] of tokenizers) {
    describe(name, () => {
      let tok: Tokenizer;
      beforeAll(async () => {
        tok = await make();
      });

      it('one id at a time concatenates to decode(all) and to the original text; no chunk has U+FFFD', () => {
        let splitChars = 0;
        for (const text of MULTIBYTE) {
          const ids = tok.encode(text);
          const chunks = streamChunks(tok, ids);
          expect(chunks.join('')).toBe(tok.decode(ids));
          expect(tok.decode(ids)).toBe(text);
          for (const c of chunks) expect(c, JSON.stringify(chunks)).not.toContain('\uFFFD');
          splitChars += chunks.filter((c) => c === '').length;
        }
        // the texts really exercise characters split across tokens (a token that completes nothing yields "")
        expect(splitChars).toBeGreaterThan(3);
      });
    });
  }

  it('llama-spm: a split emoji is held back until its last byte token, then emitted whole', async () => {
    const spm = createTokenizer(await readVocabGguf('llama-spm'));
    const ids = spm.encode('🦙', plain); // ▁ + <0xF0><0x9F><0xA6><0x99>
    expect(ids.filter((i) => spm.vocab.attrs[i] & TokenAttr.BYTE)).toHaveLength(4);
    expect(streamChunks(spm, ids, { startOfText: false })).toEqual([' ', '', '', '', '🦙', '']);
  });

  it('only truly invalid bytes become U+FFFD: a lone continuation byte at once, a truncated sequence at flush', async () => {
    const spm = createTokenizer(await readVocabGguf('llama-spm'));
    const byte = (b: number) => spm.vocab.ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!;
    const a = spm.vocab.ids.get('a')!;
    expect(streamChunks(spm, [a, byte(0x80), a])).toEqual(['a', '\uFFFD', 'a', '']);
    expect(streamChunks(spm, [a, byte(0xe4), byte(0xbd)])).toEqual(['a', '', '', '\uFFFD']);
    expect(spm.decode([a, byte(0xe4), byte(0xbd)])).toBe('a\uFFFD');
  });
});

describe('decode rules', () => {
  let spm: Tokenizer;
  beforeAll(async () => {
    spm = createTokenizer(await readVocabGguf('llama-spm'));
  });

  it('SPM: one leading space is dropped after BOS (start of text); a continuation keeps its space', () => {
    const ids = spm.encode('Hello world'); // [BOS, ▁Hello, ▁world]
    expect(spm.decode(ids)).toBe('Hello world');
    expect(spm.decode(ids.slice(1))).toBe(' Hello world'); // no BOS: a continuation
    expect(spm.decode(ids.slice(1), { startOfText: true })).toBe('Hello world');
    expect(spm.decode(ids, { startOfText: false })).toBe(' Hello world');
    expect(spm.decode(spm.encode('  two spaces'))).toBe('  two spaces');
  });

  it('control tokens render as nothing unless asked; decodeBytes agrees with decode', () => {
    const ids = spm.encode('Hi</s>', { parseSpecial: true });
    expect(spm.decode(ids)).toBe('Hi');
    expect(spm.decode(ids, { special: true })).toBe('<s>Hi</s>');
    expect(new TextDecoder().decode(spm.decodeBytes(ids))).toBe(spm.decode(ids));
  });

  it('byte-level BPE: Ġ/Ċ map back to space/newline; specials render only when asked', () => {
    const l3 = createTokenizer(llama3Meta());
    const ids = l3.encode('<|start_header_id|>user<|end_header_id|>\n\n Hi there<|eot_id|>', { parseSpecial: true });
    expect(l3.decode(ids)).toBe('user\n\n Hi there');
    expect(l3.decode(ids, { special: true })).toBe('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n Hi there<|eot_id|>');
  });
});

/**
 * The tokenizer seam: text ⇄ token ids for a GGUF model, matching llama.cpp's
 * `llama_tokenize(text, add_special, parse_special)` and `token_to_piece`.
 *
 *   const tok = createTokenizer(gguf);            // or its metadata Map
 *   const ids = tok.encode('Hello');              // BOS added if the model wants it
 *   const prompt = tok.applyChatTemplate(messages);
 *   const pids = tok.encode(prompt, { addSpecial: false, parseSpecial: true });
 *   const d = tok.decoder(); for (const id of generated) out += d.push(id); out += d.flush();
 *
 * Flow of encode: special-token partition (special.ts) → per raw fragment SPM
 * (spm.ts) or pre-tokenizer + byte-level BPE (pretokenize.ts, bpe.ts) → BOS/EOS.
 */
import type { GgufFile, GgufValue } from '../formats/gguf.ts';
import { CriaError } from '../shared/errors.ts';
import { BpeEncoder } from './bpe.ts';
import { missingTemplateError, renderChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template.ts';
import { PieceStream, PieceTable, StreamingDecoder, type DecodeOptions } from './detokenize.ts';
import { partitionSpecial } from './special.ts';
import { SpmEncoder } from './spm.ts';
import { NO_TOKEN, parseVocab, type Vocab } from './vocab.ts';

export type { ChatMessage, ChatTemplateOptions } from './chat-template.ts';
export type { DecodeOptions, StreamingDecoder } from './detokenize.ts';
export { SUPPORTED_PRE_TOKENIZERS } from './pretokenize.ts';
export { NO_TOKEN, TokenAttr, type Vocab } from './vocab.ts';

export interface EncodeOptions {
  /** Add BOS/EOS as the model's metadata says (add_bos_token / add_eos_token). Default true. */
  addSpecial?: boolean;
  /** Turn the text of CONTROL tokens ("<|im_start|>", "<s>") into those tokens. Default false: they stay plain text. */
  parseSpecial?: boolean;
}

export interface Tokenizer {
  /** Number of tokens (ids are 0..vocabSize-1). */
  readonly vocabSize: number;
  /** Special ids; NO_TOKEN (-1) when the model has none. */
  readonly bos: number;
  readonly eos: number;
  readonly eot: number;
  /** Whether encode() adds BOS by default. */
  readonly addBos: boolean;
  readonly chatTemplate: string | undefined;
  /** The parsed vocabulary, read-only (for the engine and tests). */
  readonly vocab: Vocab;
  /** Non-fatal problems found in the metadata. */
  readonly warnings: readonly string[];
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** The raw bytes of `ids` (for byte-exact consumers); same rules as decode. */
  decodeBytes(ids: readonly number[], opts?: DecodeOptions): Uint8Array;
  decoder(opts?: DecodeOptions): StreamingDecoder;
  /** Ends generation: EOS, EOT, EOM and the model's other end-of-turn tokens. */
  isEog(id: number): boolean;
  /** The token's text as stored in the vocabulary (e.g. "▁Hello", "Ġworld", "<0x0A>"). */
  tokenText(id: number): string;
  /** Render the model's chat template (or `opts.template`). */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ChatTemplateOptions & { template?: string }): string;
}

export function createTokenizer(metadata: GgufFile | ReadonlyMap<string, GgufValue>): Tokenizer {
  const vocab = parseVocab(metadata);
  /**
   * Tokenize one raw-text fragment. `afterSpecial`: the fragment starts the text
   * or follows a special token, which is where SPM prefixes its space.
   */
  let encodeFragment: (text: string, afterSpecial: boolean, out: number[]) => void;
  if (vocab.model === 'llama') {
    const spm = new SpmEncoder(vocab);
    encodeFragment = (text, afterSpecial, out) => {
      const raw = vocab.addSpacePrefix && afterSpecial ? ' ' + text : text;
      spm.encode(raw.replaceAll(' ', '\u2581'), out);
    };
  } else {
    const bpe = new BpeEncoder(vocab);
    encodeFragment = (text, _afterSpecial, out) => bpe.encode(text, out);
  }
  const pieces = new PieceTable(vocab);
  const n = vocab.tokens.length;

  const checkId = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= n) {
      throw new CriaError('bad-argument', `token id ${id} is outside the vocabulary (0..${n - 1})`, { id, vocabSize: n });
    }
  };

  const encode = (text: string, opts: EncodeOptions = {}): number[] => {
    const addSpecial = opts.addSpecial ?? true;
    const fragments = partitionSpecial(vocab, toWellFormed(text), opts.parseSpecial ?? false);
    const out: number[] = [];
    if (addSpecial && vocab.addBos) out.push(vocab.bos);
    let afterSpecial = true;
    for (const f of fragments) {
      if (typeof f === 'number') out.push(f);
      else encodeFragment(f, afterSpecial, out);
      afterSpecial = typeof f === 'number';
    }
    if (addSpecial && vocab.addEos) out.push(vocab.eos);
    return out;
  };

  const decoder = (opts: DecodeOptions = {}) => new StreamingDecoder(vocab, pieces, opts);

  const decodeBytes = (ids: readonly number[], opts: DecodeOptions = {}): Uint8Array => {
    const stream = new PieceStream(vocab, pieces, opts);
    const parts = ids.map((id) => stream.next(id));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };

  return {
    vocabSize: n,
    bos: vocab.bos,
    eos: vocab.eos,
    eot: vocab.eot,
    addBos: vocab.addBos,
    chatTemplate: vocab.chatTemplate,
    vocab,
    warnings: vocab.warnings,
    encode,
    decode: (ids, opts) => {
      const d = decoder(opts);
      let s = '';
      for (const id of ids) s += d.push(id);
      return s + d.flush();
    },
    decodeBytes,
    decoder,
    isEog: (id) => id !== NO_TOKEN && vocab.eog.has(id),
    tokenText: (id) => {
      checkId(id);
      return vocab.tokens[id];
    },
    applyChatTemplate: (messages, opts = {}) => {
      const source = opts.template ?? vocab.chatTemplate;
      if (source === undefined) throw missingTemplateError();
      const text = (id: number) => (id === NO_TOKEN ? '' : vocab.tokens[id]);
      return renderChatTemplate(source, messages, { bos: text(vocab.bos), eos: text(vocab.eos) }, opts);
    },
  };
}

/** Lone UTF-16 surrogates cannot be UTF-8 encoded; like a UTF-8 decoder would, replace them with U+FFFD. */
function toWellFormed(s: string): string {
  return /[\uD800-\uDFFF]/.test(s) ? s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') : s;
}

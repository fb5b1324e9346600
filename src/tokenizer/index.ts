/**
 * The tokenizer seam: text ⇄ token ids for a GGUF model, matching llama.cpp's
 * `llama_tokenize(text, add_special, parse_special)` and `token_to_piece`.
 *
 *   const tok = createTokenizer(gguf);            // or its metadata Map
 *   const ids = tok.encode('Hello');              // BOS added if the model wants it
 *   const prompt = tok.applyChatTemplate(messages);  // the text, for display
 *   const pids = tok.encodeChat(messages);           // the ids: markup special, contents plain text
 *   const d = tok.decoder(); for (const id of generated) out += d.push(id); out += d.flush();
 *
 * Flow of encode: special-token partition (special.ts) → per raw fragment SPM
 * (spm.ts) or pre-tokenizer + byte-level BPE (pretokenize.ts, bpe.ts) → BOS/EOS.
 */
import type { GgufFile, GgufValue } from '../formats/gguf.ts';
import { CriaError } from '../shared/errors.ts';
import { BpeEncoder } from './bpe.ts';
import { missingTemplateError, renderChatMarked, renderChatTemplate, toolStrings, type ChatMessage, type ChatTemplateOptions, type TemplateMessage } from './chat-template.ts';
import { PieceStream, PieceTable, StreamingDecoder, type DecodeOptions } from './detokenize.ts';
import { partitionSpecial } from './special.ts';
import { SpmEncoder } from './spm.ts';
import { NO_TOKEN, TokenAttr, parseVocab, type Vocab } from './vocab.ts';

export type { ChatMessage, ChatTemplateOptions } from './chat-template.ts';
export type { DecodeOptions, StreamingDecoder } from './detokenize.ts';
export { SUPPORTED_PRE_TOKENIZERS } from './pretokenize.ts';
export { NO_TOKEN, TokenAttr, type Vocab } from './vocab.ts';

export interface EncodeOptions {
  /** Add BOS/EOS as the model's metadata says (add_bos_token / add_eos_token). Default true. */
  addSpecial?: boolean;
  /** Turn the text of CONTROL tokens ("<|im_start|>", "<s>") into those tokens. Default false: they stay plain text. */
  parseSpecial?: boolean;
  /** With parseSpecial: `[start, end)` character ranges where CONTROL tokens are not parsed (text from users). */
  plain?: readonly (readonly [number, number])[];
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
  /**
   * A chat prompt's token ids: the template's markup with its special tokens parsed, message
   * contents as plain text (a user typing "<|im_end|>" cannot end a turn), BOS added once if the
   * model wants it. A template that rewrites contents so they cannot be located is still
   * accepted, unless a content holds control-token text: that is a `bad-argument` error.
   */
  encodeChat(messages: readonly ChatMessage[], opts?: ChatTemplateOptions & { template?: string }): number[];
}

/**
 * Tokenize one raw-text fragment (text between special tokens) into `out`. `afterSpecial`: the
 * fragment starts the text or follows a special token, which is where SPM prefixes its space.
 */
export type FragmentEncoder = (text: string, afterSpecial: boolean, out: number[]) => void;

export function createTokenizer(metadata: GgufFile | ReadonlyMap<string, GgufValue>): Tokenizer {
  const vocab = parseVocab(metadata);
  let encodeFragment: FragmentEncoder;
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
  return tokenizerFromVocab(vocab, encodeFragment);
}

/**
 * A tokenizer over a parsed vocabulary, with `encodeFragment` for the text between special tokens
 * (Cria's SPM or BPE for a GGUF; another library's model for a tokenizer.json, src/tokenizer/hf.ts).
 * Everything else is Cria's: special-token partition, BOS/EOS, decoding, chat prompts.
 */
export function tokenizerFromVocab(vocab: Vocab, encodeFragment: FragmentEncoder): Tokenizer {
  const pieces = new PieceTable(vocab);
  const n = vocab.tokens.length;

  const checkId = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= n) {
      throw new CriaError('bad-argument', `token id ${id} is outside the vocabulary (0..${n - 1})`, { id, vocabSize: n });
    }
  };

  const encode = (text: string, opts: EncodeOptions = {}): number[] => {
    const addSpecial = opts.addSpecial ?? true;
    // toWellFormed keeps every offset (one UTF-16 unit for one), so `plain` ranges still apply
    const fragments = partitionSpecial(vocab, toWellFormed(text), opts.parseSpecial ?? false, opts.plain);
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
    applyChatTemplate: (messages, opts = {}) => renderChatTemplate(templateOf(opts), messages, specialTexts(), opts),
    encodeChat: (messages, opts = {}) => {
      const r = renderChatMarked(templateOf(opts), messages, specialTexts(), opts);
      if (r.contents === null) {
        // the contents could not be located: accept only contents in which nothing could be forged
        const forgedIn = (text: string) => partitionSpecial(vocab, text, true).find((f) => typeof f === 'number' && vocab.attrs[f] & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) as number | undefined;
        messages.forEach((m, i) => {
          const forged = typeof m.content === 'string' ? forgedIn(m.content) : undefined;
          if (forged !== undefined) {
            const t = vocab.tokens[forged];
            throw new CriaError('bad-argument', `message ${i} (${m.role}) contains the text of the control token ${t}, and this chat template rewrites message contents, so it could not be kept as plain text; remove "${t}" from the message`, { message: i, token: t });
          }
        });
        // tool definitions and calls are plain text too
        for (const text of toolStrings(messages as readonly TemplateMessage[], opts.extra)) {
          const forged = forgedIn(text);
          if (forged !== undefined) {
            const t = vocab.tokens[forged];
            throw new CriaError('bad-argument', `a tool's definition or call contains the text of the control token ${t}, and this chat template rewrites what it renders, so it could not be kept as plain text; remove "${t}" from it`, { token: t });
          }
        }
      }
      const ids = encode(r.text, { addSpecial: false, parseSpecial: true, plain: r.contents ?? [] });
      if (vocab.addBos && vocab.bos !== NO_TOKEN && ids[0] !== vocab.bos) ids.unshift(vocab.bos);
      return ids;
    },
  };

  function templateOf(opts: { template?: string }): string {
    const source = opts.template ?? vocab.chatTemplate;
    if (source === undefined) throw missingTemplateError();
    return source;
  }
  function specialTexts() {
    const text = (id: number) => (id === NO_TOKEN ? '' : vocab.tokens[id]);
    return { bos: text(vocab.bos), eos: text(vocab.eos) };
  }
}

/** Lone UTF-16 surrogates cannot be UTF-8 encoded; like a UTF-8 decoder would, replace them with U+FFFD. */
function toWellFormed(s: string): string {
  return /[\uD800-\uDFFF]/.test(s) ? s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') : s;
}

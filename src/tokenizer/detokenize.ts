/**
 * Token ids → bytes → text.
 *
 * A token's bytes (llama.cpp `token_to_piece`):
 * - CONTROL / UNKNOWN tokens: nothing, unless `special` is asked for, then their text;
 * - USER_DEFINED tokens: their text as is;
 * - NORMAL tokens: SPM → text with "▁" turned back into " "; byte-level BPE →
 *   each character mapped back to the byte it stands for;
 * - BYTE tokens (`<0xXX>`): that one byte;
 * - anything else (UNUSED, undefined type): nothing.
 *
 * The leading-space rule: SentencePiece models encode "Hello" as "▁Hello"
 * (add_space_prefix), so when the ids begin a text, one leading space of the
 * first token after an optional BOS is dropped. `startOfText` defaults to
 * "the first id is BOS": a whole prompt decodes back to itself, while a stream
 * of generated tokens (which continues a prompt) keeps its spaces.
 *
 * Text is produced with a streaming UTF-8 decoder, so a character split across
 * byte tokens is emitted once its last byte arrives, never as U+FFFD; only
 * bytes that cannot form UTF-8 become U+FFFD (immediately, or at `flush()` for
 * an unfinished sequence at the very end). A BOM is kept as text (ignoreBOM).
 *
 * Not applied: llama.cpp's clean_up_tokenization_spaces pass (" ," → ","), which
 * is lossy and which llama.cpp's own streaming output does not apply either.
 */
import { CriaError } from '../shared/errors.ts';
import { charToByte } from './byte-encoding.ts';
import { TokenAttr, type Vocab } from './vocab.ts';

const te = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Builds and caches each token's bytes. */
export class PieceTable {
  private readonly cache: (Uint8Array | undefined)[];
  constructor(private readonly vocab: Vocab) {
    this.cache = new Array(vocab.tokens.length);
  }

  /** The bytes of token `id`; CONTROL/UNKNOWN tokens are empty unless `special`. */
  bytes(id: number, special: boolean): Uint8Array {
    const attr = this.vocab.attrs[id];
    if (!special && attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) return EMPTY;
    return (this.cache[id] ??= this.build(id));
  }

  private build(id: number): Uint8Array {
    const { vocab } = this;
    const attr = vocab.attrs[id];
    const text = vocab.tokens[id];
    if (attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN | TokenAttr.USER_DEFINED)) return te.encode(text);
    if (attr & TokenAttr.NORMAL) {
      if (vocab.model === 'llama') return te.encode(text.replaceAll('\u2581', ' '));
      return byteDecode(text);
    }
    if (attr & TokenAttr.BYTE) {
      const b = parseInt(text.slice(3, 5), 16);
      return Number.isNaN(b) ? EMPTY : Uint8Array.of(b);
    }
    return EMPTY;
  }
}

/**
 * Byte-level BPE token text → bytes. A character that is not a byte stand-in
 * (only in odd vocabularies) is passed through as its own UTF-8; llama.cpp
 * writes a "[UNK_BYTE_0x..]" marker there instead.
 */
function byteDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const b = charToByte(ch.codePointAt(0)!);
    if (b >= 0) out.push(b);
    else for (const x of te.encode(ch)) out.push(x);
  }
  return Uint8Array.from(out);
}

export interface DecodeOptions {
  /** Render CONTROL/UNKNOWN tokens (e.g. "<|im_end|>") as their text. Default false. */
  special?: boolean;
  /** The ids begin a text, so the SPM space prefix is removed. Default: the first id is BOS. */
  startOfText?: boolean;
}

/**
 * Bytes per id, with the leading-space rule applied: the one place that rule
 * lives, shared by StreamingDecoder and Tokenizer.decodeBytes.
 */
export class PieceStream {
  private first = true;
  private stripSpace = false;
  private readonly special: boolean;

  constructor(
    private readonly vocab: Vocab,
    private readonly pieces: PieceTable,
    private readonly opts: DecodeOptions = {},
  ) {
    this.special = opts.special ?? false;
  }

  next(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.tokens.length) {
      throw new CriaError('bad-argument', `token id ${id} is outside the vocabulary (0..${this.vocab.tokens.length - 1})`, { id });
    }
    const bytes = this.pieces.bytes(id, this.special);
    if (this.first) {
      this.first = false;
      const isBos = id === this.vocab.bos;
      this.stripSpace = this.vocab.addSpacePrefix && (this.opts.startOfText ?? isBos);
      if (isBos) return bytes; // the strip applies to the token after BOS
    }
    if (this.stripSpace) {
      this.stripSpace = false;
      if (bytes.length > 0 && bytes[0] === 0x20) return bytes.subarray(1);
    }
    return bytes;
  }
}

/**
 * Incremental decoder: `push(id)` returns the text completed by that token
 * (possibly ""), `flush()` ends the stream. The concatenation of everything
 * returned equals `decode(allIds)` with the same options.
 */
export class StreamingDecoder {
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  private readonly stream: PieceStream;

  constructor(vocab: Vocab, pieces: PieceTable, opts: DecodeOptions = {}) {
    this.stream = new PieceStream(vocab, pieces, opts);
  }

  push(id: number): string {
    return this.utf8.decode(this.stream.next(id), { stream: true });
  }

  /** End of stream: an unfinished UTF-8 sequence becomes U+FFFD. */
  flush(): string {
    return this.utf8.decode();
  }
}

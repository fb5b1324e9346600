/**
 * SentencePiece-style BPE (`tokenizer.ggml.model = "llama"`), following
 * llama.cpp's `llm_tokenizer_spm_session`:
 *
 * 1. the caller has already prefixed the space (add_space_prefix) and replaced
 *    every " " by "▁" (U+2581);
 * 2. the text is split into characters (code points);
 * 3. every adjacent pair whose concatenation is a token goes into a queue
 *    ordered by that token's score (highest first, then leftmost); the best
 *    pair is merged and its new neighbours are queued, until nothing merges;
 * 4. each final symbol is emitted as its token, or, when it is not a token
 *    (only possible for a single character), as one `<0xXX>` byte token per
 *    UTF-8 byte (byte fallback).
 *
 * llama.cpp also keeps a "rev_merge" map to re-split non-token symbols; every
 * merged symbol is a token by construction, so that path never runs and is omitted.
 *
 * Speed: llama.cpp runs one queue over the whole text. A merge can only join
 * two characters that stand next to each other inside some token, so wherever
 * the pair (previous char, char) occurs in no token, no merge can ever cross;
 * the text is cut there into independent chunks ("▁the", "▁cat", …) whose
 * results are identical to the global run's and can be cached.
 */
import { Heap } from './heap.ts';
import type { Vocab } from './vocab.ts';

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** combined length (UTF-16 units) when queued; a mismatch later means the entry is stale */
  size: number;
}

const byScore = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);

const te = new TextEncoder();

/** Byte-fallback token for one byte: `<0xXX>`, else the byte itself as a one-character token, else unk. */
export function spmByteToken(vocab: Vocab, byte: number): number {
  const hex = byte.toString(16).toUpperCase().padStart(2, '0');
  return vocab.ids.get(`<0x${hex}>`) ?? (byte < 0x80 ? vocab.ids.get(String.fromCharCode(byte)) : undefined) ?? vocab.unk;
}

const CACHE_LIMIT = 1 << 16;
const pairKey = (a: number, b: number) => a * 0x200000 + b;

/** Below this length the global queue is cheap enough; above it, chunking pays for building the pair set. */
const CHUNKING_MIN_LENGTH = 256;

export class SpmEncoder {
  private readonly cache = new Map<string, readonly number[]>();
  /** Every (char, next char) pair that occurs inside some token; built on first long input. */
  private joinable: Set<number> | undefined;

  constructor(private readonly vocab: Vocab) {}

  /** Tokenize already-escaped text (spaces as ▁) and append the ids to `out`. */
  encode(text: string, out: number[]): void {
    if (text.length < CHUNKING_MIN_LENGTH) {
      spmMerge(this.vocab, text, out);
      return;
    }
    const joinable = (this.joinable ??= joinablePairs(this.vocab));
    let chunkStart = 0;
    let prev = -1;
    for (let i = 0; i < text.length; ) {
      const c = text.codePointAt(i)!;
      if (prev >= 0 && !joinable.has(pairKey(prev, c))) {
        this.encodeChunk(text.slice(chunkStart, i), out);
        chunkStart = i;
      }
      prev = c;
      i += c > 0xffff ? 2 : 1;
    }
    if (chunkStart < text.length) this.encodeChunk(text.slice(chunkStart), out);
  }

  private encodeChunk(chunk: string, out: number[]): void {
    let ids = this.cache.get(chunk);
    if (ids === undefined) {
      const fresh: number[] = [];
      spmMerge(this.vocab, chunk, fresh);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(chunk, fresh);
      ids = fresh;
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }
}

function joinablePairs(vocab: Vocab): Set<number> {
  const pairs = new Set<number>();
  for (const t of vocab.tokens) {
    let prev = -1;
    for (const ch of t) {
      const c = ch.codePointAt(0)!;
      if (prev >= 0) pairs.add(pairKey(prev, c));
      prev = c;
    }
  }
  return pairs;
}

/** The merge loop over one piece of escaped text (llama.cpp's algorithm as is). */
export function spmMerge(vocab: Vocab, text: string, out: number[]): void {
  // symbols as a doubly linked list over [start, start+len) ranges of `text`
  const start: number[] = [];
  const len: number[] = [];
  for (let i = 0; i < text.length; ) {
    const w = text.codePointAt(i)! > 0xffff ? 2 : 1;
    start.push(i);
    len.push(w);
    i += w;
  }
  const n = start.length;
  if (n === 0) return;
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));

  const queue = new Heap<Bigram>(byScore);
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const size = len[left] + len[right];
    const id = vocab.ids.get(text.slice(start[left], start[left] + size));
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.scores[id], size });
  };
  for (let i = 1; i < n; i++) tryAdd(i - 1, i);

  for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
    const { left, right } = b;
    if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== b.size) continue;
    len[left] += len[right];
    len[right] = 0;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    tryAdd(prev[left], left);
    tryAdd(left, next[left]);
  }

  for (let i = 0; i !== -1; i = next[i]) {
    const piece = text.slice(start[i], start[i] + len[i]);
    const id = vocab.ids.get(piece);
    if (id !== undefined) {
      out.push(id);
      continue;
    }
    for (const byte of te.encode(piece)) out.push(spmByteToken(vocab, byte));
  }
}

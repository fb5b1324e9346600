/**
 * Byte-level BPE (`tokenizer.ggml.model = "gpt2"`), following llama.cpp's
 * `llm_tokenizer_bpe_session`:
 *
 * 1. the pre-tokenizer splits the text into words (pretokenize.ts);
 * 2. each word is UTF-8 encoded and spelled with GPT-2's byte characters
 *    (byte-encoding.ts);
 * 3. with `ignore_merges` (Llama 3), a word that is itself a token is emitted as is;
 * 4. otherwise the word's characters are merged pairwise by merge rank (lowest
 *    first, then leftmost) until no adjacent pair has a merge;
 * 5. each final symbol is emitted as its token; a symbol that is not a token
 *    falls back to its single ASCII characters that are tokens (llama.cpp looks
 *    up each UTF-8 byte of the symbol as a one-byte string; only ASCII can hit).
 *
 * Words repeat a lot in real text, so results are cached per word (bounded).
 */
import { byteEncode } from './byte-encoding.ts';
import { Heap } from './heap.ts';
import { splitPreTokens } from './pretokenize.ts';
import type { Vocab } from './vocab.ts';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  /** combined length when queued; a mismatch later means the entry is stale */
  size: number;
}

const byRank = (a: Bigram, b: Bigram) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

const CACHE_LIMIT = 1 << 16;

export class BpeEncoder {
  private readonly cache = new Map<string, readonly number[]>();
  private readonly regexes: readonly RegExp[];

  constructor(private readonly vocab: Vocab) {
    if (!vocab.pre) throw new Error('BpeEncoder needs a pre-tokenizer');
    this.regexes = vocab.pre.regexes;
  }

  /** Tokenize raw text (no special tokens in it) and append the ids to `out`. */
  encode(text: string, out: number[]): void {
    for (const word of splitPreTokens(text, this.regexes)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(byteEncode(word));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
  }

  /** BPE-merge one byte-encoded word. Every character is one UTF-16 unit (byte-encoding.ts). */
  private encodeWord(word: string): number[] {
    const { ids, mergeRanks } = this.vocab;
    if (this.vocab.ignoreMerges) {
      const whole = ids.get(word);
      if (whole !== undefined) return [whole];
    }
    const n = word.length;
    const len = new Int32Array(n).fill(1);
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));

    const queue = new Heap<Bigram>(byRank);
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const rank = mergeRanks.get(word.slice(left, right) + ' ' + word.slice(right, right + len[right]));
      if (rank === undefined) return;
      queue.push({ left, right, rank, size: len[left] + len[right] });
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

    const out: number[] = [];
    for (let i = 0; i !== -1 && n > 0; i = next[i]) {
      const piece = word.slice(i, i + len[i]);
      const id = ids.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (let k = 0; k < piece.length; k++) {
        const c = piece.charCodeAt(k);
        const single = c < 0x80 ? ids.get(piece[k]) : undefined;
        if (single !== undefined) out.push(single);
      }
    }
    return out;
  }
}

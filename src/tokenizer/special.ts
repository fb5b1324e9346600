/**
 * Special-token partitioning, before BPE/SPM sees the text (llama.cpp's
 * `tokenizer_st_partition`).
 *
 * Special tokens (CONTROL, USER_DEFINED, UNKNOWN) are taken longest first;
 * each one splits every remaining text fragment at all its occurrences, left
 * to right. USER_DEFINED tokens are always matched (the HF tokenizers rule:
 * added tokens are pre-tokenized first); CONTROL and UNKNOWN tokens only when
 * `parseSpecial` is on, so by default "<|im_start|>" typed by a user is plain text.
 * A token with LSTRIP / RSTRIP also swallows the ASCII whitespace before / after it.
 *
 * `plain` ranges (character offsets into the text, sorted, not overlapping) are text that
 * came from a user, such as a chat message's content: with `parseSpecial` on, a CONTROL or
 * UNKNOWN token is not matched where it overlaps one of them. Fragments stay the same
 * (a message's text and the markup around it are still tokenized together between
 * special tokens), so a prompt without forged tokens tokenizes exactly as before.
 */
import { TokenAttr, type Vocab } from './vocab.ts';

/** A piece of the input: raw text still to be tokenized, or a token id already decided. */
export type Fragment = string | number;

const isAsciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** Raw text at an offset of the original input. */
interface Raw {
  text: string;
  at: number;
}

/** Whether [start, end) overlaps any range of `ranges` (sorted by start, disjoint). */
function overlaps(ranges: readonly (readonly [number, number])[], start: number, end: number): boolean {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][1] <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo < ranges.length && ranges[lo][0] < end;
}

export function partitionSpecial(vocab: Vocab, text: string, parseSpecial: boolean, plain: readonly (readonly [number, number])[] = []): Fragment[] {
  if (text === '') return [];
  let frags: (Raw | number)[] = [{ text, at: 0 }];
  for (const id of vocab.specialTokens) {
    const attr = vocab.attrs[id];
    const isControl = (attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) !== 0;
    if (!parseSpecial && isControl) continue;
    const tok = vocab.tokens[id];
    // Fragments are always substrings of the input, so a token absent from it can be skipped cheaply.
    if (!text.includes(tok)) continue;
    const next: (Raw | number)[] = [];
    for (const f of frags) {
      if (typeof f === 'number') {
        next.push(f);
        continue;
      }
      const s = f.text;
      let from = 0;
      for (let at = s.indexOf(tok); at >= 0; at = s.indexOf(tok, at + 1)) {
        if (at < from) continue;
        if (isControl && plain.length > 0 && overlaps(plain, f.at + at, f.at + at + tok.length)) continue;
        let leftEnd = at;
        if (attr & TokenAttr.LSTRIP) while (leftEnd > from && isAsciiSpace(s.charCodeAt(leftEnd - 1))) leftEnd--;
        if (leftEnd > from) next.push({ text: s.slice(from, leftEnd), at: f.at + from });
        next.push(id);
        from = at + tok.length;
        if (attr & TokenAttr.RSTRIP) while (from < s.length && isAsciiSpace(s.charCodeAt(from))) from++;
      }
      if (from < s.length) next.push({ text: s.slice(from), at: f.at + from });
    }
    frags = next;
  }
  return frags.map((f) => (typeof f === 'number' ? f : f.text));
}

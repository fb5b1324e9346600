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
 */
import { TokenAttr, type Vocab } from './vocab.ts';

/** A piece of the input: raw text still to be tokenized, or a token id already decided. */
export type Fragment = string | number;

const isAsciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

export function partitionSpecial(vocab: Vocab, text: string, parseSpecial: boolean): Fragment[] {
  if (text === '') return [];
  let frags: Fragment[] = [text];
  for (const id of vocab.specialTokens) {
    const attr = vocab.attrs[id];
    if (!parseSpecial && attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) continue;
    const tok = vocab.tokens[id];
    // Fragments are always substrings of the input, so a token absent from it can be skipped cheaply.
    if (!text.includes(tok)) continue;
    const next: Fragment[] = [];
    for (const f of frags) {
      if (typeof f === 'number') {
        next.push(f);
        continue;
      }
      let from = 0;
      for (let at = f.indexOf(tok); at >= 0; at = f.indexOf(tok, from)) {
        let leftEnd = at;
        if (attr & TokenAttr.LSTRIP) while (leftEnd > from && isAsciiSpace(f.charCodeAt(leftEnd - 1))) leftEnd--;
        if (leftEnd > from) next.push(f.slice(from, leftEnd));
        next.push(id);
        from = at + tok.length;
        if (attr & TokenAttr.RSTRIP) while (from < f.length && isAsciiSpace(f.charCodeAt(from))) from++;
      }
      if (from < f.length) next.push(f.slice(from));
    }
    frags = next;
  }
  return frags;
}

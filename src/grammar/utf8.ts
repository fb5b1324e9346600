/**
 * UTF-8 validity for constrained generation.
 *
 * xgrammar 0.1.27 matches a grammar's characters against token bytes with a lenient UTF-8 decoder:
 * it takes overlong forms (C0 BE for ">"), surrogates (ED A0 80), code points past U+10FFFF (F4 90 …)
 * and the lead bytes F5–F7. Such bytes decode to U+FFFD, one per byte, so an answer could break the
 * schema it was held to (a string longer than its maxLength; a format no longer met). Cria tracks
 * the answer's UTF-8 decoder state and allows, at each step, only the tokens whose bytes continue a
 * valid UTF-8 text (RFC 3629, table 3-7 of Unicode); an end-of-generation token only between
 * characters.
 *
 * States: between characters, or inside one with the bytes it still needs; the second byte after
 * E0, ED, F0, F4 has a narrower range. Per state, a bitmask of the tokens valid from it and the state
 * each token leads to are computed once per vocabulary.
 */

/** decoder states; DEAD: not UTF-8 */
const START = 0;
const NEED1 = 1;
const NEED2 = 2;
const NEED3 = 3;
const AFTER_E0 = 4; // next A0–BF, then 1
const AFTER_ED = 5; // next 80–9F, then 1
const AFTER_F0 = 6; // next 90–BF, then 2
const AFTER_F4 = 7; // next 80–8F, then 2
const STATES = 8;
const DEAD = 255;

function step(s: number, b: number): number {
  const cont = b >= 0x80 && b <= 0xbf;
  switch (s) {
    case START:
      if (b < 0x80) return START;
      if (b >= 0xc2 && b <= 0xdf) return NEED1;
      if (b === 0xe0) return AFTER_E0;
      if (b === 0xed) return AFTER_ED;
      if (b >= 0xe1 && b <= 0xef) return NEED2;
      if (b === 0xf0) return AFTER_F0;
      if (b >= 0xf1 && b <= 0xf3) return NEED3;
      if (b === 0xf4) return AFTER_F4;
      return DEAD;
    case NEED1:
      return cont ? START : DEAD;
    case NEED2:
      return cont ? NEED1 : DEAD;
    case NEED3:
      return cont ? NEED2 : DEAD;
    case AFTER_E0:
      return b >= 0xa0 && b <= 0xbf ? NEED1 : DEAD;
    case AFTER_ED:
      return b >= 0x80 && b <= 0x9f ? NEED1 : DEAD;
    case AFTER_F0:
      return b >= 0x90 && b <= 0xbf ? NEED2 : DEAD;
    case AFTER_F4:
      return b >= 0x80 && b <= 0x8f ? NEED2 : DEAD;
    default:
      return DEAD;
  }
}

/** Per vocabulary: the tokens valid from each state, and where each leads. */
export interface Utf8Table {
  /** `masks[s]`: token t is valid from state s iff bit (t & 31) of word (t >> 5) is set */
  masks: Uint32Array[];
  /** `next[s * nTokens + t]`: the state after token t from state s (DEAD if invalid) */
  next: Uint8Array;
  nTokens: number;
}

/**
 * Build the table for `vocabSize` tokens with these bytes (empty for control tokens, which are
 * valid between characters only), over logits `nVocab` wide (rows beyond the vocabulary: never).
 */
export function utf8Table(vocabSize: number, nVocab: number, tokenBytes: (id: number) => Uint8Array): Utf8Table {
  const words = Math.ceil(nVocab / 32);
  const masks = Array.from({ length: STATES }, () => new Uint32Array(words));
  const next = new Uint8Array(STATES * vocabSize).fill(DEAD);
  for (let t = 0; t < vocabSize; t++) {
    const bytes = tokenBytes(t);
    for (let s0 = 0; s0 < STATES; s0++) {
      if (bytes.length === 0 && s0 !== START) continue;
      let s = s0;
      for (let i = 0; i < bytes.length && s !== DEAD; i++) s = step(s, bytes[i]!);
      if (s === DEAD) continue;
      next[s0 * vocabSize + t] = s;
      masks[s0]![t >>> 5]! |= 1 << (t & 31);
    }
  }
  return { masks, next, nTokens: vocabSize };
}

/** One answer's UTF-8 state. */
export class Utf8Tracker {
  private state = START;
  constructor(private readonly table: Utf8Table) {}

  /** Clear (in place) the tokens that would make the answer invalid UTF-8; false if none is left. */
  restrict(allowed: Uint32Array): boolean {
    const m = this.table.masks[this.state];
    let any = 0;
    for (let w = 0; w < allowed.length; w++) {
      const v = m ? allowed[w]! & (m[w] ?? 0) : 0;
      allowed[w] = v;
      any |= v;
    }
    return any !== 0;
  }

  /** Whether the token keeps the answer valid UTF-8. */
  valid(id: number): boolean {
    return this.state !== DEAD && id >= 0 && id < this.table.nTokens && this.table.next[this.state * this.table.nTokens + id] !== DEAD;
  }

  accept(id: number): void {
    this.state = this.valid(id) ? this.table.next[this.state * this.table.nTokens + id]! : DEAD;
  }
}

/**
 * Character classes with characters beyond ASCII, as xgrammar 0.1.27 can match them.
 *
 * xgrammar's WebAssembly build matches a class with several members byte by byte, each bound cut to
 * 8 bits: [ぁ-ゟ] (U+3041–U+309F) takes the bytes 0x41–0x9F ('A', 'B', …), [一-鿿] every byte, and
 * [^\u2028] refuses '(' (0x28). (A class of one member is read as that character, correctly; classes
 * of ASCII members are right, since a byte is then a character.) So a class with a member beyond
 * ASCII is rewritten into what xgrammar does match right: its ASCII part as a class, and each range
 * beyond ASCII as UTF-8 byte sequences, each byte position a byte class (`[\xe3\xe3]`, with the
 * member doubled, is the one byte E3; `[\x80-\xbf]` a continuation byte) — the UTF-8 range split
 * that regex engines use (RE2, Rust's regex-syntax). Surrogates (U+D800–U+DFFF) are never
 * characters. A negated class becomes the complement, split the same way.
 *
 * The rewrite relies on xgrammar matching byte classes by bytes: pinned by the tests in
 * test/unit/structured-output-gbnf.test.ts, so an xgrammar that changes it fails them.
 */

export type Range = [number, number];

const MAX_CP = 0x10ffff;

/** Ranges sorted and merged. */
function normalize(ranges: readonly Range[]): Range[] {
  const sorted = ranges.map(([a, b]): Range => [a, b]).sort((x, y) => x[0] - y[0]);
  const out: Range[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Code points not in the ranges (and not surrogates), within 0..U+10FFFF. */
export function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [a, b] of normalize([...ranges, [0xd800, 0xdfff]])) {
    if (a > next) out.push([next, a - 1]);
    next = Math.max(next, b + 1);
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

function encode(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

/**
 * A range of code points as sequences of byte ranges, each sequence all the UTF-8 encodings of a
 * sub-range (every combination of its byte ranges is in it). Surrogates left out.
 */
export function utf8Sequences(lo: number, hi: number): Range[][] {
  const out: Range[][] = [];
  const split = (a: number, b: number): void => {
    if (a > b) return;
    // never across a surrogate or an encoded-length boundary
    for (const [x, y] of [[0xd800, 0xdfff]] as const) {
      if (a <= y && b >= x) {
        split(a, x - 1);
        split(y + 1, b);
        return;
      }
    }
    for (const edge of [0x7f, 0x7ff, 0xffff]) {
      if (a <= edge && b > edge) {
        split(a, edge);
        split(edge + 1, b);
        return;
      }
    }
    if (b < 0x80) return void out.push([[a, b]]);
    // the continuation bytes must each run over a whole 0x80–0xBF where a higher byte varies
    for (let i = 1; i < 4; i++) {
      const m = (1 << (6 * i)) - 1;
      if ((a & ~m) !== (b & ~m)) {
        if ((a & m) !== 0) {
          split(a, a | m);
          split((a | m) + 1, b);
          return;
        }
        if ((b & m) !== m) {
          split(a, (b & ~m) - 1);
          split(b & ~m, b);
          return;
        }
      }
    }
    const ea = encode(a);
    const eb = encode(b);
    out.push(ea.map((x, i): Range => [x, eb[i]!]));
  };
  split(lo, hi);
  return out;
}

const hex = (b: number) => `\\x${b.toString(16).padStart(2, '0')}`;

/** One byte range as an xgrammar class matched by bytes: `[\xe3\xe3]` or `[\x80-\xbf]`. */
const byteClass = ([a, b]: Range) => (a === b ? `[${hex(a)}${hex(a)}]` : `[${hex(a)}-${hex(b)}]`);

/** ASCII ranges as a class (a byte is then a character). */
function asciiClass(ranges: readonly Range[]): string {
  return `[${ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`;
}

/**
 * A set of characters (code point ranges) as the alternatives of a group matching one of them: a
 * class of its ASCII members, and a sequence of byte classes per UTF-8 sub-range beyond ASCII,
 * joined by `sep` (' ' in xgrammar's EBNF, '' in a regular expression, where a space is a character).
 */
export function characterAlternatives(chars: readonly Range[], sep: ' ' | ''): string[] {
  const set = normalize(chars).flatMap(([a, b]) => (b < 0xd800 || a > 0xdfff ? [[a, b] as Range] : complement(complement([[a, b]]))));
  const ascii = set.filter(([a]) => a < 0x80).map(([a, b]): Range => [a, Math.min(b, 0x7f)]);
  const rest = set.filter(([, b]) => b >= 0x80).map(([a, b]): Range => [Math.max(a, 0x80), b]);
  const alts: string[] = [];
  if (ascii.length > 0) alts.push(asciiClass(ascii));
  for (const [a, b] of rest) for (const seq of utf8Sequences(a, b)) alts.push(seq.map(byteClass).join(sep));
  return alts;
}

/**
 * A GBNF class (its members, negated or not) as an xgrammar expression matching one character of
 * it; null if it matches nothing. A class of ASCII members stays a class (negated: the bytes beyond
 * ASCII pass, which ./utf8.ts keeps to whole characters).
 */
export function classExpression(negated: boolean, members: readonly Range[]): string | null {
  if (!members.some(([, b]) => b >= 0x80)) {
    const m = normalize(members);
    if (negated) return asciiClass(m).replace('[', '[^');
    return m.length === 0 ? null : asciiClass(m);
  }
  const alts = characterAlternatives(negated ? complement(members) : members, ' ');
  return alts.length === 0 ? null : `(${alts.join(' | ')})`;
}

export { normalize as normalizeRanges };

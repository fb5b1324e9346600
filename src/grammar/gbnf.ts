/**
 * llama.cpp's GBNF as xgrammar's EBNF. The two are the same notation (rules `name ::= …`, strings,
 * character classes, `( )`, `* + ?`, `{m,n}`, `#` comments) but for one thing: GBNF allows an empty
 * alternative (`ws ::= | " "`, `x ::= ( "a" | )`), which xgrammar's parser rejects ("Expect element").
 * An empty alternative becomes `""` (the empty string). A character class with a member beyond ASCII
 * is rewritten as UTF-8 byte sequences (./charclass.ts: xgrammar 0.1.27 matches such classes byte by
 * byte, wrongly), and no class matches U+0000, as in llama.cpp. Groups nested more than
 * MAX_NESTING deep are refused (xgrammar crashes on them). Nothing else is changed. The scan knows strings, character classes and comments,
 * so a `|` inside them is left alone.
 */
import { CriaError } from '../shared/errors.ts';
import { classExpression, type Range } from './charclass.ts';

/** Groups nested deeper than this are refused: xgrammar's WebAssembly traps near 200 and is unusable afterwards. */
const MAX_NESTING = 100;

/** A GBNF escape at s[i] = '\\' (llama.cpp's decode_escape): its code point and length. */
function escape(s: string, i: number): [number, number] {
  const c = s[i + 1];
  const hexLen = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
  if (hexLen > 0) {
    const h = s.slice(i + 2, i + 2 + hexLen);
    if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(h)) throw new CriaError('bad-argument', `the grammar cannot be used: a malformed escape \\${c}${h} in a character class`);
    return [parseInt(h, 16), 2 + hexLen];
  }
  const simple: Record<string, number> = { t: 9, r: 13, n: 10, '\\': 92, '"': 34, '[': 91, ']': 93 };
  if (c !== undefined && c in simple) return [simple[c]!, 2];
  throw new CriaError('bad-argument', `the grammar cannot be used: unknown escape \\${c ?? ''} in a character class`);
}

/**
 * A GBNF character class (`[...]`, as written) in a form xgrammar matches right, and as llama.cpp
 * reads it: U+0000 never matches (llama.cpp's grammar engine takes it for the end of the text).
 */
function gbnfClass(tok: string): string {
  let i = 1;
  const negated = tok[i] === '^';
  if (negated) i++;
  const end = tok.length - 1; // the closing ']'
  const members: Range[] = [];
  const char = (): number => {
    if (tok[i] === '\\') {
      const [cp, len] = escape(tok, i);
      i += len;
      return cp;
    }
    const cp = tok.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    return cp;
  };
  while (i < end) {
    const a = char();
    if (tok[i] === '-' && i + 1 < end) {
      i++;
      const b = char();
      members.push([a, Math.max(a, b)]);
    } else members.push([a, a]);
  }
  const withoutNul = negated ? [...members, [0, 0] as Range] : members.flatMap(([a, b]): Range[] => (a > 0 ? [[a, b]] : b > 0 ? [[1, b]] : []));
  const e = classExpression(negated, withoutNul);
  if (e === null) throw new CriaError('bad-argument', `the grammar cannot be used: the class ${tok} matches no character (U+0000 never matches, as in llama.cpp)`);
  return e;
}

/** Where a GBNF token begins at `i`: a string, a class, a comment, or anything else (one character). */
function skip(src: string, i: number): number {
  const c = src[i];
  if (c === '"' || c === '[') {
    const close = c === '"' ? '"' : ']';
    let j = i + 1;
    while (j < src.length && src[j] !== close) j += src[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (c === '#') {
    const nl = src.indexOf('\n', i);
    return nl < 0 ? src.length : nl;
  }
  return i + 1;
}

/** Insert `""` into every empty alternative of a GBNF grammar. */
export function gbnfToXgrammar(src: string): string {
  let out = '';
  // whether an element has been seen since the last `::=`, `|` or `(`
  let seen = true;
  let pendingAlt = false;
  let depth = 0;
  for (let i = 0; i < src.length; ) {
    if (src.startsWith('::=', i)) {
      out += '::=';
      i += 3;
      seen = false;
      pendingAlt = true;
      continue;
    }
    const c = src[i]!;
    // a rule definition starts at a name followed by ::= on a new line: the previous alternative ends there
    if (c === '\n') {
      const rest = src.slice(i + 1);
      if (/^\s*[A-Za-z][\w-]*\s*::=/.test(rest) && pendingAlt && !seen) out += ' ""';
      if (/^\s*[A-Za-z][\w-]*\s*::=/.test(rest)) pendingAlt = false;
      out += c;
      i++;
      continue;
    }
    if (c === ')') depth = Math.max(0, depth - 1);
    if (c === '|' || c === ')') {
      if (pendingAlt && !seen) out += '"" ';
      out += c;
      i++;
      seen = c === ')';
      pendingAlt = c === '|';
      continue;
    }
    if (c === '(') {
      if (++depth > MAX_NESTING) {
        throw new CriaError('bad-argument', `the grammar cannot be used: groups are nested more than ${MAX_NESTING} deep (the grammar engine, xgrammar 0.1.27, crashes on deeper nesting); use rules instead`);
      }
      out += c;
      i++;
      seen = false;
      pendingAlt = true;
      continue;
    }
    const j = skip(src, i);
    const tok = src.slice(i, j);
    if (c !== '#' && !/^\s+$/.test(tok)) seen = true;
    out += c === '[' ? gbnfClass(tok) : tok;
    i = j;
  }
  if (pendingAlt && !seen) out += ' ""';
  return out;
}

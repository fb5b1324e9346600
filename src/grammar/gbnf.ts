/**
 * llama.cpp's GBNF as xgrammar's EBNF. The two are the same notation (rules `name ::= …`, strings,
 * character classes, `( )`, `* + ?`, `{m,n}`, `#` comments) but for one thing: GBNF allows an empty
 * alternative (`ws ::= | " "`, `x ::= ( "a" | )`), which xgrammar's parser rejects ("Expect element").
 * An empty alternative becomes `""` (the empty string); nothing else is changed. The scan knows
 * strings, character classes and comments, so a `|` inside them is left alone.
 */

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
    if (c === '|' || c === ')') {
      if (pendingAlt && !seen) out += '"" ';
      out += c;
      i++;
      seen = c === ')';
      pendingAlt = c === '|';
      continue;
    }
    if (c === '(') {
      out += c;
      i++;
      seen = false;
      pendingAlt = true;
      continue;
    }
    const j = skip(src, i);
    const tok = src.slice(i, j);
    if (c !== '#' && !/^\s+$/.test(tok)) seen = true;
    out += tok;
    i = j;
  }
  if (pendingAlt && !seen) out += ' ""';
  return out;
}

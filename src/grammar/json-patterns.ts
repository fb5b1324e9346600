/**
 * JSON Schema strings as patterns xgrammar enforces right (used by ./json-schema.ts).
 *
 * xgrammar matches a pattern against the raw text between a string's quotes, and matches a
 * character class with several members byte by byte (./charclass.ts). So every set of characters a
 * pattern can match is written out here: without the characters a JSON string cannot hold
 * unescaped (then raw text and decoded string agree), and beyond ASCII as UTF-8 byte sequences
 * (then a class matches characters, and a repetition counts them). String lengths and formats
 * become such patterns too.
 */
import { CriaError } from '../shared/errors.ts';
import { characterAlternatives, complement, type Range } from './charclass.ts';

/**
 * String formats, as Cria's own patterns. xgrammar has grammars for these names, but several
 * disagree with RFC 3339 / ajv-formats (date: February 31st; time: a leap second at any minute;
 * date-time: minute 60; ipv4: leading zeros; email: a single-label domain, and quoted local parts
 * written with escapes JSON does not have; json-pointer: raw quotes and control characters). Each
 * pattern here is a subset of what the format allows: dates with February up to the 28th, times
 * with a zone, hostnames of at most three labels, URIs with an authority, no IPv4-in-IPv6.
 */
const H4 = '[0-9a-fA-F]{1,4}';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])';
const DATE = '[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))';
const LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
const PCHAR = "[a-zA-Z0-9._~!$&'()*+,;=@-]";
const QCHAR = "[a-zA-Z0-9._~!$&'()*+,;=:@/?-]";
const HOST = `${LABEL}(\\.${LABEL})*(:[0-9]{1,5})?`;
const VARSPEC = '([a-zA-Z0-9_]|%[0-9a-fA-F]{2})+(:[1-9][0-9]{0,3}|\\*)?';
const FORMAT_PATTERNS: Record<string, string> = {
  date: `^${DATE}$`,
  time: `^${TIME}$`,
  'date-time': `^${DATE}T${TIME}$`,
  duration: '^P(([0-9]+Y([0-9]+M)?([0-9]+D)?|[0-9]+M([0-9]+D)?|[0-9]+D)(T([0-9]+H([0-9]+M)?([0-9]+S)?|[0-9]+M([0-9]+S)?|[0-9]+S))?|T([0-9]+H([0-9]+M)?([0-9]+S)?|[0-9]+M([0-9]+S)?|[0-9]+S)|[0-9]+W)$',
  email: `^[a-zA-Z0-9!#$%&'*+/=?^_\`{|}~-]+(\\.[a-zA-Z0-9!#$%&'*+/=?^_\`{|}~-]+)*@(${LABEL}\\.)+${LABEL}$`,
  hostname: `^${LABEL}(\\.${LABEL}){0,2}$`,
  ipv4: '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$',
  ipv6: `^((${H4}:){7}${H4}|(${H4}:){1,7}:|(${H4}:){1,6}:${H4}|(${H4}:){1,5}(:${H4}){1,2}|(${H4}:){1,4}(:${H4}){1,3}|(${H4}:){1,3}(:${H4}){1,4}|(${H4}:){1,2}(:${H4}){1,5}|${H4}:(:${H4}){1,6}|:((:${H4}){1,7}|:))$`,
  uuid: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  uri: `^[a-zA-Z][a-zA-Z0-9+.-]*://${HOST}(/${PCHAR}*)*(\\?${QCHAR}*)?(#${QCHAR}*)?$`,
  'uri-reference': `^(([a-zA-Z][a-zA-Z0-9+.-]*:)?//${HOST})?(/?${PCHAR}+(/${PCHAR}*)*)?(\\?${QCHAR}*)?(#${QCHAR}*)?$`,
  'uri-template': `^([!#$&(-;=?-\\[\\]_a-z~]|%[0-9a-fA-F]{2}|\\{[+#./;?&=,!@|]?${VARSPEC}(,${VARSPEC})*\\})*$`,
  'json-pointer': '^(/([^~/]|~[01])*)*$',
  'relative-json-pointer': '^(0|[1-9][0-9]*)(#|(/([^~/]|~[01])*)*)$',
};
/** String formats Cria enforces. */
export const FORMATS = Object.keys(FORMAT_PATTERNS);

/** A format's pattern, as xgrammar should see it. */
export function formatPattern(format: string): string {
  return plainPattern(FORMAT_PATTERNS[format]!, (m) => {
    throw new CriaError('internal', `the pattern of format ${format}: ${m}`);
  });
}

/** A string of min to max characters (max undefined: no limit), each one a JSON string holds unescaped. */
export function lengthPattern(min: number, max: number | undefined): string {
  const char = oneOf(complement([]), (m) => {
    throw new CriaError('internal', m);
  }, 'a string');
  return `^${char}{${min},${max ?? ''}}$`;
}



/** Characters a JSON string cannot hold unescaped: U+0000–U+001F, '"' and '\\'. */
const FORBIDDEN: Range[] = [[0x00, 0x1f], [0x22, 0x22], [0x5c, 0x5c]];
/** ECMAScript's \s */
const WHITESPACE: Range[] = [[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]];
const DIGIT: Range[] = [[0x30, 0x39]];
const WORD: Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
/** what "." leaves out (no s flag): the line terminators */
const LINE_TERMINATORS: Range[] = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];
const NAMED: Record<string, Range[]> = { d: DIGIT, w: WORD, s: WHITESPACE };

/** A set of ranges minus another. */
function minus(a: readonly Range[], b: readonly Range[]): Range[] {
  return complement([...complement(a), ...b]);
}

/**
 * A group matching one character of the set, or a refusal if it is empty: ASCII as a class (escaped),
 * beyond ASCII as UTF-8 byte sequences (charclass.ts: xgrammar 0.1.27 matches classes with such
 * members byte by byte, wrongly).
 */
function oneOf(chars: readonly Range[], refuse: (m: string) => never, what: string): string {
  const alts = characterAlternatives(minus(chars, FORBIDDEN), '');
  if (alts.length === 0) refuse(`${what} holds only characters a JSON string cannot hold unescaped`);
  // grouped unless a single class, so that a quantifier after it takes the whole character
  return alts.length === 1 && !alts[0]!.includes('][') ? alts[0]! : `(?:${alts.join('|')})`;
}

/**
 * A pattern as xgrammar should see it. xgrammar matches a pattern against the raw text between the
 * string's quotes, where JSON Schema means the decoded string: the two agree when the text holds
 * no escape, so every character the pattern can match is kept to those a JSON string holds
 * unescaped (no U+0000–U+001F, '"' or '\\'): ".", classes and \s \S \d \D \w \W lose them, and a
 * pattern that asks for one of them literally (\n, \", \\) is refused. Every set of characters is
 * written out (oneOf), so those beyond ASCII are matched right.
 */
export function plainPattern(p: string, refuse: (m: string) => never): string {
  let out = '';
  let i = 0;
  const escape = (at: number): { cp?: number; named?: Range[]; len: number; text: string } => {
    const c = p[at + 1];
    if (c === undefined) refuse('it ends with a lone backslash');
    if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(p.slice(at + 2, at + 4))) return { cp: parseInt(p.slice(at + 2, at + 4), 16), len: 4, text: p.slice(at, at + 4) };
    if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(p.slice(at + 2, at + 6))) return { cp: parseInt(p.slice(at + 2, at + 6), 16), len: 6, text: p.slice(at, at + 6) };
    if (c === 'u' && p[at + 2] === '{') {
      const close = p.indexOf('}', at);
      const cp = parseInt(p.slice(at + 3, close), 16);
      if (close < 0 || !Number.isFinite(cp)) refuse(`a malformed escape at ${at}`);
      return { cp, len: close - at + 1, text: String.fromCodePoint(cp) };
    }
    const controls: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    if (c in controls) return { cp: controls[c], len: 2, text: p.slice(at, at + 2) };
    if (c === 'c') refuse('a control-character escape (\\c) asks for a character a JSON string cannot hold unescaped');
    if (c in NAMED) return { named: NAMED[c], len: 2, text: p.slice(at, at + 2) };
    if (c.toLowerCase() in NAMED && c !== c.toLowerCase()) return { named: complement(NAMED[c.toLowerCase()]!), len: 2, text: p.slice(at, at + 2) };
    if (/[bBkpP1-9]/.test(c)) return { len: 2, text: p.slice(at, at + 2) };
    const cp = c.codePointAt(0)!;
    const len = 1 + (cp > 0xffff ? 2 : 1);
    return { cp, len, text: p.slice(at, at + len) };
  };
  const literal = (cp: number, text: string) => {
    if (FORBIDDEN.some(([a, b]) => cp >= a && cp <= b)) refuse(`it asks for ${JSON.stringify(String.fromCodePoint(cp))}, which a JSON string cannot hold unescaped (the grammar engine matches the raw text)`);
    return text;
  };
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      const e = escape(i);
      if (e.cp !== undefined) out += literal(e.cp, e.text);
      else if (e.named) out += oneOf(e.named, refuse, `\\${p[i + 1]}`);
      else out += e.text;
      i += e.len;
    } else if (c === '.') {
      out += oneOf(complement(LINE_TERMINATORS), refuse, '"."');
      i++;
    } else if (c === '[') {
      const [text, end] = characterClass(p, i, escape, refuse);
      out += text;
      i = end;
    } else {
      const cp = p.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      out += literal(cp, p.slice(i, i + len));
      i += len;
    }
  }
  return out;
}

/** A character class at p[start] = '[': what it matches, written out, and where it ends. */
function characterClass(p: string, start: number, escape: (at: number) => { cp?: number; named?: Range[]; len: number }, refuse: (m: string) => never): [string, number] {
  let i = start + 1;
  const negated = p[i] === '^';
  if (negated) i++;
  const members: Range[] = [];
  const body0 = i;
  const item = (): number | undefined => {
    if (p[i] === '\\') {
      const e = escape(i);
      const k = p[i + 1]!;
      i += e.len;
      if (e.cp !== undefined) return e.cp;
      if (e.named) members.push(...e.named);
      else refuse(`\\${k} inside a character class is not supported`);
      return undefined;
    }
    const cp = p.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    return cp;
  };
  if (p[i] === ']') refuse('an empty character class');
  while (i < p.length && p[i] !== ']') {
    const a = item();
    if (a === undefined) continue;
    if (p[i] === '-' && p[i + 1] !== ']' && i + 1 < p.length) {
      i++;
      const b = item();
      if (b === undefined || b < a) refuse('a character class range out of order');
      members.push([a, b!]);
    } else members.push([a, a]);
  }
  if (p[i] !== ']' || i === body0 - 1) refuse('an unclosed character class');
  return [oneOf(negated ? complement(members) : members, refuse, `the class ${p.slice(start, i + 1)}`), i + 1];
}

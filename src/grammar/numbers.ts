/**
 * Grammars (xgrammar's EBNF) for JSON numbers in a range, written here because xgrammar 0.1.27
 * compiles JSON Schema's numeric bounds wrongly (integer ranges let values through on either side;
 * bounds on non-integer numbers take any character for the ".") and lets unbounded numbers grow
 * past what a double holds ("9E+48368715" parses to Infinity).
 *
 * Numbers are written the canonical JSON way: `-`, an integer part without leading zeros, a
 * fraction; never "-0". They stay finite: a number without bounds has at most 16 integer digits and
 * an exponent of at most two (as llama.cpp's json.gbnf); an integer without bounds, or the side of a
 * range without a bound, at most 19 digits (int64's; more if the other bound has more). Bounded
 * numbers take no exponent. (A long repetition costs xgrammar time to compile: {0,307} ~85 ms.)
 *
 * A bound is read as the decimal its double prints as (the shortest form). A value is kept inside
 * an inclusive bound in exact decimal arithmetic, hence inside after rounding to a double (rounding
 * is monotonic and the bound is a double). An exclusive bound becomes the inclusive bound of the
 * next double inward, so no value can round onto the bound it must stay off.
 *
 * The grammars are digit automata written as rules, one per state (how far the digits still
 * follow a bound's), so that nothing nests deeply: xgrammar's WebAssembly build crashes on deeply
 * nested expressions.
 */

/** digits of an integer part without a bound */
const MAX_DIGITS = 19;

/** A non-negative decimal: integer digits (canonical) and fraction digits (no trailing zeros). */
export interface Decimal {
  int: string;
  frac: string;
}

const ZERO: Decimal = { int: '0', frac: '' };
/** the magnitude a number without a bound on that side stays within: MAX_DIGITS, or as many as the other bound has */
const unbounded = (other: Decimal): Decimal => ({ int: '9'.repeat(Math.max(MAX_DIGITS, other.int.length)), frac: '' });

/** The shortest decimal of a finite double's magnitude, without exponent. */
export function decimalOf(v: number): Decimal {
  const [mant, expPart] = Math.abs(v).toExponential().split('e') as [string, string];
  // toExponential() without a digit count: the shortest form that reads back as the same double
  const digits = mant.replace('.', '');
  const point = Number(expPart) + 1; // digits before the decimal point
  let int: string;
  let frac: string;
  if (point <= 0) [int, frac] = ['0', '0'.repeat(-point) + digits];
  else if (point >= digits.length) [int, frac] = [digits + '0'.repeat(point - digits.length), ''];
  else [int, frac] = [digits.slice(0, point), digits.slice(point)];
  return { int: int.replace(/^0+(?=\d)/, ''), frac: frac.replace(/0+$/, '') };
}

/** The next double toward +∞ (up) or −∞. */
export function nextDouble(v: number, up: boolean): number {
  if (v === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  const b = new Float64Array([v]);
  const i = new BigInt64Array(b.buffer);
  i[0] += (v > 0) === up ? 1n : -1n;
  return b[0]!;
}

/** Where rules go, and fresh names for them. */
class Rules {
  private n = 0;
  constructor(
    private readonly prefix: string,
    readonly out: string[],
  ) {}
  add(body: string): string {
    const id = `${this.prefix}_${this.n++}`;
    this.out.push(`${id} ::= ${body}`);
    return id;
  }
}

const digits = (n: number) => (n === 0 ? '""' : `[0-9]{${n}}`);
const cls = (a: number, b: number) => (a === b ? `"${a}"` : `[${a}-${b}]`);
const seq = (...parts: string[]) => parts.filter((p) => p !== '""').join(' ') || '""';

/** Digit strings of s's length that are ≥ s. */
function atLeast(s: string, r: Rules): string {
  if (/^0*$/.test(s)) return digits(s.length);
  const d = Number(s[0]);
  const alts = [seq(`"${d}"`, atLeast(s.slice(1), r))];
  if (d < 9) alts.push(seq(cls(d + 1, 9), digits(s.length - 1)));
  return r.add(alts.join(' | '));
}

/** Digit strings of s's length that are ≤ s. */
function atMost(s: string, r: Rules): string {
  if (/^9*$/.test(s)) return digits(s.length);
  const d = Number(s[0]);
  const alts = [seq(`"${d}"`, atMost(s.slice(1), r))];
  if (d > 0) alts.push(seq(cls(0, d - 1), digits(s.length - 1)));
  return r.add(alts.join(' | '));
}

/** Digit strings of lo's length from lo to hi. */
function sameLength(lo: string, hi: string, r: Rules): string {
  let p = 0;
  while (p < lo.length && lo[p] === hi[p]) p++;
  const prefix = lo.slice(0, p) === '' ? '""' : `"${lo.slice(0, p)}"`;
  if (p === lo.length) return prefix;
  const a = Number(lo[p]);
  const b = Number(hi[p]);
  const rest = lo.length - p - 1;
  const alts = [seq(`"${a}"`, atLeast(lo.slice(p + 1), r))];
  if (a + 1 <= b - 1) alts.push(seq(cls(a + 1, b - 1), digits(rest)));
  alts.push(seq(`"${b}"`, atMost(hi.slice(p + 1), r)));
  return seq(prefix, `(${alts.join(' | ')})`);
}

const cmpInt = (a: string, b: string) => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0);
const plusOne = (s: string) => (BigInt(s) + 1n).toString();
const minusOne = (s: string) => (BigInt(s) - 1n).toString();

/** Canonical non-negative integers from lo to hi (digit strings, lo ≤ hi). */
function integers(lo: string, hi: string, r: Rules): string {
  if (lo.length === hi.length) return sameLength(lo, hi, r);
  const alts = [sameLength(lo, '9'.repeat(lo.length), r)];
  if (hi.length - lo.length > 1) alts.push(`[1-9] [0-9]{${lo.length},${hi.length - 2}}`);
  alts.push(sameLength('1' + '0'.repeat(hi.length - 1), hi, r));
  return `(${alts.join(' | ')})`;
}

/** A fraction's lower state besides digits: past the bound (null), or a nonzero digit still needed. */
const POSITIVE = '+';

/**
 * Fraction digits F (after the point) with lo ≤ 0.F ≤ hi (lo POSITIVE: 0 < 0.F; null: no bound),
 * as a digit automaton: each state is how far F still follows lo's and hi's digits. Returns the
 * fraction with its "." (optional where F may be empty), or undefined if none fits.
 */
function fraction(lo: string | null, hi: string | null, r: Rules): string | undefined {
  const ids = new Map<string, string>();
  // F may end here (the rest zeros): not below lo; never above hi (hi's rest is ≥ 0)
  const endOk = (l: string | null) => l === null || l === '';
  const next = (l: string | null, h: string | null, c: number): [string | null, string | null] | undefined => {
    let nl = l;
    if (l === POSITIVE) nl = c > 0 ? null : POSITIVE;
    else if (l !== null) {
      const d = Number(l[0] ?? '0');
      if (c < d) return undefined;
      nl = c > d ? null : l.slice(1);
    }
    let nh = h;
    if (h !== null) {
      const d = Number(h[0] ?? '0');
      if (c > d) return undefined;
      nh = c < d ? null : h.slice(1);
    }
    return [nl, nh];
  };
  const transitions = (l: string | null, h: string | null): string[] => {
    // digits leading to the same state (they are consecutive) as one class
    const groups = new Map<string, number[]>();
    for (let c = 0; c <= 9; c++) {
      const n = next(l, h, c);
      if (!n) continue;
      const key = `${n[0]}|${n[1]}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(c);
    }
    return [...groups.values()].map((cs) => {
      const n = next(l, h, cs[0]!)!;
      return seq(cls(cs[0]!, cs[cs.length - 1]!), state(n[0], n[1]));
    });
  };
  const state = (l: string | null, h: string | null): string => {
    if (l === null && h === null) return '[0-9]*';
    if (l === POSITIVE && h === null) return '"0"* [1-9] [0-9]*';
    if (h === null && l !== null && /^00/.test(l)) {
      // a run of zeros in the lower bound: a nonzero digit inside it is past the bound
      const k = /^0+/.exec(l)![0].length;
      return `("0"{0,${k - 1}} [1-9] [0-9]* | "0"{${k}} ${state(l.slice(k), null)})`;
    }
    const key = `${l}|${h}`;
    let id = ids.get(key);
    if (id) return id;
    id = r.add('""'); // placeholder name, body filled below
    ids.set(key, id);
    const alts = transitions(l, h);
    if (endOk(l)) alts.unshift('""');
    const i = r.out.findIndex((x) => x.startsWith(`${id} ::= `));
    r.out[i] = `${id} ::= ${alts.join(' | ') || '""'}`;
    return id;
  };
  const first = transitions(lo, hi);
  const dot = first.length > 0 ? `("." (${first.join(' | ')}))` : undefined;
  if (endOk(lo)) return dot ? `${dot}?` : '""';
  return dot;
}

/** Non-negative decimals y with lo ≤ y ≤ hi (and 0 < y when `positive`), no exponent. */
function nonNegative(lo: Decimal, hi: Decimal | undefined, positive: boolean, r: Rules): string | undefined {
  const loFrac = positive && lo.int === '0' && lo.frac === '' ? POSITIVE : lo.frac;
  const top = hi ?? unbounded(lo);
  if (hi === undefined && cmpInt(lo.int, top.int) === 0) return `"${lo.int}" ${fraction(loFrac, null, r) ?? '""'}`;
  const hiFrac = hi === undefined ? null : hi.frac;
  if (cmpInt(lo.int, top.int) === 0) {
    const f = fraction(loFrac, hiFrac, r);
    return f === undefined ? undefined : seq(`"${lo.int}"`, f);
  }
  const alts: string[] = [];
  const atLo = fraction(loFrac, null, r);
  if (atLo !== undefined) alts.push(seq(`"${lo.int}"`, atLo));
  const mid = plusOne(lo.int);
  // without a bound, the integer part runs up to its most digits with any fraction
  const midHi = hi === undefined ? top.int : minusOne(hi.int);
  if (cmpInt(mid, midHi) <= 0) alts.push(`${integers(mid, midHi, r)} ("." [0-9]+)?`);
  if (hi !== undefined) {
    const atHi = fraction(null, hi.frac, r);
    if (atHi !== undefined) alts.push(seq(`"${hi.int}"`, atHi));
  }
  return alts.length === 0 ? undefined : `(${alts.join(' | ')})`;
}

export interface Bound {
  value: number;
  exclusive: boolean;
}

/**
 * A JSON number (integer: whole numbers only) within the bounds, as EBNF: `rules` receives the rules
 * it needs (named from `name`); returns the expression, or undefined if no value fits.
 */
export function numberGrammar(lo: Bound | undefined, hi: Bound | undefined, integer: boolean, name: string, rules: string[]): string | undefined {
  if (lo === undefined && hi === undefined) {
    return integer ? `("0" | "-"? [1-9] [0-9]{0,${MAX_DIGITS - 1}})` : `("-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]+)? ([eE] [+-]? [0-9]{1,2})?)`;
  }
  const r = new Rules(name, rules);
  // inclusive bounds: the next double inward for an exclusive one
  let min = lo === undefined ? undefined : lo.exclusive ? nextDouble(lo.value, true) : lo.value;
  let max = hi === undefined ? undefined : hi.exclusive ? nextDouble(hi.value, false) : hi.value;
  if (integer) {
    min = min === undefined ? undefined : Math.ceil(min);
    max = max === undefined ? undefined : Math.floor(max);
  }
  if (min !== undefined && max !== undefined && !(min <= max)) return undefined;
  const alts: string[] = [];
  if (max === undefined || max >= 0) {
    // non-negative values
    const from = min === undefined || min <= 0 ? ZERO : decimalOf(min);
    const to = max === undefined ? undefined : decimalOf(max);
    const e = integer ? integers(from.int, (to ?? unbounded(from)).int, r) : nonNegative(from, to, false, r);
    if (e) alts.push(e);
  }
  if (min === undefined || min < 0) {
    // negative values: "-" and a magnitude > 0 (never "-0")
    const positive = max === undefined || max >= 0;
    const magLo = positive ? ZERO : decimalOf(max!);
    const magHi = min === undefined ? undefined : decimalOf(min);
    if (integer) alts.push(`"-" ${integers(positive ? '1' : magLo.int, (magHi ?? unbounded(magLo)).int, r)}`);
    else {
      const e = nonNegative(magLo, magHi, positive, r);
      if (e) alts.push(`"-" ${e}`);
    }
  }
  return alts.length === 0 ? undefined : alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
}

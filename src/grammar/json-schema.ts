/**
 * The JSON Schemas Cria enforces, and how they reach xgrammar.
 *
 * xgrammar 0.1.27 compiles more of JSON Schema than it enforces: some keywords it ignores
 * (multipleOf, not, if/then/else, uniqueItems, contains, dependentRequired, allOf of several, the
 * siblings of enum/const/anyOf, string lengths beside a format or pattern), some it gets wrong
 * (integer ranges, bounds on numbers, unbounded numbers that overflow to Infinity; raw control
 * characters in a length-bounded string and raw quotes in a pattern's classes, which JSON forbids;
 * format grammars that disagree with RFC 3339 and ajv-formats; oneOf is anyOf). Each would let an
 * answer through that the schema rejects, so Cria accepts a subset, checked here before any token:
 *
 * - `type` string: `minLength`/`maxLength`, or a `pattern`, or a `format` (FORMATS), one of the three;
 * - `type` integer and number: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`;
 * - `type` boolean, null: nothing;
 * - `type` array: `items`, `prefixItems`, `minItems`, `maxItems` (`uniqueItems: false`);
 * - `type` object: `properties` (names without quote, backslash or control character), `required`
 *   (names among the properties), `additionalProperties`;
 * - a list of types (each with its own keywords), `enum`, `const` (with `type` beside them), `anyOf`,
 *   `$ref` to `#` or into `$defs`/`definitions`;
 * - annotations anywhere (title, description, examples, default, …).
 *
 * Anything else is a `bad-argument` naming the place (a JSON pointer) and the keyword; an unknown
 * keyword too, since a typo would otherwise change nothing, quietly.
 *
 * What reaches xgrammar is rewritten so that xgrammar's part is only what it does right: numbers
 * become placeholders whose grammars Cria writes (numbers.ts, spliced in by spliceNumbers); string
 * lengths and formats become patterns, and patterns keep to the characters a JSON string holds
 * unescaped (plainPattern); an enum beside a type keeps only its values of that type; a list of
 * types becomes an anyOf. Answers are a subset of what the schema accepts (no escapes in a
 * length-bounded or patterned string; formats a little narrower, see json-patterns.ts; at most 19
 * integer digits where no bound says otherwise).
 */
import { CriaError } from '../shared/errors.ts';
import { FORMATS, formatPattern, lengthPattern, plainPattern } from './json-patterns.ts';
import { numberGrammar, type Bound } from './numbers.ts';

type Schema = Record<string, unknown>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$schema', '$id', 'contentMediaType']);
const TYPES = ['string', 'integer', 'number', 'boolean', 'null', 'object', 'array'] as const;
type TypeName = (typeof TYPES)[number];
const KEYWORDS: Record<TypeName, readonly string[]> = {
  string: ['minLength', 'maxLength', 'pattern', 'format'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  number: [],
  boolean: [],
  null: [],
  array: ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems'],
  object: ['properties', 'required', 'additionalProperties'],
};
const TYPED = new Set(Object.values(KEYWORDS).flat());

/** Keywords Cria knows of and refuses, with the reason. */
const REFUSED: Record<string, string> = {
  multipleOf: 'is not enforced by the grammar engine',
  not: 'is not enforced by the grammar engine',
  allOf: 'is not enforced by the grammar engine; merge its schemas into one',
  oneOf: 'is not enforced (the grammar engine cannot make the choices exclusive); use anyOf',
  if: 'is not enforced by the grammar engine',
  then: 'is not enforced by the grammar engine',
  else: 'is not enforced by the grammar engine',
  contains: 'is not enforced by the grammar engine',
  minContains: 'is not enforced by the grammar engine',
  maxContains: 'is not enforced by the grammar engine',
  unevaluatedItems: 'is not enforced by the grammar engine',
  unevaluatedProperties: 'is not enforced by the grammar engine',
  minProperties: 'is not enforced by the grammar engine; list the properties and make them required',
  maxProperties: 'is not enforced by the grammar engine',
  patternProperties: 'is not enforced by the grammar engine; list the properties',
  propertyNames: 'is not enforced by the grammar engine; list the properties',
  dependentRequired: 'is not enforced by the grammar engine',
  dependentSchemas: 'is not enforced by the grammar engine',
  dependencies: 'is not enforced by the grammar engine',
  contentEncoding: 'is not enforced by the grammar engine',
  contentSchema: 'is not enforced by the grammar engine',
  $dynamicRef: 'is not supported; use $ref',
  $recursiveRef: 'is not supported; use $ref',
};

/** what JSON lets a string hold unescaped: a length-bounded string is these characters only */

function fail(what: string, at: string, message: string): never {
  throw new CriaError('bad-argument', `${what}: at ${at || '/'}: ${message}`, { pointer: at || '/' });
}

const ptr = (at: string, key: string | number) => `${at}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonType(v: unknown): TypeName[] {
  if (v === null) return ['null'];
  if (typeof v === 'boolean') return ['boolean'];
  if (typeof v === 'number') return Number.isInteger(v) ? ['integer', 'number'] : ['number'];
  if (typeof v === 'string') return ['string'];
  return Array.isArray(v) ? ['array'] : ['object'];
}

/** A number's place in the schema given to xgrammar: a const string, replaced in its grammar by ours. */
interface NumberSlot {
  sentinel: string;
  lo?: Bound;
  hi?: Bound;
  integer: boolean;
}

interface Ctx {
  what: string;
  prefix: string;
  numbers: NumberSlot[];
  /** schemas inside schemas so far */
  depth: number;
}

/** Schemas nested deeper than this are refused: xgrammar's WebAssembly traps near 100 and is unusable afterwards. */
const MAX_DEPTH = 32;

/** A schema as xgrammar gets it, and the numbers whose grammars Cria writes (spliceNumbers). */
export interface PreparedSchema {
  schema: Schema;
  numbers: NumberSlot[];
}

/**
 * Check a schema against Cria's subset and rewrite it for xgrammar; `what` begins the error
 * message ('the JSON Schema "person" cannot be enforced'). Numbers become placeholders (const
 * strings) that spliceNumbers replaces in xgrammar's grammar.
 */
export function schemaForXgrammar(schema: unknown, what: string): PreparedSchema {
  if (!isObject(schema)) fail(what, '', 'a schema must be an object');
  // a placeholder no const of the schema can equal
  const text = JSON.stringify(schema);
  let prefix = 'cria-number-';
  for (let k = 0; text.includes(prefix); k++) prefix = `cria-number-${k}-`;
  const cx: Ctx = { what, prefix, numbers: [], depth: 0 };
  const out = node(schema, '', cx, true);
  return { schema: isObject(out) ? out : {}, numbers: cx.numbers };
}

/**
 * xgrammar's grammar of a prepared schema with Cria's number grammars in place of the placeholders,
 * and its own rules for numbers inside free JSON values (json_object, a schema without type) kept
 * finite. Fails if a placeholder is not found once.
 */
export function spliceNumbers(ebnf: string, numbers: readonly NumberSlot[], what: string): string {
  const rules: string[] = [];
  let out = ebnf
    .replace(/^basic_integer ::= .*$/m, `basic_integer ::= ${numberGrammar(undefined, undefined, true, 'cria_int', rules)}`)
    .replace(/^basic_number ::= .*$/m, `basic_number ::= ${numberGrammar(undefined, undefined, false, 'cria_num', rules)}`);
  numbers.forEach((n, i) => {
    const literal = `"\\"${n.sentinel}\\""`;
    if (!out.includes(literal)) throw new CriaError('internal', `${what}: the grammar engine's grammar lost a number (${n.sentinel})`);
    const name = `cria_number_${i}`;
    const expr = numberGrammar(n.lo, n.hi, n.integer, name, rules);
    if (expr === undefined) fail(what, '', 'internal: an empty number range reached the grammar');
    rules.push(`${name} ::= ${expr}`);
    out = out.split(literal).join(name);
  });
  return `${out.trimEnd()}\n${rules.join('\n')}\n`;
}

function node(s: unknown, at: string, cx: Ctx, root = false): Schema | boolean {
  if (cx.depth >= MAX_DEPTH) fail(cx.what, at, `schemas are nested more than ${MAX_DEPTH} deep (the grammar engine, xgrammar 0.1.27, crashes on deeper nesting)`);
  cx.depth++;
  try {
    return nodeBody(s, at, cx, root);
  } finally {
    cx.depth--;
  }
}

function nodeBody(s: unknown, at: string, cx: Ctx, root: boolean): Schema | boolean {
  if (s === true) return true;
  if (s === false) fail(cx.what, at, 'the schema false accepts nothing');
  if (!isObject(s)) fail(cx.what, at, `a schema must be an object or a boolean, got ${JSON.stringify(s)?.slice(0, 40)}`);
  const keys = Object.keys(s);
  for (const k of keys) {
    if (k in REFUSED) fail(cx.what, at, `"${k}" ${REFUSED[k]}`);
    if (!ANNOTATIONS.has(k) && !TYPED.has(k) && !['type', 'enum', 'const', 'anyOf', '$ref', '$defs', 'definitions'].includes(k)) {
      fail(cx.what, at, `unknown keyword "${k}" (Cria enforces type, enum, const, anyOf, $ref, and per type: ${TYPES.map((t) => `${t}: ${KEYWORDS[t].join(', ') || 'none'}`).join('; ')})`);
    }
    if ((k === '$defs' || k === 'definitions') && !root) fail(cx.what, at, `"${k}" belongs at the schema's root`);
  }
  const out: Schema = {};
  for (const k of ['$defs', 'definitions']) {
    if (s[k] === undefined) continue;
    if (!isObject(s[k])) fail(cx.what, ptr(at, k), `"${k}" must be an object of schemas`);
    out[k] = Object.fromEntries(Object.entries(s[k]).map(([name, d]) => [name, node(d, ptr(ptr(at, k), name), cx)]));
  }
  const constraining = keys.filter((k) => !ANNOTATIONS.has(k) && k !== '$defs' && k !== 'definitions');
  const only = (k: string, allowed: string[]) => {
    const other = constraining.find((x) => x !== k && !allowed.includes(x));
    if (other) fail(cx.what, at, `"${other}" beside "${k}" is not enforced by the grammar engine; put the constraints inside "${k}"`);
  };

  if (s.$ref !== undefined) {
    only('$ref', []);
    if (typeof s.$ref !== 'string' || !/^#($|\/(\$defs|definitions)\/[^/]+$)/.test(s.$ref)) fail(cx.what, at, `"$ref" ${JSON.stringify(s.$ref)}: only "#" and "#/$defs/<name>" (or definitions) are supported`);
    return { ...out, $ref: s.$ref };
  }
  if (s.anyOf !== undefined) {
    only('anyOf', []);
    if (!Array.isArray(s.anyOf) || s.anyOf.length === 0) fail(cx.what, ptr(at, 'anyOf'), '"anyOf" must be a non-empty list of schemas');
    return { ...out, anyOf: s.anyOf.map((x, i) => node(x, ptr(ptr(at, 'anyOf'), i), cx)) };
  }
  if (s.enum !== undefined || s.const !== undefined) return { ...out, ...values(s, at, cx, only) };

  const types = s.type === undefined ? undefined : Array.isArray(s.type) ? s.type : [s.type];
  if (types === undefined) {
    const typed = constraining.find((k) => TYPED.has(k));
    if (typed) fail(cx.what, at, `"${typed}" without a "type": give the type it constrains`);
    return out; // any JSON value
  }
  if (types.length === 0 || types.some((t) => !TYPES.includes(t as TypeName)) || new Set(types).size !== types.length) {
    fail(cx.what, ptr(at, 'type'), `"type" ${JSON.stringify(s.type)}: the types are ${TYPES.join(', ')} (or a list of distinct ones)`);
  }
  if (types.length > 1) {
    // each type with its own keywords, as JSON Schema reads a list of types
    return { ...out, anyOf: (types as TypeName[]).map((t) => typed(t, s, at, cx)) };
  }
  return { ...out, ...typed(types[0] as TypeName, s, at, cx) };
}

/** enum / const, with the values of the sibling `type` only. */
function values(s: Schema, at: string, cx: Ctx, only: (k: string, allowed: string[]) => void): Schema {
  const k = s.enum !== undefined ? 'enum' : 'const';
  only(k, ['type']);
  if (s.enum !== undefined && s.const !== undefined) fail(cx.what, at, '"enum" and "const" together: give one');
  const list = (k === 'enum' ? s.enum : [s.const]) as Json[];
  if (!Array.isArray(list) || list.length === 0) fail(cx.what, ptr(at, k), '"enum" must be a non-empty list of values');
  if (s.type === undefined) return k === 'enum' ? { enum: list } : { const: s.const };
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.some((t) => !TYPES.includes(t as TypeName))) fail(cx.what, ptr(at, 'type'), `"type" ${JSON.stringify(s.type)}: the types are ${TYPES.join(', ')}`);
  const kept = list.filter((v) => jsonType(v).some((t) => types.includes(t)));
  if (kept.length === 0) fail(cx.what, ptr(at, k), `no value of "${k}" is of type ${types.join(' or ')}: nothing can be answered`);
  return { enum: kept };
}

/** The schema of one type, with that type's keywords (others ignored, as for a list of types). */
function typed(t: TypeName, s: Schema, at: string, cx: Ctx): Schema {
  switch (t) {
    case 'string':
      return stringSchema(s, at, cx);
    case 'integer':
      return numberSchema(s, at, cx, true);
    case 'number':
      return numberSchema(s, at, cx, false);
    case 'boolean':
    case 'null':
      return { type: t };
    case 'array':
      return arraySchema(s, at, cx);
    case 'object':
      return objectSchema(s, at, cx);
  }
}

function count(s: Schema, k: string, at: string, cx: Ctx): number | undefined {
  const v = s[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(cx.what, ptr(at, k), `"${k}" must be a whole number ≥ 0, got ${JSON.stringify(v)}`);
  return v;
}

function stringSchema(s: Schema, at: string, cx: Ctx): Schema {
  const min = count(s, 'minLength', at, cx);
  const max = count(s, 'maxLength', at, cx);
  const lengths = min !== undefined || max !== undefined;
  if (s.format !== undefined) {
    if (typeof s.format !== 'string' || !FORMATS.includes(s.format)) {
      fail(cx.what, ptr(at, 'format'), `format ${JSON.stringify(s.format)} is not enforced; the formats are ${FORMATS.join(', ')}`);
    }
    if (lengths || s.pattern !== undefined) fail(cx.what, at, `"${lengths ? (min !== undefined ? 'minLength' : 'maxLength') : 'pattern'}" beside "format" is not enforced by the grammar engine; give one of them`);
    return { type: 'string', pattern: formatPattern(s.format) };
  }
  if (s.pattern !== undefined) {
    if (typeof s.pattern !== 'string') fail(cx.what, ptr(at, 'pattern'), '"pattern" must be a regular expression (a string)');
    if (lengths) fail(cx.what, at, `"${min !== undefined ? 'minLength' : 'maxLength'}" beside "pattern" is not enforced by the grammar engine; write the length into the pattern`);
    return { type: 'string', pattern: plainPattern(s.pattern, (m) => fail(cx.what, ptr(at, 'pattern'), `pattern ${JSON.stringify(s.pattern)}: ${m}`)) };
  }
  if (!lengths) return { type: 'string' };
  if (min !== undefined && max !== undefined && min > max) fail(cx.what, at, `minLength ${min} is greater than maxLength ${max}: no string fits`);
  return { type: 'string', pattern: lengthPattern(min ?? 0, max) };
}

/** A number or an integer and its bounds: a placeholder for Cria's grammar (numbers.ts). */
function numberSchema(s: Schema, at: string, cx: Ctx, integer: boolean): Schema {
  const num = (k: string) => {
    const v = s[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(cx.what, ptr(at, k), `"${k}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const pick = (inclusive: string, exclusive: string, tighter: (a: number, b: number) => boolean): Bound | undefined => {
    const a = num(inclusive);
    const b = num(exclusive);
    if (a === undefined) return b === undefined ? undefined : { value: b, exclusive: true };
    if (b === undefined) return { value: a, exclusive: false };
    return tighter(b, a) || a === b ? { value: b, exclusive: true } : { value: a, exclusive: false };
  };
  const lo = pick('minimum', 'exclusiveMinimum', (x, y) => x > y);
  const hi = pick('maximum', 'exclusiveMaximum', (x, y) => x < y);
  const probe: string[] = [];
  if (numberGrammar(lo, hi, integer, 'probe', probe) === undefined) {
    const bounds = ['minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum'].filter((k) => s[k] !== undefined).map((k) => `${k} ${s[k]}`);
    fail(cx.what, at, `there is no ${integer ? 'integer' : 'number'} within ${bounds.join(', ')}: nothing can be answered`);
  }
  const sentinel = `${cx.prefix}${cx.numbers.length}`;
  cx.numbers.push({ sentinel, ...(lo ? { lo } : {}), ...(hi ? { hi } : {}), integer });
  return { const: sentinel };
}

function arraySchema(s: Schema, at: string, cx: Ctx): Schema {
  if (s.uniqueItems !== undefined && s.uniqueItems !== false) fail(cx.what, ptr(at, 'uniqueItems'), '"uniqueItems" is not enforced by the grammar engine');
  const min = count(s, 'minItems', at, cx);
  const max = count(s, 'maxItems', at, cx);
  if (min !== undefined && max !== undefined && min > max) fail(cx.what, at, `minItems ${min} is greater than maxItems ${max}: no list fits`);
  const out: Schema = { type: 'array' };
  if (s.prefixItems !== undefined) {
    if (!Array.isArray(s.prefixItems)) fail(cx.what, ptr(at, 'prefixItems'), '"prefixItems" must be a list of schemas');
    out.prefixItems = s.prefixItems.map((x, i) => node(x, ptr(ptr(at, 'prefixItems'), i), cx));
  }
  if (s.items !== undefined) out.items = s.items === false ? false : node(s.items, ptr(at, 'items'), cx);
  if (min !== undefined) out.minItems = min;
  if (max !== undefined) out.maxItems = max;
  return out;
}

function objectSchema(s: Schema, at: string, cx: Ctx): Schema {
  const out: Schema = { type: 'object' };
  const props = s.properties ?? {};
  if (!isObject(props)) fail(cx.what, ptr(at, 'properties'), '"properties" must be an object of schemas');
  const names = Object.keys(props);
  for (const n of names) {
    // xgrammar writes property names into its grammar unescaped
    if (/["\\\u0000-\u001f]/.test(n)) fail(cx.what, ptr(ptr(at, 'properties'), n), `property name ${JSON.stringify(n)}: names with a quote, a backslash or a control character cannot be enforced by the grammar engine`);
  }
  if (s.properties !== undefined) out.properties = Object.fromEntries(names.map((n) => [n, node(props[n], ptr(ptr(at, 'properties'), n), cx)]));
  if (s.required !== undefined) {
    if (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string')) fail(cx.what, ptr(at, 'required'), '"required" must be a list of property names');
    const missing = (s.required as string[]).find((r) => !names.includes(r));
    if (missing !== undefined) fail(cx.what, ptr(at, 'required'), `required property ${JSON.stringify(missing)} is not among "properties": list it there (other properties are never generated)`);
    out.required = s.required;
  }
  const ap = s.additionalProperties;
  if (ap !== undefined) out.additionalProperties = typeof ap === 'boolean' ? ap : node(ap, ptr(at, 'additionalProperties'), cx);
  return out;
}

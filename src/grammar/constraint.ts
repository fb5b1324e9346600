/**
 * A request's output format as a token constraint (src/engine/generate.ts `TokenConstraint`): JSON
 * (any object), a JSON Schema, a GBNF grammar, or tagged JSON (tool calls: JSON objects between fixed
 * texts, see compileTaggedJson), compiled by xgrammar for the model's vocabulary.
 * At each step the constraint gives the bitmask of the tokens that keep the output inside the
 * grammar (end-of-generation tokens only where the output is complete), and takes the token sampled.
 *
 * JSON Schemas are compiled in xgrammar's strict mode (properties the schema does not list are not
 * generated) without free whitespace (compact JSON: `{"a": 1, "b": [2, 3]}`), so a small model spends
 * no tokens on indentation (xgrammar: indent −1 = none, separators ", " and ": "). What xgrammar cannot compile (an unsatisfiable schema, a regex it does
 * not support, a grammar with an undefined rule) is a `bad-argument` naming it, before any token;
 * so is a schema outside the subset Cria enforces (src/grammar/json-schema.ts: xgrammar ignores or
 * mis-compiles some keywords). Every answer is valid UTF-8 (src/grammar/utf8.ts).
 */
import type { TokenConstraint } from '../engine/generate.ts';
import type { RuntimeTokenizer } from '../engine/runtime.ts';
import type { OutputFormat, TaggedJsonFormat } from '../protocol/api.ts';
import { CriaError } from '../shared/errors.ts';
import { gbnfToXgrammar } from './gbnf.ts';
import { schemaForXgrammar, spliceNumbers } from './json-schema.ts';
import { Utf8Tracker, utf8Table, type Utf8Table } from './utf8.ts';
import { grammarTokenizer, xgrammar, xgrammarCall, type GrammarTokenizer } from './xgrammar.ts';

const tokenizers = new WeakMap<object, Promise<GrammarTokenizer>>();

/** xgrammar's view of a model's tokenizer, built once per tokenizer. */
export function grammarTokenizerOf(tok: RuntimeTokenizer, nVocab: number): Promise<GrammarTokenizer> {
  let t = tokenizers.get(tok);
  if (!t) {
    t = grammarTokenizer({ vocabSize: tok.vocabSize, tokenBytes: (id) => tok.decodeBytes([id], { startOfText: false }), isEog: (id) => tok.isEog(id) }, nVocab);
    tokenizers.set(tok, t);
    t.catch(() => tokenizers.delete(tok));
  }
  return t;
}

/** Compile a format for a tokenizer: the constraint of one generation. */
export async function compileConstraint(tok: RuntimeTokenizer, nVocab: number, format: OutputFormat): Promise<TokenConstraint> {
  const t = await grammarTokenizerOf(tok, nVocab);
  const x = await xgrammar();
  const compiled =
    format.type === 'tagged_json'
      ? await compileTaggedJson(t, format)
      : format.type === 'grammar'
        ? await xgrammarCall('the grammar cannot be used', () => t.compiler.compileGrammar(gbnfToXgrammar(format.grammar), 'root'))
        : await compileSchema(t, format.type === 'json_schema' ? format : undefined);
  const matcher = await xgrammarCall('the grammar matcher', () => x.GrammarMatcher.createGrammarMatcher(compiled, t.stopTokens, t.stopTokens.length === 0));
  // xgrammar's UTF-8 is lenient: the answer is kept valid UTF-8 here (src/grammar/utf8.ts)
  const utf8 = new Utf8Tracker(utf8TableOf(tok, nVocab));
  let done = false;
  return {
    async allowed() {
      const m = await matcher.getNextTokenBitmask();
      const allowed = new Uint32Array(m.slice().buffer);
      if (!utf8.restrict(allowed)) throw new CriaError('internal', 'the grammar allows only tokens that would make the answer invalid UTF-8 here');
      return allowed;
    },
    accept(id: number) {
      if (!utf8.valid(id)) return false;
      const ok = matcher.acceptToken(id);
      if (ok) utf8.accept(id);
      if (ok && matcher.isTerminated()) done = true;
      return ok;
    },
    get done() {
      return done || matcher.isTerminated();
    },
    dispose() {
      matcher.dispose();
      compiled.dispose();
    },
  };
}

const utf8Tables = new WeakMap<object, Utf8Table>();

/** The UTF-8 table of a tokenizer's vocabulary (the bytes xgrammar sees), built once. */
function utf8TableOf(tok: RuntimeTokenizer, nVocab: number): Utf8Table {
  let u = utf8Tables.get(tok);
  if (!u) utf8Tables.set(tok, (u = utf8Table(tok.vocabSize, nVocab, (id) => (tok.isEog(id) ? new Uint8Array() : tok.decodeBytes([id], { startOfText: false })))));
  return u;
}

/**
 * A JSON Schema (or JSON mode: any object) checked against Cria's subset and rewritten
 * (src/grammar/json-schema.ts), turned into a grammar by xgrammar, its numbers' rules replaced by
 * Cria's (src/grammar/numbers.ts), and compiled.
 */
async function compileSchema(t: GrammarTokenizer, format: { name: string; schema: Record<string, unknown> } | undefined): Promise<Compiled> {
  const what = format ? `the JSON Schema${format.name ? ` "${format.name}"` : ''} cannot be enforced` : 'JSON mode';
  const grammar = await schemaGrammar(format ? format.schema : undefined, what);
  return xgrammarCall(what, () => t.compiler.compileGrammar(grammar, 'root'));
}

/**
 * The EBNF grammar of a JSON Schema (undefined: any object), strict, compact and on one line:
 * Cria's checks and rewrites of the schema, xgrammar's grammar, Cria's number rules spliced in.
 * `what` names the schema in errors.
 */
async function schemaGrammar(input: Record<string, unknown> | undefined, what: string): Promise<string> {
  const { schema, numbers } = input ? schemaForXgrammar(input, what) : { schema: { type: 'object' }, numbers: [] };
  const x = (await xgrammar()) as unknown as XgrStructural;
  const ebnf = await xgrammarCall(what, async () => {
    const g = await x.Grammar.fromJSONSchema(JSON.stringify(schema), false, -1, undefined, true);
    try {
      return g.toString();
    } finally {
      g.dispose();
    }
  });
  return spliceNumbers(ebnf, numbers, what);
}

// --- tagged JSON (tool calls): xgrammar's structural tags ---------------------------------------------

/** The parts of xgrammar 0.1.27 that tagged JSON uses besides those of ./xgrammar.ts (lib/xgrammar.d.ts). */
interface XgrStructural {
  Grammar: { fromJSONSchema(schema: string, anyWhitespace?: boolean, indent?: number, separators?: [string, string], strictMode?: boolean): Promise<{ toString(): string; dispose(): void }> };
}
type Compiled = Awaited<ReturnType<GrammarTokenizer['compiler']['compileGrammar']>>;

/**
 * Tagged JSON as one of xgrammar's structural tags: each tag's schema becomes a grammar with the
 * settings of json_schema above (strict, compact, one line: JSON as the chat templates write
 * tool-call arguments), between its literal begin and end; the tags are one (`or`), one or more with
 * a separator (`tags_with_separator`), or triggered inside free text (`triggered_tags`).
 */
async function compileTaggedJson(t: GrammarTokenizer, format: TaggedJsonFormat): Promise<Compiled> {
  const tags = [];
  for (const [i, tag] of format.tags.entries()) {
    const what = `the parameters schema of ${tag.name ? `tool "${tag.name}"` : `tag ${i}`} cannot be enforced`;
    // the same grammar as a json_schema answer's (compileSchema)
    const grammar = await schemaGrammar(tag.schema, what);
    tags.push({ type: 'tag', begin: tag.begin, content: { type: 'grammar', grammar }, end: tag.end });
  }
  const structure = format.triggers
    ? { type: 'triggered_tags', triggers: format.triggers, tags, at_least_one: false, stop_after_first: !format.multiple }
    : format.multiple
      ? { type: 'tags_with_separator', tags, separator: format.separator, at_least_one: true, stop_after_first: false }
      : tags.length === 1
        ? tags[0]
        : { type: 'or', elements: tags };
  const compiler = t.compiler as unknown as { compileStructuralTag(tag: string): Promise<Compiled> };
  return xgrammarCall('the tool calls cannot be enforced', () => compiler.compileStructuralTag(JSON.stringify({ type: 'structural_tag', format: structure })));
}

/**
 * xgrammar 0.1.27's JSON Schema grammars let a few string rules take characters JSON forbids raw in a
 * string: a string with minLength/maxLength is built from `[^\"\\\r\n]` (so NUL, tab and the other
 * control characters pass), and a pattern's `.` from `[\0-\U0010ffff]` (quotes and backslashes too).
 * In a JSON grammar every negated class and every any-character class is inside a string: outside the
 * grammar's string literals, each negated class also refuses U+0000–U+001F, and the any-character
 * class becomes "any character a JSON string may hold raw".
 */
export function jsonSafeEbnf(ebnf: string): string {
  let out = '';
  let i = 0;
  while (i < ebnf.length) {
    const c = ebnf[i];
    if (c === '"') {
      // a string literal, copied as it is
      let j = i + 1;
      while (j < ebnf.length && ebnf[j] !== '"') j += ebnf[j] === '\\' ? 2 : 1;
      out += ebnf.slice(i, j + 1);
      i = j + 1;
    } else if (c === '[') {
      let j = i + 1;
      while (j < ebnf.length && ebnf[j] !== ']') j += ebnf[j] === '\\' ? 2 : 1;
      const body = ebnf.slice(i + 1, j);
      if (body === '\\0-\\U0010ffff') out += '[^\\0-\\x1f\\"\\\\]';
      else if (body.startsWith('^') && !body.startsWith('^\\0-\\x1f')) out += `[^\\0-\\x1f${body.slice(1)}]`;
      else out += `[${body}]`;
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

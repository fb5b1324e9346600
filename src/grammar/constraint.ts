/**
 * A request's output format as a token constraint (src/engine/generate.ts `TokenConstraint`): JSON
 * (any object), a JSON Schema, or a GBNF grammar, compiled by xgrammar for the model's vocabulary.
 * At each step the constraint gives the bitmask of the tokens that keep the output inside the
 * grammar (end-of-generation tokens only where the output is complete), and takes the token sampled.
 *
 * JSON Schemas are compiled in xgrammar's strict mode (properties the schema does not list are not
 * generated) without free whitespace (compact JSON: `{"a": 1, "b": [2, 3]}`), so a small model spends
 * no tokens on indentation (xgrammar: indent −1 = none, separators ", " and ": "). What xgrammar cannot compile (an unsatisfiable schema, a regex it does
 * not support, a grammar with an undefined rule) is a `bad-argument` naming it, before any token.
 */
import type { TokenConstraint } from '../engine/generate.ts';
import type { RuntimeTokenizer } from '../engine/runtime.ts';
import type { OutputFormat } from '../protocol/api.ts';
import { gbnfToXgrammar } from './gbnf.ts';
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
    format.type === 'grammar'
      ? await xgrammarCall('the grammar cannot be used', () => t.compiler.compileGrammar(gbnfToXgrammar(format.grammar), 'root'))
      : await xgrammarCall(
          format.type === 'json_schema' ? `the JSON Schema${format.name ? ` "${format.name}"` : ''} cannot be enforced` : 'JSON mode',
          () => t.compiler.compileJSONSchema(JSON.stringify(format.type === 'json_schema' ? format.schema : { type: 'object' }), false, -1, undefined, true),
        );
  const matcher = await xgrammarCall('the grammar matcher', () => x.GrammarMatcher.createGrammarMatcher(compiled, t.stopTokens, t.stopTokens.length === 0));
  let done = false;
  return {
    async allowed() {
      const m = await matcher.getNextTokenBitmask();
      return new Uint32Array(m.slice().buffer);
    },
    accept(id: number) {
      const ok = matcher.acceptToken(id);
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

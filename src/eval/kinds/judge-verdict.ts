/**
 * The judge's verdict, constrained (task option `constrain_verdict`, default true): the judge
 * answers under a GBNF grammar (the request's `grammar`, enforced at every token by the engine)
 * that is exactly what the parsers of judge-common.ts read, so a verdict cannot be unparseable:
 *
 *   root   ::= reason "[[" verdict "]]"          then the answer ends
 *   reason ::= up to N printable ASCII characters but "[" and "]" (no newline)
 *   verdict::= "10" | [1-9]   (single grading: parseRating)   or   [ABC]   (pairwise: parsePairVerdict)
 *
 * The reasoning stays free text (FastChat's prompts ask for an explanation, then "[[rating]]"), but
 * bounded so the verdict always fits in the judge's token budget: every token is at least one byte
 * and the reasoning is ASCII (one byte a character), so N = max_tokens − the verdict's longest
 * length ("[[10]]": 6) leaves room for the verdict however the text is tokenized. Brackets are left
 * out of the reasoning so nothing before the verdict can look like one; newlines are left out so
 * the plain template's stop string ("\nUser:", for judges without a chat template) cannot end the
 * answer before its verdict.
 *
 * Every Cria runtime (its own engine on the CPU reference, WebGPU or WebAssembly, ONNX, WebLLM)
 * enforces grammars (the request is parsed above every runtime), so the option is on for every
 * judge; `constrain_verdict: false` asks as FastChat does, unconstrained.
 */

export type VerdictKind = 'single' | 'pairwise';

/** the verdict's longest text: "[[10]]" or "[[A]]" (bytes, so also an upper bound on its tokens) */
export function verdictReserve(kind: VerdictKind): number {
  return kind === 'single' ? 6 : 5;
}

/** How many characters of reasoning fit before the verdict in `maxTokens` tokens. */
export function reasoningBudget(kind: VerdictKind, maxTokens: number): number {
  return Math.max(0, Math.floor(maxTokens) - verdictReserve(kind));
}

/** printable ASCII (space to ~) without [ and ] */
const REASON_CHAR = '[\\x20-\\x5A\\x5C\\x5E-\\x7E]';

/** The GBNF grammar of a verdict that fits in `maxTokens` tokens. */
export function verdictGrammar(kind: VerdictKind, maxTokens: number): string {
  const n = reasoningBudget(kind, maxTokens);
  const verdict = kind === 'single' ? '"10" | [1-9]' : '[ABC]';
  return [
    `root ::= ${n > 0 ? 'reason ' : ''}"[[" verdict "]]"`,
    ...(n > 0 ? [`reason ::= ${REASON_CHAR}{0,${n}}`] : []),
    `verdict ::= ${verdict}`,
    '',
  ].join('\n');
}

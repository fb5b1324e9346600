/**
 * Structured output's grammar engine: xgrammar (@mlc-ai/web-xgrammar, MLC's C++ grammar engine
 * compiled to WebAssembly; what WebLLM uses), loaded at the first constrained request only.
 *
 * Cria gives it the model's vocabulary as bytes: every token's bytes (the tokenizer's own
 * `decodeBytes`, so SentencePiece, byte-level BPE and Hugging Face tokenizers all look alike) in
 * GPT-2's byte-to-character encoding (`byte_level`), control tokens as empty strings (xgrammar's
 * "special": never allowed inside a structure, so no control token can be forged into an answer),
 * and the end-of-generation tokens as its stop tokens. Logits beyond the tokenizer's vocabulary
 * (padding rows) are never allowed.
 *
 * xgrammar reports a bad schema or grammar by aborting its WebAssembly call with a message on
 * stderr; the message is caught and becomes a `bad-argument` naming the part.
 */
import { BYTE_TO_CHAR } from '../tokenizer/byte-encoding.ts';
import { CriaError } from '../shared/errors.ts';

/** The part of xgrammar's API Cria uses (lib/xgrammar.d.ts of 0.1.27). */
interface XgrMatcher {
  getNextTokenBitmask(): Promise<Int32Array>;
  acceptToken(id: number): boolean;
  isTerminated(): boolean;
  reset(): void;
  dispose(): void;
}
interface XgrCompiled {
  dispose(): void;
}
interface XgrCompiler {
  compileJSONSchema(schema: string, anyWhitespace?: boolean, indent?: number, separators?: [string, string], strictMode?: boolean): Promise<XgrCompiled>;
  compileBuiltinJSONGrammar(): Promise<XgrCompiled>;
  compileGrammar(grammar: string, rootRule?: string): Promise<XgrCompiled>;
  dispose(): void;
}
interface Xgr {
  TokenizerInfo: { createTokenizerInfo(vocab: string[], vocabType?: string, prependSpace?: boolean, vocabSize?: number, stopTokenIds?: number[]): Promise<{ dispose(): void }> };
  GrammarCompiler: { createGrammarCompiler(info: unknown, cacheEnabled?: boolean): Promise<XgrCompiler> };
  GrammarMatcher: { createGrammarMatcher(compiled: XgrCompiled, overrideStopTokens?: number[], terminateWithoutStopToken?: boolean, maxRollbackTokens?: number): Promise<XgrMatcher> };
}

let lib: Promise<Xgr> | undefined;
/** where xgrammar's stderr goes during a call (its build binds console.error when it starts) */
let sink: ((line: string) => void) | undefined;

/** The xgrammar module (its UMD build sets `globalThis.xgrammar`; the WebAssembly is inside it). */
export function xgrammar(): Promise<Xgr> {
  lib ??= (async () => {
    const g = globalThis as { document?: unknown; location?: unknown; xgrammar?: Xgr };
    // in Node the build reaches for CommonJS `require` (absent in ES modules) unless it sees a page
    // location, at load and at its first call; it embeds its .wasm, so the URL is never fetched. Node only.
    if (g.document === undefined && g.location === undefined) g.location = { href: import.meta.url };
    // the build keeps the console.error it finds at start as its stderr: give it one that a call can listen to
    const original = console.error;
    const forward = (...a: unknown[]) => (sink ? sink(a.map(String).join(' ')) : original.apply(console, a));
    console.error = forward;
    let mod: Record<string, unknown> = {};
    try {
      mod = (await import('@mlc-ai/web-xgrammar')) as unknown as Record<string, unknown>;
      // its runtime starts at the first call: make one while the forwarder is in place
      const first = [mod, mod.default, g.xgrammar].find((v): v is Xgr => typeof v === 'object' && v !== null && 'TokenizerInfo' in v);
      await first?.TokenizerInfo.createTokenizerInfo(['a'], 'byte_level', false, 1, []).then((t) => t.dispose());
    } finally {
      if (console.error === forward) console.error = original;
    }
    // a UMD build: bundlers (Vite) hand it over as CommonJS exports, plain ES module loading sets the global
    const isApi = (v: unknown): v is Xgr => typeof v === 'object' && v !== null && 'GrammarMatcher' in v && 'TokenizerInfo' in v;
    const api = [mod, mod.default, g.xgrammar].find(isApi);
    if (!api) throw new CriaError('internal', 'the grammar engine (xgrammar) did not load');
    return api;
  })();
  return lib;
}

/** Run an xgrammar call; its abort message (stderr) becomes the error's text. */
export async function xgrammarCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const said: string[] = [];
  sink = (line) => void said.push(line);
  try {
    return await fn();
  } catch (e) {
    const fatal = said.map((s) => /\[FATAL\][^:]*:\d+:\s*(.*)/.exec(s)?.[1]).find((s) => s !== undefined);
    throw new CriaError('bad-argument', `${what}: ${fatal ?? said.find((s) => s.trim() && !/^Aborted/.test(s)) ?? (e as Error).message}`);
  } finally {
    sink = undefined;
  }
}

/** What the grammar engine needs of a tokenizer. */
export interface GrammarVocab {
  /** tokens the tokenizer knows (ids 0..vocabSize-1) */
  vocabSize: number;
  /** the token's bytes as they appear in text (empty for control tokens) */
  tokenBytes(id: number): Uint8Array;
  isEog(id: number): boolean;
}

/** A token's bytes in GPT-2's byte-level encoding (xgrammar's `byte_level` vocabulary type). */
export function byteLevel(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

/** A tokenizer as xgrammar sees it: its compiler (which caches compiled grammars) and its stop tokens. */
export interface GrammarTokenizer {
  compiler: XgrCompiler;
  stopTokens: number[];
  /** the logits' width (≥ the tokenizer's size) */
  nVocab: number;
}

/** Build xgrammar's view of a vocabulary (once per model: ~0.1–1 s for 150k tokens). */
export async function grammarTokenizer(v: GrammarVocab, nVocab: number): Promise<GrammarTokenizer> {
  const x = await xgrammar();
  const vocab: string[] = [];
  const stopTokens: number[] = [];
  for (let id = 0; id < v.vocabSize; id++) {
    vocab.push(byteLevel(v.tokenBytes(id)));
    if (v.isEog(id)) stopTokens.push(id);
  }
  const info = await xgrammarCall('the vocabulary', () => x.TokenizerInfo.createTokenizerInfo(vocab, 'byte_level', false, Math.max(nVocab, v.vocabSize), stopTokens));
  const compiler = await xgrammarCall('the grammar compiler', () => x.GrammarCompiler.createGrammarCompiler(info, true));
  return { compiler, stopTokens, nVocab };
}

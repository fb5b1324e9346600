/**
 * What every engine is asked, identically: the prompts of each run, the
 * decode request, the warm-up, and a structure-measurement request. Built
 * once per bench (see prompt.ts for the texts and tokens).
 */
import type { Tokenizer } from '../../tokenizer/index.ts';
import { benchPrompt, type BenchPrompt } from './prompt.ts';

export interface BenchPlan {
  runs: number;
  /** cold + warm load pairs per engine */
  loadRuns: number;
  /** prompt lengths; the first is also the decode run's prompt length */
  promptLengths: number[];
  decode: number;
  /** per run: one prompt per length, and the decode run's prompt */
  prompts: { prefill: BenchPrompt[]; decode: BenchPrompt }[];
  /** one short request before the measured ones (pipelines compiled, buffers made, caches warm) */
  warmup: { prompt: BenchPrompt; maxTokens: number };
  /** Cria, last run: one more request shaped like the first prefill (see cria.ts) */
  structurePrime: BenchPrompt;
  /** a token no prompt starts with: Cria evaluates it alone before each request, so no cached prefix is reused */
  resetToken: number;
  /**
   * Tokens whose bytes are not valid UTF-8 on their own (byte tokens ≥ 0x80, pieces of multi-byte
   * characters). wllama must not generate them: llama-server's JSON result cannot carry invalid
   * UTF-8 (it fails with "invalid UTF-8 byte"), and random-weight models generate such tokens.
   */
  notUtf8: number[];
  /**
   * `--schema`: Cria's engines decode once more per run under this JSON Schema (structured output's
   * cost): an array of at least 4096 {name, n} objects, which N tokens never complete, so every run
   * decodes N tokens of keys, strings and numbers through the grammar engine's mask
   */
  schema?: Record<string, unknown>;
}

/** The schema of `cria bench --schema` (see BenchPlan.schema). */
export const BENCH_SCHEMA: Record<string, unknown> = {
  type: 'array',
  items: { type: 'object', properties: { name: { type: 'string' }, n: { type: 'integer' } }, required: ['name', 'n'], additionalProperties: false },
  minItems: 4096,
};

/** Ids whose bytes alone are not valid UTF-8. */
export function notUtf8Tokens(tok: Pick<Tokenizer, 'vocabSize' | 'decodeBytes'>): number[] {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const out: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    try {
      utf8.decode(tok.decodeBytes([id]));
    } catch {
      out.push(id);
    }
  }
  return out;
}

export function benchPlan(tok: Pick<Tokenizer, 'vocabSize' | 'addBos' | 'bos' | 'eos' | 'encode' | 'decode' | 'decodeBytes'>, runs: number, promptLengths: number[], decode: number, loadRuns = runs): BenchPlan {
  const variants = promptLengths.length + 1;
  const plan: BenchPlan = {
    runs,
    loadRuns,
    promptLengths,
    decode,
    prompts: Array.from({ length: runs }, (_, r) => ({
      prefill: promptLengths.map((n, i) => benchPrompt(tok, n, 1 + r * variants + i)),
      decode: benchPrompt(tok, promptLengths[0], 1 + r * variants + promptLengths.length),
    })),
    warmup: { prompt: benchPrompt(tok, Math.min(8, Math.max(...promptLengths)), 0), maxTokens: 2 },
    structurePrime: benchPrompt(tok, promptLengths[0], 1 + runs * variants),
    resetToken: 0,
    notUtf8: notUtf8Tokens(tok),
  };
  // a one-token prompt that shares no prefix with any prompt (see cria.ts)
  const firsts = new Set([plan.warmup.prompt, plan.structurePrime, ...plan.prompts.flatMap((p) => [...p.prefill, p.decode])].map((p) => p.ids[0]));
  plan.resetToken = [tok.eos, 0, 1, 2, 3, 4].find((id) => id >= 0 && id < tok.vocabSize && !firsts.has(id))!;
  return plan;
}

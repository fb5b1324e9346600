/**
 * Perplexity of documents, through `score()`: per-token log-likelihoods, summed.
 *
 * Method "llama.cpp" (the default) is `llama-perplexity`'s:
 *   - the document is tokenized once, with BOS when the model adds one;
 *   - it is cut into n_chunk = ⌊n_tokens / n_ctx⌋ chunks of n_ctx tokens (option `chunks` caps
 *     the number); tokens after the last whole chunk are not used;
 *   - in each chunk the first token is replaced by BOS (models that add BOS);
 *   - with first = ⌊n_ctx / 2⌋, chunk positions 0..first are context only, and the tokens at
 *     positions first+1 .. n_ctx−1 are scored, each given every chunk token before it:
 *     n_ctx − 1 − first tokens per chunk (63 for n_ctx = 128, 255 for 512).
 *   In score() terms: context = chunk[0..first], continuation = chunk[first+1..n_ctx−1].
 *
 * Method "sliding" is Hugging Face's strided perplexity (and lm-eval's rolling windows with
 * overlap): windows of n_ctx tokens starting every `stride` tokens; each window scores only the
 * tokens the previous one did not reach, conditioned on the rest of the window. Every token but
 * the document's first (BOS when the model adds one) is scored exactly once; the first window
 * scores tokens 1..n_ctx−1 with context [token 0]; later ones have at least n_ctx − stride tokens
 * of context. `stride` must be below n_ctx.
 *
 * ppl = exp(Σ nll / tokens scored). bits_per_byte = Σ nll / ln 2 / bytes, where bytes are the
 * UTF-8 bytes of the scored tokens' text (the target's detokenize of each continuation; a
 * SentencePiece word's leading space counts). ppl_stderr is llama.cpp's "±": ppl · √(var(nll)/(N−1)).
 *
 * Units are chunks (windows), ids "<document id>#<index>", so a long document resumes chunk by chunk.
 */
import { CriaError } from '../../shared/errors.ts';
import type { EvalTarget, ItemResult, PerplexityItem, Task } from '../types.ts';
import { groupBy, utf8Bytes } from '../stats.ts';
import { checkItems, opt, type Aggregate, type ItemKind, type Unit } from './kind.ts';

export interface PerplexityUnit extends Unit {
  context: number[];
  continuation: number[];
}

export type PerplexityMethod = 'llama.cpp' | 'sliding';

/** The default window: llama-perplexity's customary -c 512, at most the session's context. */
export const DEFAULT_PPL_CTX = 512;

/** Token ids of a document as llama-perplexity sees them, and the BOS id when the model adds one. */
export async function documentTokens(target: EvalTarget, text: string): Promise<{ ids: number[]; bos: number | undefined }> {
  const special = await target.tokenize('', { add_special: true });
  const ids = await target.tokenize(text, { add_special: true });
  const bos = special.length > 0 && ids[0] === special[0] ? special[0] : undefined;
  return { ids, bos };
}

/** llama-perplexity's chunks of one document (see the header). */
export function llamaCppChunks(ids: readonly number[], bos: number | undefined, nCtx: number, maxChunks = Infinity): { context: number[]; continuation: number[] }[] {
  const first = Math.floor(nCtx / 2);
  const n = Math.min(Math.floor(ids.length / nCtx), maxChunks);
  const out = [];
  for (let c = 0; c < n; c++) {
    const chunk = ids.slice(c * nCtx, (c + 1) * nCtx);
    if (bos !== undefined) chunk[0] = bos;
    out.push({ context: chunk.slice(0, first + 1), continuation: chunk.slice(first + 1) });
  }
  return out;
}

/** Strided windows (see the header). */
export function slidingWindows(ids: readonly number[], nCtx: number, stride: number): { context: number[]; continuation: number[] }[] {
  if (!(stride >= 1 && stride < nCtx)) throw new CriaError('bad-argument', `the sliding-window stride (${stride}) must be from 1 to n_ctx − 1 (${nCtx - 1})`);
  const out = [];
  let prevEnd = 1; // token 0 has no context: never scored
  for (let begin = 0; prevEnd < ids.length; begin += stride) {
    const end = Math.min(begin + nCtx, ids.length);
    if (end <= prevEnd) continue;
    out.push({ context: ids.slice(begin, prevEnd), continuation: ids.slice(prevEnd, end) });
    prevEnd = end;
  }
  return out;
}

async function windowSize(task: Task, target: EvalTarget): Promise<number> {
  const info = await target.modelInfo();
  const nCtx = opt(task, 'n_ctx', Math.min(DEFAULT_PPL_CTX, info?.nCtx ?? DEFAULT_PPL_CTX));
  if (info && nCtx > info.nCtx) throw new CriaError('bad-argument', `n_ctx ${nCtx} is larger than the model's context (${info.nCtx}); lower it`);
  if (!Number.isInteger(nCtx) || nCtx < 4) throw new CriaError('bad-argument', `n_ctx must be a whole number ≥ 4; got ${nCtx}`);
  return nCtx;
}

export const perplexity: ItemKind<PerplexityUnit> = {
  async units(task, target) {
    const method = opt(task, 'method', 'llama.cpp') as PerplexityMethod;
    if (method !== 'llama.cpp' && method !== 'sliding') throw new CriaError('bad-argument', `perplexity method must be "llama.cpp" or "sliding"; got "${method}"`);
    const nCtx = await windowSize(task, target);
    const units: PerplexityUnit[] = [];
    const docs = checkItems<PerplexityItem>(task.items, 'perplexity', (i) => (typeof i.text === 'string' && i.text !== '' ? undefined : 'it needs text'));
    for (const item of docs) {
      const { ids, bos } = await documentTokens(target, item.text);
      const parts = method === 'llama.cpp' ? llamaCppChunks(ids, bos, nCtx, opt(task, 'chunks', Infinity)) : slidingWindows(ids, nCtx, opt(task, 'stride', Math.floor(nCtx / 2)));
      if (parts.length === 0) {
        throw new CriaError('bad-argument', `document "${item.id}" has ${ids.length} tokens, fewer than one chunk of n_ctx = ${nCtx}; use a longer text or a smaller n_ctx`);
      }
      parts.forEach((p, i) => units.push({ id: `${item.id}#${i}`, category: item.id, ...p }));
    }
    return units;
  },

  async run(unit, { target, signal }) {
    const r = await target.score({ context: unit.context, continuation: unit.continuation }, { signal });
    let sum = 0;
    let sumSq = 0;
    for (const lp of r.logprobs) {
      sum -= lp;
      sumSq += lp * lp;
    }
    const bytes = target.detokenize ? utf8Bytes(await target.detokenize(unit.continuation)) : 0;
    return { id: unit.id, category: unit.category, nll: { sum, tokens: r.logprobs.length, bytes, sumSq } };
  },

  aggregate(results) {
    const ok = results.filter((r) => r.nll && !r.error);
    const summary = (rs: readonly ItemResult[]) => {
      let sum = 0;
      let sumSq = 0;
      let tokens = 0;
      let bytes = 0;
      for (const r of rs) {
        sum += r.nll!.sum;
        sumSq += r.nll!.sumSq ?? NaN;
        tokens += r.nll!.tokens;
        bytes += r.nll!.bytes;
      }
      const m = sum / tokens;
      const ppl = Math.exp(m);
      const se = Math.sqrt(Math.max(0, sumSq / tokens - m * m) / (tokens - 1));
      const out: Record<string, number> = { ppl, ppl_stderr: ppl * se, nll: m, tokens };
      if (bytes > 0) out.bits_per_byte = sum / Math.LN2 / bytes;
      return out;
    };
    const per_category: Aggregate['per_category'] = {};
    for (const [doc, rs] of groupBy(ok, (r) => r.category)) per_category[doc] = { n: rs.length, ...summary(rs) };
    return { metrics: ok.length ? { ...summary(ok), errors: results.length - ok.length } : { errors: results.length }, per_category };
  },
};

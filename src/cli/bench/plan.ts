/**
 * What every engine is asked, identically: the prompts of each run, the
 * decode request, the warm-up. Built once per bench (see prompt.ts for the
 * token ids).
 */
import { benchPrompt } from './prompt.ts';

export interface BenchPlan {
  runs: number;
  /** prompt lengths; the first is also the decode run's prompt */
  promptLengths: number[];
  decode: number;
  /** per run: one prompt per length, and the decode run's prompt */
  prompts: { prefill: number[][]; decode: number[] }[];
  /** one short request before the measured ones (pipelines compiled, buffers made, caches warm) */
  warmup: { prompt: number[]; maxTokens: number };
}

export function benchPlan(runs: number, promptLengths: number[], decode: number, nVocab: number): BenchPlan {
  const variants = promptLengths.length + 1;
  return {
    runs,
    promptLengths,
    decode,
    prompts: Array.from({ length: runs }, (_, r) => ({
      prefill: promptLengths.map((n, i) => benchPrompt(n, 1 + r * variants + i, nVocab)),
      decode: benchPrompt(promptLengths[0], 1 + r * variants + promptLengths.length, nVocab),
    })),
    warmup: { prompt: benchPrompt(8, 0, nVocab), maxTokens: 4 },
  };
}

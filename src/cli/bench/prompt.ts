/**
 * The prompts of `cria bench`: fixed token ids, the same for every engine
 * (no tokenizer involved, so every engine evaluates exactly the same tokens).
 *
 * Each measured request gets its own `variant`, whose first token differs
 * from every other variant's: no engine can reuse a cached prefix (Cria's
 * session, llama-server's prompt cache in wllama, a llama.cpp sequence)
 * and skip part of the prompt. There is no BOS: speed does not depend on it.
 * Ids are drawn from [1000, min(vocab, 30000)), ordinary tokens in every
 * real vocabulary (control tokens sit at the ends), deterministically.
 */
import { Rng } from '../../shared/rng.ts';

const LOW = 1000;
const HIGH = 30000;

export function benchPrompt(length: number, variant: number, nVocab: number): number[] {
  const lo = Math.min(LOW, Math.floor(nVocab / 4));
  const hi = Math.max(lo + 2, Math.min(nVocab, HIGH));
  const span = hi - lo;
  const rng = new Rng(0xbe4c + length * 7919);
  const ids = Array.from({ length }, () => lo + (rng.nextU32() % span));
  if (length > 0) ids[0] = lo + (variant % span);
  return ids;
}

/**
 * The generation loop, runtime-agnostic (a `Sequence`, src/engine/runtime.ts): evaluate the prompt (reusing the
 * cached prefix), then sample → feed back → stream, until max tokens, an
 * end-of-generation token or a stop string.
 */
import { CriaError } from '../shared/errors.ts';
import { Sampler, type SamplingParams } from '../sampling/sampler.ts';
import type { Sequence } from './runtime.ts';
import { StopMatcher } from './stop.ts';

/** Turns token ids into text incrementally (never splits a UTF-8 character). */
export interface TokenTextStream {
  push(id: number): string;
  flush(): string;
}

export interface GenerateRequest {
  prompt: readonly number[];
  maxTokens: number;
  sampling: SamplingParams;
  /** stop strings (text); the match is not included in the output */
  stop?: readonly string[];
  /** end-of-generation tokens (EOS/EOT); the token is not included in the text */
  isEndToken?: (id: number) => boolean;
  /** text decoder; without one, only token ids are produced */
  decoder?: TokenTextStream;
  signal?: AbortSignal;
  /** receives the logits of every prompt position (`nPrompt × nVocab`), e.g. for --dump-logits */
  onPromptLogits?: (logits: Float32Array) => void;
  /** receives the logits each generated token was sampled from */
  onStepLogits?: (logits: Float32Array, token: number) => void;
  /** only tokens this allows can be sampled (structured output: src/grammar/) */
  constraint?: TokenConstraint;
}

/**
 * What the output must follow, token by token (a grammar, a JSON Schema): at each step the tokens it
 * allows, then the one sampled. End-of-generation tokens are allowed only where the output is complete.
 */
export interface TokenConstraint {
  /** the tokens allowed next: token t iff bit (t & 31) of word (t >> 5) is set */
  allowed(): Promise<Uint32Array>;
  /** take the sampled token; false if the grammar does not allow it */
  accept(id: number): boolean;
  /** the output is complete and the grammar takes nothing more */
  readonly done: boolean;
  dispose(): void;
}

/** Disallowed tokens of a row set to −∞ (in place), for sequences whose logits are on the CPU. */
export function maskRow(row: Float32Array, allowed: Uint32Array): Float32Array {
  for (let t = 0; t < row.length; t++) if (((allowed[t >>> 5] ?? 0) >>> (t & 31)) & 1) continue; else row[t] = -Infinity;
  return row;
}

/** The row's logits with the constraint's mask applied: on the device where the sequence can, else on a CPU copy. */
async function constrained<L>(seq: Sequence<L>, logits: L, c: TokenConstraint): Promise<L> {
  const allowed = await c.allowed();
  // nothing allowed would make every logit −∞ and the pick arbitrary: the grammar is at a dead end
  if (!allowed.some((w) => w !== 0)) throw new CriaError('internal', 'the output\'s grammar allows no next token and is not complete (a grammar that cannot be finished)');
  if (seq.mask) return seq.mask(logits, allowed);
  return maskRow(Float32Array.from(await seq.read(logits)), allowed) as unknown as L;
}

export interface GenerateStep {
  /** the generated token, or -1 for text released at the very end (a held-back tail) */
  token: number;
  /** text released by this token (may be empty while a character or stop string is pending) */
  text: string;
}

export type FinishReason = 'stop' | 'length';

export interface GenerateResult {
  tokens: number[];
  text: string;
  finishReason: FinishReason;
  seed: number;
  timings: {
    /** prompt tokens actually evaluated (the cached prefix is skipped) */
    promptTokens: number;
    promptMs: number;
    decodeTokens: number;
    decodeMs: number;
    /** from the start of the request to the first generated token */
    firstTokenMs: number;
    /** with a constraint: time spent in it (each step's mask and taking the sampled token), on this thread */
    constraintMs?: number;
  };
}

/**
 * How a token is chosen, and what crosses from the backend for it:
 * - greedy without penalties: the backend's argmax (4 bytes per token);
 * - top-k sampling without penalties: the k best (id, logit) pairs;
 * - anything else (penalties, top-p/min-p over the whole vocabulary, or the
 *   caller wants the logits): the full logits row.
 */
async function nextToken<L>(seq: Sequence<L>, logits: L, sampler: Sampler, history: readonly number[], wantLogits: boolean, onCpu = false): Promise<{ id: number; logits?: Float32Array }> {
  const p = sampler.params;
  const penalties = p.repetitionPenalty !== 1 || p.presencePenalty !== 0 || p.frequencyPenalty !== 0;
  // a row masked on the CPU (the sequence cannot mask on its device): sampled here
  if (onCpu) {
    const row = logits as unknown as Float32Array;
    return { id: sampler.sample(row, history), logits: row };
  }
  if (!wantLogits && !penalties) {
    if (p.temperature <= 0) return { id: await seq.argmax(logits) };
    // the device's top-k is a fast path: beyond its k the full row is read and the same sampler used
    if (p.topK > 0 && p.topK <= (seq.maxTopK ?? Infinity)) {
      const { ids, values } = await seq.topk(logits, p.topK);
      return { id: sampler.sampleCandidates(ids, values) };
    }
  }
  const row = await seq.read(logits);
  return { id: sampler.sample(row, history), logits: row };
}

export async function* generate<L>(session: Sequence<L>, req: GenerateRequest): AsyncGenerator<GenerateStep, GenerateResult> {
  if (req.prompt.length === 0) throw new CriaError('bad-argument', 'the prompt is empty; give at least one token (most models want BOS)');
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 0) throw new CriaError('bad-argument', `max_tokens ${req.maxTokens} must be a whole number ≥ 0`);
  if (req.prompt.length + req.maxTokens > session.nCtx) {
    throw new CriaError('context-overflow', `the prompt (${req.prompt.length} tokens) plus max_tokens (${req.maxTokens}) exceeds the context of ${session.nCtx} tokens; shorten the prompt or lower max_tokens`, {
      promptTokens: req.prompt.length,
      maxTokens: req.maxTokens,
      nCtx: session.nCtx,
    });
  }
  const sampler = new Sampler(req.sampling);
  const stop = new StopMatcher(req.stop ?? []);
  const wantLogits = req.onStepLogits !== undefined;
  const t0 = performance.now();

  // reuse the cached prefix, but always evaluate at least the last prompt token (we need its logits)
  const keep = req.onPromptLogits ? 0 : Math.min(session.commonPrefix(req.prompt), req.prompt.length - 1);
  session.truncate(keep);
  const fresh = req.prompt.slice(keep);
  const history = [...req.prompt];
  const tokens: number[] = [];
  let text = '';
  let finishReason: FinishReason = 'length';
  let firstTokenMs = 0;

  // the constraint's own time (its mask, on this thread; on a GPU the mask's upload and kernel ride in the step's submit)
  let constraintMs = 0;
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const tc = performance.now();
    try {
      return await f();
    } finally {
      constraintMs += performance.now() - tc;
    }
  };
  let pick: { id: number; logits?: Float32Array } | undefined;
  if (req.onPromptLogits) {
    const all = await session.appendAll(fresh, req.signal);
    req.onPromptLogits(all);
    const last = all.slice(all.length - session.nVocab);
    if (req.constraint && req.maxTokens > 0) maskRow(last, await req.constraint.allowed());
    if (req.maxTokens > 0) pick = { id: sampler.sample(last, history), logits: last };
  } else {
    let logits = await session.append(fresh, req.signal);
    if (req.maxTokens > 0) {
      if (req.constraint) logits = await timed(() => constrained(session, logits, req.constraint!));
      pick = await nextToken(session, logits, sampler, history, wantLogits, !!req.constraint && !session.mask);
    } else await session.sync();
  }
  const t1 = performance.now();

  while (pick) {
    if (req.signal?.aborted) throw new CriaError('aborted', 'the request was aborted');
    const id = pick.id;
    if (pick.logits) req.onStepLogits?.(pick.logits, id);
    if (tokens.length === 0) firstTokenMs = performance.now() - t0;
    const ta = performance.now();
    const taken = !req.constraint || req.constraint.accept(id);
    constraintMs += performance.now() - ta;
    if (!taken) {
      throw new CriaError('internal', `token ${id} was sampled but the output's grammar does not allow it (the mask was not applied)`);
    }
    if (req.isEndToken?.(id)) {
      finishReason = 'stop';
      break;
    }
    tokens.push(id);
    history.push(id);
    const piece = req.decoder ? stop.push(req.decoder.push(id)) : '';
    text += piece;
    yield { token: id, text: piece };
    if (stop.stopped) {
      finishReason = 'stop';
      break;
    }
    if (req.constraint?.done) {
      // complete, and the grammar takes no more (a model without an end token)
      finishReason = 'stop';
      break;
    }
    if (tokens.length >= req.maxTokens) break;
    let logits = await session.append([id], req.signal);
    if (req.constraint) logits = await timed(() => constrained(session, logits, req.constraint!));
    pick = await nextToken(session, logits, sampler, history, wantLogits, !!req.constraint && !session.mask);
  }
  if (req.decoder && !stop.stopped) {
    const tail = stop.push(req.decoder.flush()) + stop.flush();
    if (tail) {
      text += tail;
      yield { token: -1, text: tail };
    }
  }
  const t2 = performance.now();
  return {
    tokens,
    text,
    finishReason,
    seed: sampler.seed,
    timings: { promptTokens: fresh.length, promptMs: t1 - t0, decodeTokens: tokens.length, decodeMs: t2 - t1, firstTokenMs, ...(req.constraint ? { constraintMs } : {}) },
  };
}

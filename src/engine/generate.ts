/**
 * The generation loop, backend-agnostic: evaluate the prompt (reusing the
 * cached prefix), then sample → feed back → stream, until max tokens, an
 * end-of-generation token or a stop string.
 */
import { CriaError } from '../shared/errors.ts';
import { Sampler, type SamplingParams } from '../sampling/sampler.ts';
import type { Act, Weight } from '../model/ops.ts';
import type { Session } from './session.ts';
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
}

export interface GenerateStep {
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
  };
}

export async function* generate<A extends Act, W extends Weight>(session: Session<A, W>, req: GenerateRequest): AsyncGenerator<GenerateStep, GenerateResult> {
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
  const t0 = performance.now();

  // reuse the cached prefix, but always evaluate at least the last prompt token (we need its logits)
  const keep = req.onPromptLogits ? 0 : Math.min(session.commonPrefix(req.prompt), req.prompt.length - 1);
  session.truncate(keep);
  const fresh = req.prompt.slice(keep);
  let logits: Float32Array;
  if (req.onPromptLogits) {
    const all = await session.eval(fresh, 'all', undefined, req.signal);
    req.onPromptLogits(all);
    logits = all.subarray(all.length - session.model.config.nVocab);
  } else {
    logits = await session.eval(fresh, 'last', undefined, req.signal);
  }
  const t1 = performance.now();

  const history = [...req.prompt];
  const tokens: number[] = [];
  let text = '';
  let finishReason: FinishReason = 'length';
  while (tokens.length < req.maxTokens) {
    if (req.signal?.aborted) throw new CriaError('aborted', 'the request was aborted');
    const id = sampler.sample(logits, history);
    req.onStepLogits?.(logits, id);
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
    if (tokens.length < req.maxTokens) logits = await session.eval([id], 'last', undefined, req.signal);
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
    timings: { promptTokens: fresh.length, promptMs: t1 - t0, decodeTokens: tokens.length, decodeMs: t2 - t1 },
  };
}

/**
 * The one set of defaults and limits of a request's sampling fields, for every backend and
 * front door: the engine applies them (src/engine/request.ts parses every request against
 * them), the app's settings start from them and keep inside them, the CLI's flags are checked
 * by the same parser. Plain data, so the main-thread bundle can import it.
 *
 * Ranges follow the OpenAI API where it defines one (temperature 0–2, top_p (0, 1],
 * presence/frequency −2–2, top_logprobs 0–20); llama.cpp's fields (top_k, min_p,
 * repetition_penalty) take llama.cpp's meaning.
 */
export const REQUEST_DEFAULTS = {
  /** at most what the context has room for; the answer then ends with finish_reason "length" */
  max_tokens: 512,
  temperature: 0.8,
  top_p: 0.95,
  top_k: 40,
  min_p: 0.05,
  repetition_penalty: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
} as const;

/** inclusive [min, max] of each numeric field (top_p also excludes 0; repetition_penalty excludes 0) */
export const REQUEST_LIMITS = {
  max_tokens: [0, 1 << 20],
  temperature: [0, 2],
  top_p: [0, 1],
  top_k: [0, 1 << 22],
  min_p: [0, 1],
  repetition_penalty: [0, 10],
  presence_penalty: [-2, 2],
  frequency_penalty: [-2, 2],
  top_logprobs: [0, 20],
  seed: [0, 2 ** 32 - 1],
} as const satisfies Record<string, readonly [number, number]>;

/** stop strings: at most this many, each non-empty and at most STOP_MAX_LENGTH characters */
export const STOP_MAX = 16;
export const STOP_MAX_LENGTH = 1000;

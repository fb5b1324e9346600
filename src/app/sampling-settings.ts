/**
 * Sampling settings for chat requests, with defaults that suit small
 * instruction models, remembered in localStorage. Field names are the
 * request's own (OpenAI's, plus llama.cpp's top_k, min_p and
 * repetition_penalty), so they pass straight through.
 */
import { REQUEST_DEFAULTS } from '../protocol/request-limits.ts';
export interface SamplingSettings {
  temperature: number;
  top_p: number;
  top_k: number;
  min_p: number;
  max_tokens: number;
  repetition_penalty: number;
  /** empty: a new random seed per answer */
  seed: number | null;
}

/** the engine's own defaults (one set for every front door); 1 = off for the repetition penalty */
export const DEFAULT_SAMPLING: Readonly<SamplingSettings> = {
  temperature: REQUEST_DEFAULTS.temperature,
  top_p: REQUEST_DEFAULTS.top_p,
  top_k: REQUEST_DEFAULTS.top_k,
  min_p: REQUEST_DEFAULTS.min_p,
  max_tokens: REQUEST_DEFAULTS.max_tokens,
  // 1 = off: a penalty makes the engine read every logit back from the GPU for each token
  repetition_penalty: REQUEST_DEFAULTS.repetition_penalty,
  seed: null,
};

/** what each field accepts, for the form and for sanitizing stored values (inside the engine's REQUEST_LIMITS; the form's ranges are the useful part of them) */
export const SAMPLING_FIELDS: readonly { key: keyof SamplingSettings; label: string; min: number; max: number; step: number; help: string }[] = [
  { key: 'temperature', label: 'Temperature', min: 0, max: 2, step: 0.05, help: '0 always picks the most likely token; higher is more varied.' },
  { key: 'top_p', label: 'Top-p', min: 0, max: 1, step: 0.01, help: 'Keep the most likely tokens whose probabilities add up to this.' },
  { key: 'top_k', label: 'Top-k', min: 0, max: 200, step: 1, help: 'Keep only this many most likely tokens (0 = all).' },
  { key: 'min_p', label: 'Min-p', min: 0, max: 1, step: 0.01, help: 'Drop tokens less likely than this fraction of the best one.' },
  { key: 'max_tokens', label: 'Max tokens', min: 1, max: 8192, step: 1, help: 'The longest answer, in tokens.' },
  { key: 'repetition_penalty', label: 'Repetition penalty', min: 0.5, max: 2, step: 0.01, help: '1 = off; above 1 discourages repeating tokens (a little slower).' },
  { key: 'seed', label: 'Seed', min: 0, max: 2 ** 32 - 1, step: 1, help: 'Empty: different every time. A number makes answers repeatable.' },
];

const KEY = 'cria-sampling';

export function sanitizeSampling(v: Partial<Record<keyof SamplingSettings, unknown>>): SamplingSettings {
  const out: SamplingSettings = { ...DEFAULT_SAMPLING };
  for (const f of SAMPLING_FIELDS) {
    const x = v[f.key];
    if (f.key === 'seed' && (x === null || x === '' || x === undefined)) {
      out.seed = null;
      continue;
    }
    const n = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
    if (Number.isFinite(n)) (out as unknown as Record<string, number>)[f.key] = Math.min(f.max, Math.max(f.min, f.step === 1 ? Math.round(n) : n));
  }
  return out;
}

export function loadSampling(): SamplingSettings {
  try {
    return sanitizeSampling(JSON.parse(localStorage.getItem(KEY) ?? '{}'));
  } catch {
    return { ...DEFAULT_SAMPLING };
  }
}

export function saveSampling(s: SamplingSettings): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    /* private mode */
  }
}

/** the default system prompt for new conversations */
const SYSTEM_KEY = 'cria-system-prompt';
export const DEFAULT_SYSTEM_PROMPT = '';
export function loadDefaultSystemPrompt(): string {
  try {
    return localStorage.getItem(SYSTEM_KEY) ?? DEFAULT_SYSTEM_PROMPT;
  } catch {
    return DEFAULT_SYSTEM_PROMPT;
  }
}
export function saveDefaultSystemPrompt(s: string): void {
  try {
    localStorage.setItem(SYSTEM_KEY, s);
  } catch {
    /* private mode */
  }
}

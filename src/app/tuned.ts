/**
 * Tuned models: a base model in the cache with a LoRA adapter trained on the Fine-tune page, the adapter
 * kept in the model cache too. Remembered in localStorage (a small list: which adapter goes with which
 * base), so the Eval page can offer "base + adapter" beside the plain models and evaluate base vs tuned.
 * An entry whose base or adapter has left the cache is not offered (`available`).
 */
export interface TunedModel {
  /** the adapter's model-cache id */
  adapterId: string;
  adapterName: string;
  /** the base model's cache id and name */
  baseId: string;
  baseName: string;
  createdAt: number;
}

const KEY = 'cria-tuned-models';

export function listTuned(): TunedModel[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as TunedModel[]).filter((t) => t && typeof t.adapterId === 'string' && typeof t.baseId === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberTuned(t: TunedModel): void {
  const rest = listTuned().filter((x) => x.adapterId !== t.adapterId);
  try {
    localStorage.setItem(KEY, JSON.stringify([t, ...rest].slice(0, 50)));
  } catch {
    /* storage full or off: the Eval page just does not offer it */
  }
}

/** the tuned models whose base and adapter are both (complete) in the cache */
export function availableTuned(cachedIds: ReadonlySet<string>): TunedModel[] {
  return listTuned().filter((t) => cachedIds.has(t.baseId) && cachedIds.has(t.adapterId));
}

/** the Eval page's value for a tuned model in its model lists */
export const tunedValue = (t: TunedModel): string => `tuned:${t.adapterId}`;

export function tunedLabel(t: TunedModel): string {
  return `${t.baseName} + ${t.adapterName}`;
}

/** what the Fine-tune page asks the Eval page to set up (read once, on the Eval page's next showing) */
export interface EvalPreset {
  /** model A: a tuned model */
  tuned: string;
}

const PRESET = 'cria-eval-preset';

export function setEvalPreset(p: EvalPreset): void {
  sessionStorage.setItem(PRESET, JSON.stringify(p));
}

export function takeEvalPreset(): EvalPreset | undefined {
  const raw = sessionStorage.getItem(PRESET);
  sessionStorage.removeItem(PRESET);
  try {
    return raw ? (JSON.parse(raw) as EvalPreset) : undefined;
  } catch {
    return undefined;
  }
}

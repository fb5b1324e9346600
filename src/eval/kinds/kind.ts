/**
 * What a task kind is: how a task splits into units of work (usually its
 * items; perplexity splits documents into chunks), how one unit is run into
 * an ItemResult, and how results aggregate into metrics. Units are the
 * granularity of resuming: each unit's result is stored as soon as it is done.
 *
 * The judged kinds (judge-single, judge-pairwise) need several models one
 * after another and have their own shape (`JudgedKind`, judge-common.ts).
 */
import { CriaError, isCriaError } from '../../shared/errors.ts';
import type { EvalReport, EvalTarget, GenerationOutput, ItemResult, Task, TargetCallOptions } from '../types.ts';

export interface KindContext {
  target: EvalTarget;
  task: Task;
  /** the run's seed */
  seed: number;
  signal?: AbortSignal;
  /** how long loading the model took (ms), for the speed kind */
  loadMs?: number;
}

export interface Unit {
  /** stable across runs of the same task: a resumed run skips units whose id is stored */
  id: string;
  category?: string;
}

export interface Aggregate {
  metrics: EvalReport['metrics'];
  per_category: EvalReport['per_category'];
}

export interface ItemKind<U extends Unit = Unit> {
  units(task: Task, target: EvalTarget): Promise<U[]>;
  /** the runner adds `ms` and `tokensEvaluated` */
  run(unit: U, ctx: KindContext): Promise<Omit<ItemResult, 'ms'>>;
  aggregate(results: readonly ItemResult[], task?: Pick<Task, 'options'>): Aggregate;
}

/**
 * Errors that belong to one item (recorded in its result): its prompt does not fit the model's
 * context. Anything else (aborted, device lost, no model loaded, …) stops the run; malformed
 * items are refused before the run starts (`checkItems`).
 */
export function isItemError(e: unknown): boolean {
  return isCriaError(e, 'context-overflow');
}

/** Refuse a task whose items a kind cannot run, naming the first bad one. */
export function checkItems<T extends { id: string }>(items: readonly unknown[], kind: string, problem: (item: T) => string | undefined): T[] {
  const seen = new Set<string>();
  for (const x of items as T[]) {
    const p = x && typeof x === 'object' && typeof x.id === 'string' ? problem(x) : 'it has no id';
    if (p) throw new CriaError('bad-argument', `item ${JSON.stringify((x as T)?.id)} cannot run as ${kind}: ${p}`);
    if (seen.has(x.id)) throw new CriaError('bad-argument', `item id ${JSON.stringify(x.id)} appears twice; ids must be unique (runs resume by id)`);
    seen.add(x.id);
  }
  return items as T[];
}

export function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof CriaError) return { code: e.code, message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CriaError('aborted', 'the evaluation was stopped');
}

/**
 * Generate with `max_tokens` lowered to what the context leaves room for. The engine refuses a
 * prompt + max_tokens longer than its context (`context-overflow`, with the prompt length and the
 * context size in its detail); then the request is repeated with the room left. A prompt that
 * alone fills the context stays an error.
 */
export async function generateFitting(
  call: (maxTokens: number) => Promise<GenerationOutput>,
  maxTokens: number,
): Promise<GenerationOutput> {
  try {
    return await call(maxTokens);
  } catch (e) {
    const d = isCriaError(e, 'context-overflow') ? e.detail : undefined;
    const room = typeof d?.nCtx === 'number' && typeof d?.promptTokens === 'number' ? d.nCtx - d.promptTokens : 0;
    if (room >= 1 && room < maxTokens) return call(room);
    throw e;
  }
}

/** Options read with a default, checked for type. */
export function opt<T extends number | string | boolean>(task: Pick<Task, 'options'> | undefined, key: string, fallback: T): T {
  const v = task?.options?.[key];
  if (v === undefined) return fallback;
  if (typeof v !== typeof fallback) throw new CriaError('bad-argument', `task option "${key}" must be a ${typeof fallback}; got ${JSON.stringify(v)}`);
  return v as T;
}

export type { TargetCallOptions };

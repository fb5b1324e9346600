/**
 * Reports: results → EvalReport (the stable JSON `cria eval` writes and the app renders),
 * comparison of runs, export to JSON and CSV.
 *
 * Metric names (EvalReport.metrics), by kind:
 *   perplexity       ppl, ppl_stderr, bits_per_byte, nll (mean per token), tokens
 *   multiple-choice  acc, acc_stderr, acc_norm, acc_norm_stderr
 *   letter-choice    acc, acc_stderr
 *   generation       exact_match, exact_match_stderr
 *   judge-single     score, score_stderr, score_turn_1, score_turn_2, verdicts, unparseable,
 *                    constrained_verdicts
 *   judge-pairwise   win_rate, tie_rate, loss_rate, decided, undecided, inconsistent, verdicts,
 *                    unparseable, constrained_verdicts, score, score_b, relative_score
 *   speed            load_ms, ttft_ms, prefill_tokens_per_s, decode_tokens_per_s, prompt_tokens, gen_tokens
 * and for every kind `errors`: items whose result is an error (left out of the other metrics).
 * NaN (nothing to average) is written as null in JSON and as an empty cell in CSV.
 */
import { aggregate } from './kinds/index.ts';
import type { EvalReport, ItemResult, Run } from './types.ts';

/** a model as reports name it: its id, and the adapters applied to it ("model + my-task") */
export function modelLabel(m: Run['identity']['model']): string {
  return m.adapters?.length ? `${m.id} + ${m.adapters.map((a) => (a.scale === 1 ? a.name : `${a.name}×${a.scale}`)).join(' + ')}` : m.id;
}

export function buildReport(run: Pick<Run, 'identity' | 'updatedAt'>, results: readonly ItemResult[], opts: { items?: boolean } = {}): EvalReport {
  const { metrics, per_category } = aggregate(run.identity.task.kind, results);
  return {
    task: run.identity.task.name,
    model: modelLabel(run.identity.model),
    n: results.filter((r) => !r.error).length,
    metrics,
    per_category,
    identity: run.identity,
    date: new Date(run.updatedAt).toISOString(),
    ...(opts.items === false ? {} : { items: [...results] }),
  };
}

export interface MetricComparison {
  a: number | undefined;
  b: number | undefined;
  /** b − a */
  delta: number | undefined;
}

export interface ReportComparison {
  task: string;
  models: [string, string];
  metrics: Record<string, MetricComparison>;
  per_category: Record<string, Record<string, MetricComparison>>;
  /** reasons the numbers may not be comparable (different task version, items, engine, …) */
  warnings: string[];
}

function compareMetrics(a: Record<string, number | undefined>, b: Record<string, number | undefined>): Record<string, MetricComparison> {
  const out: Record<string, MetricComparison> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[k];
    const y = b[k];
    out[k] = { a: x, b: y, delta: x !== undefined && y !== undefined ? y - x : undefined };
  }
  return out;
}

/** Compare two reports of the same task (e.g. two models, two quantizations, two devices). */
export function compareReports(a: EvalReport, b: EvalReport): ReportComparison {
  const warnings: string[] = [];
  const ta = a.identity.task;
  const tb = b.identity.task;
  if (ta.name !== tb.name) warnings.push(`different tasks: ${ta.name} and ${tb.name}`);
  if (ta.version !== tb.version) warnings.push(`different task versions: ${ta.version} and ${tb.version}`);
  if (ta.items !== tb.items || a.n !== b.n) warnings.push(`different numbers of items: ${a.n} of ${ta.items} and ${b.n} of ${tb.items}`);
  if (JSON.stringify(ta.options ?? {}) !== JSON.stringify(tb.options ?? {})) warnings.push(`different task options: ${JSON.stringify(ta.options ?? {})} and ${JSON.stringify(tb.options ?? {})}`);
  if (a.identity.engine.version !== b.identity.engine.version) warnings.push(`different engine versions: ${a.identity.engine.version} and ${b.identity.engine.version}`);
  if (a.identity.seed !== b.identity.seed && (ta.kind === 'judge-single' || ta.kind === 'judge-pairwise')) warnings.push(`different seeds: ${a.identity.seed} and ${b.identity.seed}`);
  const per_category: ReportComparison['per_category'] = {};
  for (const c of new Set([...Object.keys(a.per_category), ...Object.keys(b.per_category)])) per_category[c] = compareMetrics(a.per_category[c] ?? {}, b.per_category[c] ?? {});
  return { task: a.task, models: [a.model, b.model], metrics: compareMetrics(a.metrics, b.metrics), per_category, warnings };
}

/** JSON text of a report (NaN → null); `items: false` leaves the per-item results out. */
export function reportToJson(report: EvalReport, opts: { items?: boolean } = {}): string {
  const r = opts.items === false ? { ...report, items: undefined } : report;
  return JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(rows: unknown[][]): string {
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** A report's metrics as CSV: columns task, model, category ("" = overall), n, metric, value. */
export function reportToCsv(report: EvalReport): string {
  const rows: unknown[][] = [['task', 'model', 'category', 'n', 'metric', 'value']];
  for (const [k, v] of Object.entries(report.metrics)) rows.push([report.task, report.model, '', report.n, k, v]);
  for (const [c, m] of Object.entries(report.per_category)) for (const [k, v] of Object.entries(m)) if (k !== 'n') rows.push([report.task, report.model, c, m.n, k, v]);
  return csv(rows);
}

/** Several reports side by side: one row per report, one column per metric (the union). */
export function reportsToCsv(reports: readonly EvalReport[]): string {
  const keys = [...new Set(reports.flatMap((r) => Object.keys(r.metrics)))];
  const rows: unknown[][] = [['task', 'task_version', 'model', 'runtime', 'backend', 'engine_version', 'date', 'n', ...keys]];
  for (const r of reports) rows.push([r.task, r.identity.task.version, r.model, r.identity.model.runtime ?? 'cria', r.identity.engine.backend, r.identity.engine.version, r.date, r.n, ...keys.map((k) => r.metrics[k])]);
  return csv(rows);
}

/** Per-item results as CSV (nested fields as JSON). */
export function itemsToCsv(items: readonly ItemResult[]): string {
  const rows: unknown[][] = [['id', 'category', 'ms', 'tokens_evaluated', 'error', 'pred', 'gold', 'correct', 'logprobs', 'nll', 'tokens', 'bytes', 'output', 'extracted', 'ratings', 'outcomes', 'verdicts', 'ttft_ms', 'prefill_tps', 'decode_tps']];
  for (const r of items) {
    rows.push([
      r.id,
      r.category,
      r.ms,
      r.tokensEvaluated,
      r.error ? `${r.error.code}: ${r.error.message}` : '',
      r.choice?.pred,
      r.choice?.gold,
      r.choice ? r.choice.pred === r.choice.gold : r.generation?.correct,
      r.choice?.logprobs,
      r.nll?.sum,
      r.nll?.tokens,
      r.nll?.bytes,
      r.generation?.output,
      r.generation?.extracted,
      r.judge?.ratings,
      r.judge?.pairwise?.map((p) => p.outcome),
      r.judge?.verdicts,
      r.speed?.ttftMs,
      r.speed?.prefillTps,
      r.speed?.decodeTps,
    ]);
  }
  return csv(rows);
}

/** The report of a stored run. */
export async function reportFromStore(store: { getRun(id: string): Promise<Run | undefined>; getResults(id: string): Promise<ItemResult[]> }, runId: string, opts: { items?: boolean } = {}): Promise<EvalReport | undefined> {
  const run = await store.getRun(runId);
  if (!run) return undefined;
  return buildReport(run, await store.getResults(runId), opts);
}

/**
 * How the Eval page names and writes report metrics (src/eval/report.ts lists them by kind):
 * accuracies as percentages with their standard error in points ("31.0% ± 4.6"), perplexity and
 * bits per byte as plain numbers, judge scores on their 1–10 scale, counts as counts, speed in
 * ms and tokens/s. Missing or NaN (nothing to average) is "—".
 */
import type { EvalReport, RunIdentity, TaskKind } from '../eval/index.ts';
import type { RuntimeName } from '../client/index.ts';
import { formatMs } from './format.ts';

export type MetricFormat = 'pct' | 'ppl' | 'bpb' | 'score' | 'int' | 'ms' | 'tps' | 'num';

export interface MetricDef {
  key: string;
  label: string;
  format: MetricFormat;
  /** the metric holding its standard error */
  stderr?: string;
  help?: string;
}

/** Every metric the page knows, in the order it shows them; others follow under their own name. */
export const METRICS: readonly MetricDef[] = [
  { key: 'acc', label: 'Accuracy (acc)', format: 'pct', stderr: 'acc_stderr', help: 'the choice with the highest log-likelihood is the right one' },
  { key: 'acc_norm', label: 'Accuracy, length-normalised (acc_norm)', format: 'pct', stderr: 'acc_norm_stderr', help: 'log-likelihood per byte of the choice' },
  { key: 'exact_match', label: 'Exact match', format: 'pct', stderr: 'exact_match_stderr' },
  { key: 'ppl', label: 'Perplexity (ppl)', format: 'ppl', stderr: 'ppl_stderr', help: 'lower is better' },
  { key: 'bits_per_byte', label: 'Bits per byte', format: 'bpb', help: 'lower is better' },
  { key: 'nll', label: 'Mean negative log-likelihood per token', format: 'num' },
  { key: 'tokens', label: 'Tokens scored', format: 'int' },
  { key: 'score', label: 'Judge score (1–10)', format: 'score', stderr: 'score_stderr' },
  { key: 'score_turn_1', label: 'Judge score, turn 1', format: 'score' },
  { key: 'score_turn_2', label: 'Judge score, turn 2', format: 'score' },
  { key: 'score_b', label: 'Judge score of model B (1–10)', format: 'score' },
  { key: 'relative_score', label: 'Relative score (A ÷ B)', format: 'pct', help: '“A reaches X% of B”: total of A’s grades over total of B’s' },
  { key: 'win_rate', label: 'A wins', format: 'pct' },
  { key: 'tie_rate', label: 'Ties', format: 'pct', help: 'the judge said tie, or its two orders disagreed' },
  { key: 'loss_rate', label: 'A loses', format: 'pct' },
  { key: 'decided', label: 'Turns decided', format: 'int' },
  { key: 'undecided', label: 'Turns undecided (a verdict unparseable)', format: 'int' },
  { key: 'inconsistent', label: 'Turns where the two orders disagreed', format: 'int' },
  { key: 'verdicts', label: 'Judge verdicts', format: 'int' },
  { key: 'unparseable', label: 'Unparseable verdicts', format: 'int', help: 'the judge’s answer had no [[rating]] or [[A]]/[[B]]/[[C]]' },
  { key: 'constrained_verdicts', label: 'Verdicts constrained to their format', format: 'int', help: 'the judge answered under a grammar ending in its verdict' },
  { key: 'load_ms', label: 'Load time', format: 'ms' },
  { key: 'ttft_ms', label: 'Time to first token', format: 'ms' },
  { key: 'prefill_tokens_per_s', label: 'Prompt reading (prefill)', format: 'tps' },
  { key: 'decode_tokens_per_s', label: 'Writing (decode)', format: 'tps' },
  { key: 'prompt_tokens', label: 'Prompt tokens', format: 'int' },
  { key: 'gen_tokens', label: 'Generated tokens', format: 'int' },
  { key: 'errors', label: 'Items that failed', format: 'int', help: 'e.g. longer than the model’s context; left out of the other figures' },
];

const BY_KEY = new Map(METRICS.map((m) => [m.key, m]));
const STDERR_KEYS = new Set(METRICS.flatMap((m) => (m.stderr ? [m.stderr] : [])));

export function metricDef(key: string): MetricDef {
  return BY_KEY.get(key) ?? { key, label: key.replaceAll('_', ' '), format: 'num' };
}

/** The metrics to show as rows for these reports: known ones in order, then the rest; standard errors go with their metric. */
export function metricRows(reports: readonly EvalReport[]): MetricDef[] {
  const present = new Set(reports.flatMap((r) => Object.keys(r.metrics)));
  const known = METRICS.filter((m) => present.has(m.key));
  const rest = [...present].filter((k) => !BY_KEY.has(k) && !STDERR_KEYS.has(k)).sort().map(metricDef);
  return [...known, ...rest];
}

const usable = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

export function formatValue(v: number | null | undefined, f: MetricFormat): string {
  if (!usable(v)) return '—';
  switch (f) {
    case 'pct':
      return `${(v * 100).toFixed(1)}%`;
    case 'ppl':
      return v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v.toFixed(3);
    case 'bpb':
      return v.toFixed(3);
    case 'score':
      return v.toFixed(2);
    case 'int':
      return Math.round(v).toLocaleString('en-US');
    case 'ms':
      return formatMs(v);
    case 'tps':
      return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} tok/s`;
    default:
      return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
  }
}

/** "± 4.6" (percentage points for percentages), or "" */
export function formatStderr(se: number | null | undefined, f: MetricFormat): string {
  if (!usable(se)) return '';
  if (f === 'pct') return `± ${(se * 100).toFixed(1)}`;
  if (f === 'ppl') return `± ${se >= 100 ? se.toFixed(1) : se.toFixed(3)}`;
  return `± ${formatValue(se, f)}`;
}

/** A metric of a set of metrics as text: "31.0% ± 4.6". */
export function formatMetric(metrics: Record<string, number | undefined | null>, def: MetricDef): string {
  const v = formatValue(metrics[def.key], def.format);
  const se = def.stderr ? formatStderr(metrics[def.stderr], def.format) : '';
  return se ? `${v} ${se}` : v;
}

/** A difference (b − a) as text: "+2.0 pts", "−0.153". */
export function formatDelta(d: number | undefined, f: MetricFormat): string {
  if (!usable(d)) return '—';
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const a = Math.abs(d);
  if (f === 'pct') return `${sign}${(a * 100).toFixed(1)} pts`;
  if (f === 'ms') return `${sign}${formatMs(a)}`;
  return `${sign}${formatValue(a, f === 'int' ? 'int' : f === 'tps' ? 'num' : f)}`;
}

/** For these metrics a higher value is better (for colouring differences); undefined = neither. */
export function higherIsBetter(key: string): boolean | undefined {
  if (['ppl', 'bits_per_byte', 'nll', 'loss_rate', 'ttft_ms', 'load_ms', 'errors', 'unparseable', 'undecided', 'inconsistent'].includes(key)) return false;
  if (['acc', 'acc_norm', 'exact_match', 'score', 'score_turn_1', 'score_turn_2', 'relative_score', 'win_rate', 'prefill_tokens_per_s', 'decode_tokens_per_s'].includes(key)) return true;
  return undefined;
}

/** What a per-category chart can show for a kind, best first, with the scale's top. */
export function chartMetrics(kind: TaskKind): { key: string; max?: number }[] {
  switch (kind) {
    case 'multiple-choice':
      return [{ key: 'acc_norm', max: 1 }, { key: 'acc', max: 1 }];
    case 'letter-choice':
      return [{ key: 'acc', max: 1 }];
    case 'generation':
      return [{ key: 'exact_match', max: 1 }];
    case 'judge-single':
      return [{ key: 'score', max: 10 }];
    case 'judge-pairwise':
      return [{ key: 'score', max: 10 }, { key: 'win_rate', max: 1 }, { key: 'relative_score' }];
    case 'perplexity':
      return [{ key: 'ppl' }, { key: 'bits_per_byte' }];
    default:
      return [];
  }
}

export const KIND_LABEL: Record<TaskKind, string> = {
  perplexity: 'perplexity',
  'multiple-choice': 'multiple choice',
  'letter-choice': 'multiple choice, letter answers',
  generation: 'generation, exact match',
  'judge-single': 'judged, graded 1–10',
  'judge-pairwise': 'judged, two models compared',
  speed: 'speed',
};

/**
 * Kinds that score tokens (score(): a log-probability at every position of the text) rather than
 * generate: on WebLLM each scored token is one WebLLM step, because WebLLM returns only the last
 * position's logits of a step (src/runtimes/webllm/sequence.ts).
 */
export const SCORING_KINDS: ReadonlySet<TaskKind> = new Set(['multiple-choice', 'letter-choice', 'perplexity']);

/** What runs a cached model, from its format (a GGUF: Cria's own engine). */
export function runtimeOfFormat(format: 'gguf' | 'onnx' | 'mlc' | undefined): RuntimeName {
  return format === 'onnx' ? 'onnx' : format === 'mlc' ? 'webllm' : 'cria';
}

/**
 * The Eval page's note when a model of the run (or the one loaded) runs on WebLLM: which tasks cost
 * more there, and whether the chosen kind is one of them (`slow`). None for Cria's engine and
 * onnxruntime-web, which score every position of a text in one pass.
 */
export function webllmTaskNote(runtimes: readonly (RuntimeName | undefined)[], kind: TaskKind | undefined): { text: string; slow: boolean } | undefined {
  if (!runtimes.includes('webllm')) return undefined;
  return {
    text:
      'MLC models run on WebLLM, which returns only the last position’s logits of each step: multiple-choice and perplexity tasks take one WebLLM step per scored token, ' +
      'so they take longer than on Cria’s engine. Generation, judge and speed tasks run as usual.',
    slow: kind !== undefined && SCORING_KINDS.has(kind),
  };
}

/** what ran a model, for people: Cria's own engine (GGUF), onnxruntime-web (ONNX) or WebLLM (MLC) */
export function runtimeLabel(runtime: RunIdentity['model']['runtime']): string {
  return runtime === 'onnx' ? 'onnxruntime-web (ONNX)' : runtime === 'webllm' ? 'WebLLM (MLC)' : 'Cria (GGUF)';
}

const RUNTIME_SUFFIX: Partial<Record<NonNullable<RunIdentity['model']['runtime']>, string>> = { onnx: ' (ONNX)', webllm: ' (MLC)' };

/** the name to show for a report's model A, B or judge, with its runtime when it is not Cria's own */
export function modelLabel(m: RunIdentity['model'] | undefined, name?: string): string | undefined {
  if (!m && name === undefined) return undefined;
  return `${name ?? m!.id}${(m?.runtime && RUNTIME_SUFFIX[m.runtime]) ?? ''}`;
}

/** A file name part: letters, digits, dots and dashes. */
export function slug(s: string): string {
  return s.replace(/\.gguf$/i, '').replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'x';
}

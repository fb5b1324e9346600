/**
 * <cria-eval-report>: one or more evaluation reports (src/eval's EvalReport, from a stored run
 * or an opened report file) as people read them: a table of metrics with standard errors (one
 * column per report), what a judge's verdicts came to (win/tie/loss, "A reaches X% of B",
 * unparseable verdicts counted and shown), scores per category side by side (chart and table),
 * a comparison of the reports against the first one (compareReports, with its warnings), what
 * was measured (models, engine, device, task), the items, and exports (JSON, CSV).
 */
import { html, nothing } from 'lit';
import { compareReports, itemsToCsv, reportsToCsv, reportToCsv, reportToJson, type EvalReport, type ItemResult, type RunIdentity } from '../eval/index.ts';
import { LightElement } from './light-element.ts';
import { chartMetrics, formatDelta, formatMetric, formatStderr, formatValue, higherIsBetter, KIND_LABEL, metricDef, metricRows, modelLabel, runtimeLabel, slug } from './eval-format.ts';
import { formatBytes, formatCount } from './format.ts';
import type { ChartSeries } from './eval-chart.ts';
import './eval-chart.ts';

export interface ReportEntry {
  /** run id, or "file:<name>#n" */
  key: string;
  /** the column heading: the model, made unique by the view */
  label: string;
  report: EvalReport;
  /** a run not finished: items done and in all */
  partial?: { done: number; total: number };
  /** an opened report file's name */
  fileName?: string;
  /** what the page calls the models (their file names in the model cache), when it ran them */
  names?: { A?: string; B?: string; judge?: string };
}

/** the name to show for a report's model A, B or judge */
export function modelName(e: Pick<ReportEntry, 'report' | 'names'>, role: 'A' | 'B' | 'judge'): string {
  const id = e.report.identity;
  const m = role === 'A' ? id.model : role === 'B' ? id.modelB : id.judge;
  return modelLabel(m, e.names?.[role]) ?? (role === 'B' ? 'model B' : role === 'judge' ? 'the judge' : e.report.model);
}

/** Save text as a file (a download the browser names `name`). */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const ITEMS_SHOWN = 200;

export class CriaEvalReport extends LightElement {
  static override properties = {
    entries: { attribute: false },
    chartKey: { state: true },
  };
  declare entries: ReportEntry[];
  declare chartKey: string | undefined;

  constructor() {
    super();
    this.entries = [];
    this.chartKey = undefined;
  }

  private fileBase(): string {
    const e = this.entries;
    if (e.length === 1) return `cria-eval-${slug(e[0].report.task)}-${slug(e[0].report.model)}-${e[0].report.date.slice(0, 10)}`;
    return `cria-eval-${slug([...new Set(e.map((x) => x.report.task))].join('+'))}-${e.length}-reports`;
  }

  private exportJson() {
    const e = this.entries;
    const text = e.length === 1 ? reportToJson(e[0].report) : `[\n${e.map((x) => reportToJson(x.report)).join(',\n')}\n]`;
    download(`${this.fileBase()}.json`, text, 'application/json');
  }

  private exportCsv() {
    const e = this.entries;
    download(`${this.fileBase()}.csv`, e.length === 1 ? reportToCsv(e[0].report) : reportsToCsv(e.map((x) => x.report)), 'text/csv');
  }

  private exportItems() {
    const r = this.entries[0]?.report;
    if (r?.items) download(`${this.fileBase()}-items.csv`, itemsToCsv(r.items), 'text/csv');
  }

  override render() {
    const entries = this.entries;
    if (entries.length === 0) return nothing;
    const reports = entries.map((e) => e.report);
    const one = entries.length === 1;
    const tasks = [...new Set(reports.map((r) => r.task))];
    const kinds = [...new Set(reports.map((r) => r.identity.task.kind))];
    return html`<section class="eval-report card" aria-labelledby="report-title" data-testid="eval-report">
      <header class="report-head">
        <div>
          <h2 id="report-title" tabindex="-1">${one ? `${reports[0].task} · ${entries[0].label}` : `${tasks.join(', ')}: ${entries.length} reports`}</h2>
          <p class="muted small report-sub">
            ${kinds.map((k) => KIND_LABEL[k]).join(', ')} ·
            ${one ? `${reports[0].n} of ${reports[0].identity.task.items} items · ${new Date(reports[0].date).toLocaleString()}` : entries.map((e) => e.label).join(' vs ')}
            ${entries[0].fileName && one ? html` · from <code>${entries[0].fileName}</code>` : nothing}
          </p>
        </div>
        <div class="report-actions" role="group" aria-label="Export">
          <button type="button" class="button small" @click=${() => this.exportJson()}>Export JSON</button>
          <button type="button" class="button small" @click=${() => this.exportCsv()}>Export CSV</button>
          ${one && reports[0].items?.length ? html`<button type="button" class="button small" @click=${() => this.exportItems()}>Items CSV</button>` : nothing}
        </div>
      </header>
      ${entries.filter((e) => e.partial).map((e) => html`<p class="notice warn small" role="note">${e.label}: this run is not finished (${e.partial!.done} of ${e.partial!.total} done); the figures cover what is done so far.</p>`)}
      ${this.judgeSummary(entries)}
      ${this.metricsTable(entries)} ${this.perCategory(entries)} ${entries.length > 1 ? this.comparison(entries) : nothing} ${this.identities(entries)}
      ${one ? this.items(reports[0]) : nothing}
    </section>`;
  }

  private metricsTable(entries: ReportEntry[]) {
    const rows = metricRows(entries.map((e) => e.report));
    if (rows.length === 0) return html`<p class="muted">No figures yet.</p>`;
    return html`<div class="table-wrap">
      <table class="metrics-table">
        <caption class="visually-hidden">Metrics${entries.length > 1 ? ', one column per report' : ''}</caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            ${entries.map((e) => html`<th scope="col" class="num">${entries.length > 1 ? e.label : 'Value'}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (d) => html`<tr data-metric=${d.key}>
              <th scope="row">${d.key === 'score' && entries.some((e) => e.report.identity.task.kind === 'judge-pairwise') ? 'Judge score of model A (1–10)' : d.label}${d.help ? html`<span class="metric-help muted small">${d.help}</span>` : nothing}</th>
              ${entries.map((e) => {
                const v = e.report.metrics[d.key];
                const se = d.stderr ? e.report.metrics[d.stderr] : undefined;
                return html`<td class="num" data-metric=${d.key} data-value=${typeof v === 'number' ? String(v) : ''} data-stderr=${typeof se === 'number' ? String(se) : ''}>
                  <span class="metric-value">${formatValue(v, d.format)}</span>${d.stderr && typeof se === 'number' && Number.isFinite(se) ? html` <span class="metric-stderr muted">${formatStderr(se, d.format)}</span>` : nothing}
                </td>`;
              })}
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  /** What the judge's verdicts came to, in words; unparseable ones counted, with what the judge said. */
  private judgeSummary(entries: ReportEntry[]) {
    const judged = entries.filter((e) => e.report.identity.task.kind === 'judge-single' || e.report.identity.task.kind === 'judge-pairwise');
    if (judged.length === 0) return nothing;
    return judged.map((e) => {
      const r = e.report;
      const m = r.metrics;
      const pairwise = r.identity.task.kind === 'judge-pairwise';
      const a = modelName(e, 'A');
      const b = modelName(e, 'B');
      const judge = modelName(e, 'judge');
      const bad = (r.items ?? []).flatMap((it) => (it.judge?.judgements ?? []).filter((j) => j.parsed === null).map((j) => ({ id: it.id, j })));
      return html`<div class="judge-summary" data-testid="judge-summary">
        ${pairwise
          ? html`<p class="judge-sentence">
              ${typeof m.relative_score === 'number' && Number.isFinite(m.relative_score)
                ? html`<strong>${a}</strong> reaches <strong data-testid="relative-score">${formatValue(m.relative_score, 'pct')}</strong> of <strong>${b}</strong>’s score. `
                : 'relative_score' in m
                  ? html`No relative score: no turn had both answers graded. `
                  : nothing}
              ${typeof m.win_rate === 'number' && Number.isFinite(m.win_rate)
                ? html`Against ${b}, ${a} wins ${formatValue(m.win_rate, 'pct')}, ties ${formatValue(m.tie_rate, 'pct')} and loses ${formatValue(m.loss_rate, 'pct')} of ${formatValue(m.decided, 'int')} decided turns.`
                : html`No turn was decided.`}
            </p>`
          : typeof m.score === 'number' && Number.isFinite(m.score)
            ? html`<p class="judge-sentence">${judge} graded <strong>${a}</strong> <strong>${formatMetric(m, metricDef('score'))}</strong> out of 10 on average.</p>`
            : html`<p class="judge-sentence">${judge} gave <strong>${a}</strong> no grade that could be read.</p>`}
        <div class=${(m.unparseable ?? 0) > 0 ? 'notice warn small' : 'muted small'} role="note" data-testid="unparseable">
          <strong data-testid="unparseable-count">${formatValue(m.unparseable ?? 0, 'int')} of ${formatValue(m.verdicts ?? 0, 'int')} verdicts could not be read</strong>
          (no <code>[[rating]]</code>${pairwise ? html` or <code>[[A]]</code>/<code>[[B]]</code>/<code>[[C]]</code>` : nothing} in the judge’s answer) and are left out of the
          figures. ${entries.length > 1 ? html`(${e.label})` : nothing}
          ${bad.length
            ? html`<details class="unparseable-list">
                <summary>What ${judge} wrote</summary>
                <ul>
                  ${bad.slice(0, 20).map(({ id, j }) => html`<li><span class="muted">${id}, turn ${j.turn + 1}, ${j.mode}:</span> <q>${j.raw.trim() || (j.error ? `(${j.error})` : '(nothing)')}</q></li>`)}
                </ul>
                ${bad.length > 20 ? html`<p class="muted small">…and ${bad.length - 20} more in the items below and in the exports.</p>` : nothing}
              </details>`
            : nothing}
        </div>
      </div>`;
    });
  }

  private perCategory(entries: ReportEntry[]) {
    const kind = entries[0].report.identity.task.kind;
    const cats = [...new Set(entries.flatMap((e) => Object.keys(e.report.per_category)))].sort();
    if (cats.length === 0) return nothing;
    const options = chartMetrics(kind).filter((o) => entries.some((e) => cats.some((c) => typeof e.report.per_category[c]?.[o.key] === 'number')));
    const chosen = options.find((o) => o.key === this.chartKey) ?? options[0];
    const pairwise = kind === 'judge-pairwise';
    let series: ChartSeries[] = [];
    if (chosen) {
      series = entries.flatMap((e): ChartSeries[] => {
        const pc = e.report.per_category;
        const val = (k: string) => Object.fromEntries(cats.map((c) => [c, pc[c]?.[k]]));
        // pairwise grades: A and B side by side, as the Vicuna figure shows models
        if (pairwise && chosen.key === 'score') {
          return [
            { label: `${modelName(e, 'A')}${entries.length > 1 ? ` (${e.label})` : ''}`, values: val('score') },
            { label: `${modelName(e, 'B')}${entries.length > 1 ? ` (${e.label})` : ''}`, values: val('score_b') },
          ];
        }
        return [{ label: e.label, values: val(chosen.key) }];
      });
    }
    const def = chosen ? metricDef(chosen.key) : undefined;
    const drawn = series.some((x) => cats.some((c) => Number.isFinite(x.values[c] ?? NaN)));
    const tableKeys = [...new Set(entries.flatMap((e) => cats.flatMap((c) => Object.keys(e.report.per_category[c] ?? {}))))].filter((k) => k !== 'n' && !k.endsWith('_stderr'));
    const rowsOf = metricRows([{ metrics: Object.fromEntries(tableKeys.map((k) => [k, 0])) } as unknown as EvalReport]);
    return html`<section class="report-section" aria-labelledby="per-category-title">
      <div class="section-head">
        <h3 id="per-category-title">Per category</h3>
        ${options.length > 1
          ? html`<label class="inline-field small">
              <span>Chart</span>
              <select @change=${(e: Event) => (this.chartKey = (e.target as HTMLSelectElement).value)}>
                ${options.map((o) => html`<option value=${o.key} ?selected=${o.key === chosen?.key}>${metricDef(o.key).label}</option>`)}
              </select>
            </label>`
          : nothing}
      </div>
      ${chosen && def && !drawn ? html`<p class="muted small">Nothing to draw: no category has a figure for “${def.label}”.</p>` : nothing}
      ${chosen && def && drawn
        ? html`<cria-eval-chart
            .series=${series}
            .categories=${cats}
            .max=${chosen.max}
            .format=${(v: number) => formatValue(v, def.format)}
            .tickFormat=${def.format === 'pct' ? (v: number) => `${Math.round(v * 100)}%` : (v: number) => (Math.abs(v) >= 10 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1))}
            caption="${def.label} per category${entries.length > 1 || pairwise ? ', side by side' : ''}"
          ></cria-eval-chart>`
        : nothing}
      <details class="category-details">
        <summary>Per-category figures (${cats.length} ${cats.length === 1 ? 'category' : 'categories'})</summary>
        <div class="table-wrap">
          <table class="category-table">
            <thead>
              <tr>
                <th scope="col">Category</th>
                ${entries.length > 1 ? html`<th scope="col">Report</th>` : nothing}
                <th scope="col" class="num">n</th>
                ${rowsOf.map((d) => html`<th scope="col" class="num">${d.label}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${cats.flatMap((c) =>
                entries.map((e, i) => {
                  const m = e.report.per_category[c];
                  return html`<tr>
                    ${i === 0 ? html`<th scope="row" rowspan=${entries.length}>${c}</th>` : nothing} ${entries.length > 1 ? html`<td>${e.label}</td>` : nothing}
                    <td class="num">${m?.n ?? '—'}</td>
                    ${rowsOf.map((d) => html`<td class="num">${m ? formatMetric(m, d) : '—'}</td>`)}
                  </tr>`;
                }),
              )}
            </tbody>
          </table>
        </div>
      </details>
    </section>`;
  }

  private comparison(entries: ReportEntry[]) {
    const base = entries[0];
    return html`<section class="report-section" aria-labelledby="compare-title">
      <h3 id="compare-title">Comparison with ${base.label}</h3>
      ${entries.slice(1).map((e) => {
        const c = compareReports(base.report, e.report);
        const keys = metricRows([base.report, e.report]);
        return html`<div class="comparison" data-testid="comparison">
          <h4>${e.label} − ${base.label}</h4>
          ${c.warnings.length
            ? html`<div class="notice warn small" role="note">
                <strong>These figures may not be comparable:</strong>
                <ul>
                  ${c.warnings.map((w) => html`<li>${w}</li>`)}
                </ul>
              </div>`
            : html`<p class="muted small">Same task, items, options and engine version.</p>`}
          <div class="table-wrap">
            <table class="compare-table">
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">${base.label}</th>
                  <th scope="col" class="num">${e.label}</th>
                  <th scope="col" class="num">Difference</th>
                </tr>
              </thead>
              <tbody>
                ${keys.map((d) => {
                  const m = c.metrics[d.key];
                  const better = higherIsBetter(d.key);
                  const dir = m?.delta === undefined || !Number.isFinite(m.delta) || m.delta === 0 || better === undefined ? '' : m.delta > 0 === better ? 'better' : 'worse';
                  return html`<tr>
                    <th scope="row">${d.label}</th>
                    <td class="num">${formatValue(m?.a, d.format)}</td>
                    <td class="num">${formatValue(m?.b, d.format)}</td>
                    <td class="num delta ${dir}">${formatDelta(m?.delta, d.format)}${dir ? html`<span class="visually-hidden"> (${dir})</span>` : nothing}</td>
                  </tr>`;
                })}
              </tbody>
            </table>
          </div>
        </div>`;
      })}
    </section>`;
  }

  private modelFacts(m: RunIdentity['model'] | undefined, name?: string) {
    if (!m) return '—';
    const types = Object.entries(m.tensorTypes)
      .sort((a, b) => b[1] - a[1])
      .map(([t]) => t)
      .join(', ');
    return html`<strong>${name ?? m.id}</strong> <span class="muted">(${name && name !== m.id ? `“${m.id}”, ` : ''}${m.architecture}, ${m.parameters ? `${formatCount(m.parameters)} parameters, ` : ''}${types}${m.nCtx ? `, context ${m.nCtx}` : ''}, run by ${runtimeLabel(m.runtime)})</span>`;
  }

  private identities(entries: ReportEntry[]) {
    return html`<details class="report-section identity-details">
      <summary>What was measured</summary>
      ${entries.map((e) => {
        const id = e.report.identity;
        const t = id.task;
        const options = t.options && Object.keys(t.options).length ? JSON.stringify(t.options) : 'none';
        return html`<dl class="facts identity">
          ${entries.length > 1 ? html`<div class="wide"><dt>Report</dt><dd><strong>${e.label}</strong></dd></div>` : nothing}
          <div class="wide"><dt>Model${id.modelB ? ' A' : ''}</dt><dd>${this.modelFacts(id.model, e.names?.A)}</dd></div>
          ${id.modelB ? html`<div class="wide"><dt>Model B</dt><dd>${this.modelFacts(id.modelB, e.names?.B)}</dd></div>` : nothing}
          ${id.judge ? html`<div class="wide"><dt>Judge</dt><dd>${this.modelFacts(id.judge, e.names?.judge)}</dd></div>` : nothing}
          <div><dt>Task</dt><dd>${t.name} v${t.version} (${KIND_LABEL[t.kind]}), ${t.items} items</dd></div>
          <div><dt>Source</dt><dd>${t.source}</dd></div>
          <div><dt>Options</dt><dd><code>${options}</code></dd></div>
          <div><dt>Engine</dt><dd>Cria ${id.engine.version}, ${id.engine.backend}</dd></div>
          <div><dt>Device</dt><dd>${id.device ? `${id.device.description || [id.device.vendor, id.device.architecture].filter(Boolean).join(' ')}${id.device.f16 ? ', f16' : ''}` : '—'}</dd></div>
          <div><dt>Seed</dt><dd>${id.seed}</dd></div>
          <div><dt>Date</dt><dd>${new Date(e.report.date).toLocaleString()}</dd></div>
        </dl>`;
      })}
    </details>`;
  }

  private itemSummary(it: ItemResult) {
    if (it.error) return html`<span class="badge warn">${it.error.code}</span> ${it.error.message}`;
    if (it.choice) {
      const c = it.choice;
      return html`${c.pred === c.gold ? html`<span class="badge ok">right</span>` : html`<span class="badge">wrong</span>`} chose ${c.pred + 1}, normalised ${c.predNorm + 1}, right ${c.gold + 1}`;
    }
    if (it.nll) return `${it.nll.tokens} tokens, ${formatBytes(it.nll.bytes)}, mean nll ${(it.nll.sum / Math.max(1, it.nll.tokens)).toFixed(3)}`;
    if (it.generation) return html`${it.generation.correct ? html`<span class="badge ok">right</span>` : html`<span class="badge">wrong</span>`} answered <q>${it.generation.extracted}</q>`;
    if (it.speed) return `${formatValue(it.speed.ttftMs, 'ms')} to first token, ${formatValue(it.speed.prefillTps, 'tps')} prefill, ${formatValue(it.speed.decodeTps, 'tps')} decode`;
    if (it.judge) {
      const js = it.judge.judgements ?? [];
      return html`<ul class="verdicts">
        ${js.map(
          (j) => html`<li>
            <span class="muted">turn ${j.turn + 1}, ${j.mode}:</span>
            ${j.parsed === null ? html`<span class="badge warn">unparseable</span>` : html`<strong>${j.parsed}</strong>`}
            <q class="verdict-raw">${j.raw.trim().slice(0, 240) || (j.error ? `(${j.error})` : '(nothing)')}</q>
          </li>`,
        )}
        ${(it.judge.errors ?? []).map((e) => html`<li class="field-error">${e}</li>`)}
      </ul>`;
    }
    return '—';
  }

  private items(r: EvalReport) {
    const items = r.items ?? [];
    if (items.length === 0) return nothing;
    return html`<details class="report-section items-details">
      <summary>Items (${items.length})</summary>
      <div class="table-wrap">
        <table class="items-table">
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Result</th>
              <th scope="col" class="num">Time</th>
            </tr>
          </thead>
          <tbody>
            ${items.slice(0, ITEMS_SHOWN).map(
              (it) => html`<tr>
                <th scope="row"><code>${it.id}</code>${it.category ? html`<span class="item-category muted small">${it.category}</span>` : nothing}</th>
                <td>${this.itemSummary(it)}</td>
                <td class="num">${formatValue(it.ms, 'ms')}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${items.length > ITEMS_SHOWN ? html`<p class="muted small">The first ${ITEMS_SHOWN} of ${items.length}; “Items CSV” has them all.</p>` : nothing}
    </details>`;
  }
}
customElements.define('cria-eval-report', CriaEvalReport);

declare global {
  interface HTMLElementTagNameMap {
    'cria-eval-report': CriaEvalReport;
  }
}

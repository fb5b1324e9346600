/**
 * <cria-eval-view>: the Eval page (#/eval). Measure models on this device: choose a task and
 * the models (eval-setup.ts), watch it run (items done of all, rate, time left; Stop), and read
 * the reports (eval-report.ts). Every run is kept in IndexedDB item by item (src/eval), so the
 * runs list shows finished runs, stopped ones and ones a reload interrupted, which resume where
 * they were. Several runs (or opened report files, e.g. from `cria eval --out`) can be selected
 * and are then shown side by side and compared.
 */
import { html, nothing } from 'lit';
import { reportFromStore, type EvalReport, type Run } from '../eval/index.ts';
import { LightElement } from './light-element.ts';
import { engine, StateController } from './engine-state.ts';
import { toAppError } from './errors.ts';
import { formatDuration, formatWhen } from './format.ts';
import { deleteRunTask, getRunTask, runModels, type RunModels } from './eval-data.ts';
import { evals, lockedRuns, runState, type LiveRun, type RunState } from './eval-run.ts';
import { KIND_LABEL, modelLabel } from './eval-format.ts';
import { modelName, type ReportEntry } from './eval-report.ts';
import type { CriaEvalSetup, StartRequest } from './eval-setup.ts';
import type { CriaConfirm } from './confirm-dialog.ts';
import './eval-setup.ts';
import './confirm-dialog.ts';
import './load-progress.ts';
import './problem-card.ts';
import './eval.css';

const STATE_LABEL: Record<RunState, string> = {
  done: 'done',
  running: 'running',
  stopped: 'stopped',
  failed: 'failed',
  elsewhere: 'running in another tab',
  interrupted: 'interrupted',
};

interface Opened {
  key: string;
  fileName: string;
  report: EvalReport;
}

/** Is this a report `cria eval` or this page wrote? (the fields the page reads) */
function isReport(v: unknown): v is EvalReport {
  const r = v as Partial<EvalReport> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.task === 'string' &&
    typeof r.model === 'string' &&
    typeof r.metrics === 'object' &&
    r.metrics !== null &&
    typeof r.per_category === 'object' &&
    r.per_category !== null &&
    typeof r.identity?.task?.kind === 'string' &&
    typeof r.identity?.model?.id === 'string'
  );
}

/** JSON null (how exports write NaN) back to NaN */
function revive(r: EvalReport): EvalReport {
  const fix = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v === null ? NaN : v]));
  return { ...r, metrics: fix(r.metrics) as EvalReport['metrics'], per_category: Object.fromEntries(Object.entries(r.per_category).map(([c, m]) => [c, fix(m)])) as EvalReport['per_category'] };
}

export class CriaEvalView extends LightElement {
  static override properties = {
    runs: { state: true },
    states: { state: true },
    models: { state: true },
    opened: { state: true },
    selected: { state: true },
    entries: { state: true },
    listError: { state: true },
    openError: { state: true },
    rowMessage: { state: true },
  };
  declare runs: Run[] | undefined;
  declare states: Map<string, RunState>;
  declare models: Map<string, RunModels>;
  declare opened: Opened[];
  /** selected run ids / opened report keys, in the order they were selected */
  declare selected: string[];
  declare entries: ReportEntry[];
  declare listError: string;
  declare openError: string;
  declare rowMessage: { id: string; text: string } | undefined;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private elsewhereTimer?: ReturnType<typeof setTimeout>;
  private lastRefresh = 0;
  private opening = 0;
  private initialSelection = true;

  constructor() {
    super();
    this.runs = undefined;
    this.states = new Map();
    this.models = new Map();
    this.opened = [];
    this.selected = [];
    this.entries = [];
    this.listError = '';
    this.openError = '';
    this.rowMessage = undefined;
    new StateController(this, engine);
    new StateController(this, evals);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    evals.addEventListener('change', this.onEvalChange);
    window.addEventListener('hashchange', this.onRoute);
    void this.refresh();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    evals.removeEventListener('change', this.onEvalChange);
    window.removeEventListener('hashchange', this.onRoute);
  }

  /** back on the page: other tabs may have run things, and the model cache may have changed */
  private onRoute = () => {
    if (location.hash.startsWith('#/eval')) {
      void this.refresh();
      void this.querySelector<CriaEvalSetup>('cria-eval-setup')?.refreshModels();
    }
  };

  private wasLive = false;
  private onEvalChange = () => {
    const live = evals.live;
    if (live) {
      this.wasLive = true;
      // the running run's row (and its report, when selected): at most once a second
      const wait = Math.max(0, 1000 - (Date.now() - this.lastRefresh));
      if (!this.refreshTimer) this.refreshTimer = setTimeout(() => ((this.refreshTimer = undefined), void this.refresh()), wait);
    } else if (this.wasLive) {
      this.wasLive = false;
      const end = evals.lastEnd;
      void this.refresh().then(() => {
        if (end?.runId && end.status === 'done') {
          // base vs tuned: the two runs side by side
          this.selected = this.compareWith && this.compareWith !== end.runId ? [this.compareWith, end.runId] : [end.runId];
          void this.loadEntries().then(() => this.focusReport());
        }
      });
      void this.querySelector<CriaEvalSetup>('cria-eval-setup')?.refreshDownloaded();
    }
  };

  private focusReport() {
    const active = document.activeElement;
    if (active && active !== document.body && !this.contains(active)) return;
    this.updateComplete.then(() => this.querySelector<HTMLElement>('#report-title')?.focus({ preventScroll: false }));
  }

  /** the runs list (store, locks, models), then the selected reports */
  async refresh(): Promise<void> {
    this.lastRefresh = Date.now();
    try {
      const store = await evals.openStore();
      const [runs, locked, models] = await Promise.all([store.listRuns(), lockedRuns(), runModels()]);
      this.runs = runs;
      this.models = models;
      this.states = new Map(runs.map((r) => [r.id, runState(r, locked, evals.live?.runId)]));
      this.listError = '';
      // a run in another tab: look again until it ends there (or that tab closes)
      if ([...this.states.values()].includes('elsewhere') && !this.elsewhereTimer) this.elsewhereTimer = setTimeout(() => ((this.elsewhereTimer = undefined), void this.refresh()), 2000);
      const known = new Set([...runs.map((r) => r.id), ...this.opened.map((o) => o.key)]);
      this.selected = this.selected.filter((k) => known.has(k));
      if (this.initialSelection && this.selected.length === 0 && runs.length > 0) this.selected = [runs[0].id];
      this.initialSelection = false;
    } catch (e) {
      this.listError = toAppError(e).message;
      this.runs = [];
    }
    await this.loadEntries();
  }

  private async loadEntries(): Promise<void> {
    const n = ++this.opening;
    const store = await evals.openStore();
    const out: ReportEntry[] = [];
    for (const key of this.selected) {
      const o = this.opened.find((x) => x.key === key);
      if (o) {
        out.push({ key, label: '', report: o.report, fileName: o.fileName });
        continue;
      }
      const run = this.runs?.find((r) => r.id === key);
      if (!run) continue;
      const report = await reportFromStore(store, key);
      if (!report) continue;
      const m = this.models.get(key);
      const names = m ? { A: m.A.label, ...(m.B ? { B: m.B.label } : {}), ...(m.judge ? { judge: m.judge.label } : {}) } : undefined;
      out.push({ key, label: '', report, ...(names ? { names } : {}), ...(run.status !== 'done' ? { partial: { done: run.done, total: run.total } } : {}) });
    }
    if (n !== this.opening) return;
    this.entries = labelled(out);
  }

  private toggle(key: string, on: boolean) {
    this.selected = on ? [...this.selected.filter((k) => k !== key), key] : this.selected.filter((k) => k !== key);
    void this.loadEntries();
  }

  // ---- running

  /** the first run of a pair (base vs tuned): shown beside the second when it ends */
  private compareWith: string | undefined;

  private async onStart(e: CustomEvent<StartRequest>) {
    const { prepare, models, then } = e.detail;
    this.compareWith = undefined;
    this.focusStop();
    const first = await evals.start({ prepare, models });
    if (!then || first.status !== 'done') return;
    this.compareWith = first.runId;
    this.focusStop();
    await evals.start({ prepare, models: then });
  }

  private focusStop() {
    this.updateComplete.then(() => this.querySelector<HTMLElement>('.live-stop')?.focus());
  }

  private async resume(run: Run) {
    this.rowMessage = undefined;
    const saved = await getRunTask(run.id).catch(() => undefined);
    if (!saved) {
      this.rowMessage = { id: run.id, text: 'The task of this run was not kept, so it cannot be resumed. Start it again.' };
      return;
    }
    // every model it needs must still be in the cache
    const cached = new Set((await engine.client.cache.list().catch(() => [])).filter((m) => m.complete).map((m) => m.id));
    const needed = [saved.models.A, saved.models.B, saved.models.judge].flatMap((m) => (m ? [m, ...(m.adapter ? [m.adapter] : [])] : []));
    const missing = needed.filter((m) => !cached.has(m.cacheId));
    if (missing.length) {
      this.rowMessage = { id: run.id, text: `${missing.map((m) => m!.label).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} no longer in the model cache. Download ${missing.length > 1 ? 'them' : 'it'} again on the Models page, then resume.` };
      return;
    }
    this.focusStop();
    const end = await evals.start({ resume: run.id });
    if (end.status === 'failed' && end.error) this.rowMessage = { id: run.id, text: end.error.message };
  }

  private async deleteRun(run: Run) {
    const ok = await this.querySelector<CriaConfirm>('cria-confirm')!.ask({
      title: 'Delete this run?',
      message: `${run.identity.task.name} on ${run.identity.model.id} (${run.done} of ${run.total} done): its results are deleted from this browser. Exported files are not affected.`,
      confirm: 'Delete',
      danger: true,
    });
    if (!ok) return;
    try {
      const store = await evals.openStore();
      await store.deleteRun(run.id);
      await deleteRunTask(run.id);
    } catch (e) {
      this.rowMessage = { id: run.id, text: toAppError(e).message };
    }
    this.selected = this.selected.filter((k) => k !== run.id);
    await this.refresh();
    this.querySelector<HTMLElement>('#runs-title')?.focus();
  }

  // ---- report files

  private async openFiles(input: HTMLInputElement) {
    const files = [...(input.files ?? [])];
    input.value = '';
    this.openError = '';
    const added: Opened[] = [];
    for (const f of files) {
      let v: unknown;
      try {
        v = JSON.parse(await f.text());
      } catch (e) {
        this.openError = `${f.name} is not JSON (${(e as Error).message}). Open a report written by “Export JSON” or by cria eval --out.`;
        return;
      }
      const list = Array.isArray(v) ? v : [v];
      const bad = list.findIndex((r) => !isReport(r));
      if (list.length === 0 || bad >= 0) {
        this.openError = `${f.name} is not a Cria evaluation report${list.length > 1 ? ` (entry ${bad + 1})` : ''}: it needs task, model, metrics, per_category and identity. Open a report written by “Export JSON” or by cria eval --out.`;
        return;
      }
      list.forEach((r, i) => added.push({ key: `file:${f.name}#${i}:${Date.now()}`, fileName: f.name, report: revive(r as EvalReport) }));
    }
    this.opened = [...this.opened, ...added];
    this.selected = [...this.selected, ...added.map((a) => a.key)];
    await this.loadEntries();
  }

  private closeFile(key: string) {
    this.opened = this.opened.filter((o) => o.key !== key);
    this.selected = this.selected.filter((k) => k !== key);
    void this.loadEntries();
  }

  // ---- rendering

  override render() {
    const live = evals.live;
    return html`<div class="page eval-page">
      <h1 class="page-title" tabindex="-1">Evaluate</h1>
      <p class="muted eval-intro">Measure models on this device: accuracy on public benchmarks or your own questions, perplexity, judged answers, speed. Everything runs here; nothing leaves this browser.</p>
      ${engine.blocked ? html`<cria-problem kind="webgpu" compact></cria-problem>` : nothing}
      <section class="section" aria-labelledby="eval-new-title">
        <h2 id="eval-new-title">New evaluation</h2>
        <cria-eval-setup .disabled=${!!live} @start=${(e: CustomEvent<StartRequest>) => void this.onStart(e)}></cria-eval-setup>
      </section>
      ${live ? this.liveCard(live) : this.lastEnd()}
      <section class="section" aria-labelledby="runs-title">
        <div class="section-head">
          <h2 id="runs-title" tabindex="-1">Runs</h2>
          <label class="button small file-button">
            Open a report file…
            <input id="eval-open-report" class="visually-hidden" type="file" accept=".json,application/json" multiple @change=${(e: Event) => void this.openFiles(e.target as HTMLInputElement)} />
          </label>
        </div>
        ${this.openError ? html`<p class="field-error" role="alert">${this.openError}</p>` : nothing} ${this.runList()}
      </section>
      ${this.entries.length ? html`<cria-eval-report .entries=${this.entries}></cria-eval-report>` : nothing}
      <cria-confirm></cria-confirm>
    </div>`;
  }

  private liveCard(l: LiveRun) {
    const judged = l.task.kind === 'judge-single' || l.task.kind === 'judge-pairwise';
    const steps = judged
      ? [
          { phase: 'answers', role: 'A', text: `${l.models.A.label} answers` },
          ...(l.task.kind === 'judge-pairwise' && l.models.B ? [{ phase: 'answers', role: 'B', text: `${l.models.B.label} answers` }] : []),
          { phase: 'judging', role: 'judge', text: `${l.models.judge?.label ?? 'the judge'} judges` },
        ]
      : [];
    const what = l.phase === 'preparing' ? 'Preparing the task' : l.phase === 'load' ? 'Loading a model' : l.phase === 'items' ? 'Items' : l.phase === 'answers' ? `Answers of model ${l.role}` : 'Verdicts';
    const rate = l.rate ? `${l.rate >= 1 ? l.rate.toFixed(1) : l.rate.toFixed(2)} per second` : '';
    const eta = l.etaSeconds !== undefined && l.done < l.total ? `about ${formatDuration(l.etaSeconds)} left${judged ? ' in this step' : ''}` : '';
    const dl = l.download;
    return html`<section class="section" aria-labelledby="eval-live-title">
      <h2 id="eval-live-title">Running</h2>
      <div class="card eval-live" data-testid="eval-live" data-phase=${l.phase}>
        <div class="live-head">
          <p class="live-task"><strong>${l.task.name}</strong> <span class="muted">${l.task.items ? `${KIND_LABEL[l.task.kind]} · ${l.task.items} items · ` : ''}${l.models.A.label}${l.models.B ? ` vs ${l.models.B.label}` : ''}</span></p>
          <button type="button" class="button small live-stop" ?disabled=${l.stopping} @click=${() => evals.stop()}>${l.stopping ? 'Stopping…' : 'Stop'}</button>
        </div>
        ${steps.length
          ? html`<ol class="live-steps">
              ${steps.map((s) => html`<li ?data-current=${l.phase === s.phase && (l.role === s.role || s.phase === 'judging') || (l.phase === 'load' && l.role === s.role)}>${s.text}</li>`)}
            </ol>`
          : nothing}
        ${l.phase === 'load' && engine.model.kind === 'loading'
          ? html`<cria-load-progress></cria-load-progress>`
          : l.phase === 'preparing'
            ? html`<p class="small">${dl ? `Downloading the task: ${(dl.loadedBytes / 1e6).toFixed(1)} MB${dl.totalBytes ? ` of ${(dl.totalBytes / 1e6).toFixed(1)} MB` : ''}` : 'Reading the task…'}</p>
                <progress aria-label="Preparing the task" max=${dl?.totalBytes ?? 1} .value=${dl?.totalBytes ? dl.loadedBytes : undefined}></progress>`
            : html`<p class="live-progress small" aria-live="polite" data-testid="eval-progress">
                  ${what}: <strong>${l.done} of ${l.total}</strong> done${rate ? ` · ${rate}` : ''}${eta ? ` · ${eta}` : ''}
                </p>
                <progress aria-label="${what} done" max=${Math.max(1, l.total)} .value=${l.done}></progress>`}
        <p class="muted small">Results are kept as each item finishes: Stop, a reload or a closed tab loses nothing, and the run resumes where it was. Chat waits until it ends.</p>
      </div>
    </section>`;
  }

  private lastEnd() {
    const end = evals.lastEnd;
    if (!end || end.status === 'done') return nothing;
    if (end.status === 'stopped') return html`<p class="notice small eval-ended" role="status">Stopped. ${end.runId ? 'It can be resumed from the list below.' : ''}</p>`;
    return html`<section class="problem eval-ended" role="alert" data-code=${end.error?.code ?? 'internal'}>
      <h2 class="problem-title">The evaluation ${end.runId ? 'stopped with an error' : 'could not start'}</h2>
      <p>${end.error?.message}</p>
      ${end.runId ? html`<p class="small">What was done is kept; it can be resumed from the list below.</p>` : nothing}
    </section>`;
  }

  private runList() {
    const runs = this.runs;
    if (runs === undefined) return html`<p class="muted">Reading the runs…</p>`;
    if (this.listError) return html`<p class="field-error" role="alert">The runs could not be read: ${this.listError}</p>`;
    const live = evals.live;
    return html`${runs.length === 0 && this.opened.length === 0 ? html`<p class="muted">No runs yet. Start one above, or open a report file.</p>` : nothing}
      <ul class="run-list" aria-label="Runs and opened reports" ?hidden=${runs.length === 0 && this.opened.length === 0}>
        ${runs.map((r) => {
          const state = this.states.get(r.id) ?? r.status;
          const m = this.models.get(r.id);
          const id = r.identity;
          const models = [modelLabel(id.model, m?.A.label), modelLabel(id.modelB, m?.B?.label)].filter(Boolean).join(' vs ');
          const judge = m?.judge?.label ?? id.judge?.id;
          const checked = this.selected.includes(r.id);
          const resumable = state === 'stopped' || state === 'failed' || state === 'interrupted';
          const msg = this.rowMessage?.id === r.id ? this.rowMessage.text : '';
          return html`<li class="run-row" data-run-id=${r.id} data-state=${state}>
            <label class="check run-pick">
              <input type="checkbox" .checked=${checked} @change=${(e: Event) => this.toggle(r.id, (e.target as HTMLInputElement).checked)} />
              <span class="run-title"><strong>${id.task.name}</strong> <span class="run-models">${models}${judge ? `, judged by ${judge}` : ''}</span></span>
            </label>
            <span class="run-meta small">
              <span class="badge ${state === 'done' ? 'ok' : state === 'running' || state === 'elsewhere' ? '' : 'warn'}">${STATE_LABEL[state]}</span>
              <span class="muted">${r.done} of ${r.total} · ${formatWhen(r.updatedAt)}</span>
            </span>
            <span class="run-actions">
              ${resumable
                ? html`<button type="button" class="button small" ?disabled=${!!live || engine.blocked} @click=${() => void this.resume(r)} aria-label="Resume ${id.task.name} on ${models}">Resume</button>`
                : nothing}
              <button type="button" class="button small ghost" ?disabled=${state === 'running' || state === 'elsewhere'} @click=${() => void this.deleteRun(r)} aria-label="Delete the run of ${id.task.name} on ${models}">Delete</button>
            </span>
            ${msg ? html`<p class="field-error small run-message" role="alert">${msg}</p>` : nothing}
          </li>`;
        })}
        ${this.opened.map(
          (o) => html`<li class="run-row opened" data-file=${o.fileName}>
            <label class="check run-pick">
              <input type="checkbox" .checked=${this.selected.includes(o.key)} @change=${(e: Event) => this.toggle(o.key, (e.target as HTMLInputElement).checked)} />
              <span class="run-title"><strong>${o.report.task}</strong> <span class="run-models">${[modelLabel(o.report.identity.model), modelLabel(o.report.identity.modelB)].filter(Boolean).join(' vs ')}${o.report.identity.judge ? `, judged by ${o.report.identity.judge.id}` : ''}</span></span>
            </label>
            <span class="run-meta small"><span class="badge">file</span> <span class="muted">${o.fileName}</span></span>
            <span class="run-actions"><button type="button" class="button small ghost" @click=${() => this.closeFile(o.key)} aria-label="Close ${o.fileName}">Close</button></span>
          </li>`,
        )}
      </ul>
      ${runs.length + this.opened.length > 1 ? html`<p class="muted small">Tick several to see them side by side and compared with the first one ticked.</p>` : nothing}`;
  }
}

/** Column labels: the model (A vs B for pairwise), made unique with the date, then a number. */
function labelled(entries: ReportEntry[]): ReportEntry[] {
  const base = entries.map((e) => (e.report.identity.task.kind === 'judge-pairwise' ? `${modelName(e, 'A')} vs ${modelName(e, 'B')}` : modelName(e, 'A')));
  const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;
  const dated = base.map((b, i) => (count(base, b) > 1 ? `${b} · ${new Date(entries[i].report.date).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })}` : b));
  const seen = new Map<string, number>();
  return entries.map((e, i) => {
    const l = dated[i];
    const k = (seen.get(l) ?? 0) + 1;
    seen.set(l, k);
    return { ...e, label: count(dated, l) > 1 ? `${l} (${k})` : l };
  });
}

customElements.define('cria-eval-view', CriaEvalView);

declare global {
  interface HTMLElementTagNameMap {
    'cria-eval-view': CriaEvalView;
  }
}

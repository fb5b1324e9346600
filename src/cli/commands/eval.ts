/**
 * `cria eval`: evaluate a model with the eval library (src/eval/) and write its JSON report.
 *
 * The task is built in Node (eval-task.ts: a loader over --data, or the catalogue). On
 * `--engine webgpu` (the default) it runs in the CLI's headless Chromium page
 * (browser/engine.ts) through the same client API users get: `runTask` + `fromClient(client)`
 * + `IdbEvalStore`, so every finished item is stored in the page's IndexedDB as it completes.
 * With `--cache DIR` that IndexedDB lives in a kept profile, and `--resume` continues the
 * newest unfinished run of the same task (same data, options and models) after a crash, a kill
 * or Ctrl-C. The first Ctrl-C (or SIGTERM) stops the run cleanly (stored as "stopped"); a
 * second quits at once. `--engine cpu` (WebAssembly) and `--engine reference` run the same harness in Node
 * (runs kept in memory).
 *
 * Judged tasks load the contestants and the judge into the one engine in turn (runTask's
 * order: A, then B, then the judge). Progress goes to stderr; the report (src/eval/report.ts)
 * to stdout, or to --out.
 */
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isJudged, reportToJson, type EvalProgress, type EvalReport, type ModelRole, type Run, type Task } from '../../eval/index.ts';
import { readGguf } from '../../formats/gguf.ts';
import { fileSource } from '../../formats/source-node.ts';
import { urlSource } from '../../formats/source.ts';
import { summarize } from '../../model/inspect.ts';
import type { LoadProgress } from '../../protocol/api.ts';
import { CriaError, isCriaError } from '../../shared/errors.ts';
import type { PageEvalProgress, ResumeMatch } from '../browser/page-api.ts';
import type { Command } from '../command.ts';
import { checkCacheOption, parseEngine, parseThreads, stderrEngineProgress } from '../engine.ts';
import { buildTask, EVAL_TASKS, rolesOf, type ChoiceStyle } from '../eval-task.ts';
import { locateModel, numberOption, type ModelLocation } from '../model-source.ts';

export const evalCommand: Command = {
  summary: 'evaluate a model (perplexity, multiple choice, judged answers, speed): a JSON report',
  usage:
    'cria eval --model MODEL --task TASK [--data PATH_OR_URL] [--limit N] [--out report.json] [--no-items]\n' +
    '          [--engine webgpu|cpu|reference] [--threads N] [--cache DIR] [--resume] [--seed S]\n' +
    '          [--style continuation|letter]                       multiple choice: lm-eval (default) or ColossalEval letters\n' +
    '          [--n-ctx N] [--method llama.cpp|sliding] [--stride N] perplexity\n' +
    '          [--judge MODEL] [--model-b MODEL] [--no-relative] [--max-tokens N] [--judge-max-tokens N] [--free-verdict]\n' +
    '          [--references PATH_OR_URL] [--judge-prompts PATH_OR_URL] judged tasks\n' +
    '          [--labels PATH_OR_URL]                                PIQA\n\n' +
    `  TASK: ${EVAL_TASKS.join(', ')}, or a catalogue name (wikitext-2, tinystories-valid, arc-easy,\n` +
    '  arc-challenge, mmlu-letter, hellaswag-llamacpp, mt-bench-pairwise, vicuna-bench, …). Without --data the\n' +
    '  data comes from the catalogue (downloaded); perplexity, arc and jsonl need --data. --data is a local\n' +
    '  path or an http(s) URL (mmlu: a CSV or a folder of CSVs; mt-bench/vicuna: question.jsonl or a folder\n' +
    '  with question.jsonl, reference_answer/gpt-4.jsonl, judge_prompts.jsonl; jsonl: docs/eval-format.md).\n' +
    '  --limit N keeps the first N items (perplexity: N chunks). mt-bench and vicuna are graded by --judge\n' +
    '  (1-10); with --model-b the two models are compared pairwise, in both orders, and each answer is also\n' +
    '  graded alone for the relative score (--no-relative: the comparisons only). The judge answers under a\n' +
    '  grammar that ends in its verdict ([[rating]] or [[A]]/[[B]]/[[C]]), so none is unparseable;\n' +
    '  --free-verdict lets it write freely, as FastChat does (verdicts that cannot be read are counted).\n\n' +
    '  On --engine webgpu (the default) the run happens in headless Chromium through the client API and is\n' +
    '  stored item by item in its IndexedDB; with --cache DIR that storage is kept, and --resume continues the\n' +
    '  newest unfinished run of the same task, data, options and models (else a new run starts). Ctrl-C\n' +
    '  stops cleanly (the run is kept as "stopped"). --engine cpu runs it on WebAssembly in Node (--threads N),\n' +
    '  --engine reference on the TypeScript reference in Node.\n' +
    '  Progress goes to stderr; the JSON report ({ task, model, n, metrics, per_category, identity, date,\n' +
    '  items }) to stdout, or to --out FILE. --no-items leaves the per-item results out.',
  options: {
    model: { type: 'string' },
    'model-b': { type: 'string' },
    judge: { type: 'string' },
    task: { type: 'string' },
    data: { type: 'string' },
    limit: { type: 'string' },
    out: { type: 'string' },
    'no-items': { type: 'boolean' },
    'no-relative': { type: 'boolean' },
    'free-verdict': { type: 'boolean' },
    cache: { type: 'string' },
    engine: { type: 'string' },
    threads: { type: 'string' },
    resume: { type: 'boolean' },
    seed: { type: 'string' },
    style: { type: 'string' },
    'n-ctx': { type: 'string' },
    method: { type: 'string' },
    stride: { type: 'string' },
    'max-tokens': { type: 'string' },
    'judge-max-tokens': { type: 'string' },
    references: { type: 'string' },
    'judge-prompts': { type: 'string' },
    labels: { type: 'string' },
  },
  async run(values) {
    const engine = parseEngine(values.engine);
    const str = (k: string) => values[k] as string | undefined;
    if (!str('task')) throw new CriaError('bad-argument', `no task given: pass --task TASK (${EVAL_TASKS.join(', ')}, or a catalogue name)`);
    if (!str('model')) throw new CriaError('bad-argument', 'no model given: pass --model PATH_OR_URL');
    const cacheDir = str('cache');
    checkCacheOption(engine, cacheDir);
    const threads = parseThreads(values.threads, engine);
    if (values.resume && engine !== 'webgpu') throw new CriaError('bad-argument', `--resume continues a run stored by the webgpu engine in --cache DIR; --engine ${engine} keeps runs in memory only`);
    if (values.resume && cacheDir === undefined) throw new CriaError('bad-argument', '--resume needs --cache DIR: runs are stored in the browser profile kept there (use the same DIR as the run to continue)');
    const style = str('style');
    if (style !== undefined && style !== 'continuation' && style !== 'letter') throw new CriaError('bad-argument', `--style must be "continuation" (lm-evaluation-harness) or "letter" (ColossalEval), got "${style}"`);
    const method = str('method');
    if (method !== undefined && method !== 'llama.cpp' && method !== 'sliding') throw new CriaError('bad-argument', `--method must be "llama.cpp" or "sliding", got "${method}"`);
    const int = (k: string, min = 1) => {
      if (values[k] === undefined) return undefined;
      const v = numberOption(values, k, 0, { integer: true });
      if (v < min) throw new CriaError('bad-argument', `--${k} must be at least ${min}, got ${v}`);
      return v;
    };
    const options: Record<string, unknown> = {};
    for (const [flag, key] of [['n-ctx', 'n_ctx'], ['stride', 'stride'], ['max-tokens', 'max_tokens'], ['judge-max-tokens', 'judge_max_tokens']] as const) {
      const v = int(flag);
      if (v !== undefined) options[key] = v;
    }
    if (method !== undefined) options.method = method;
    if (values['no-relative']) {
      if (str('model-b') === undefined) throw new CriaError('bad-argument', '--no-relative applies to pairwise comparisons (--model-b)');
      options.relative = false;
    }
    if (values['free-verdict']) {
      if (str('judge') === undefined) throw new CriaError('bad-argument', '--free-verdict applies to judged tasks (--judge MODEL)');
      options.constrain_verdict = false;
    }
    const seed = values.seed === undefined ? undefined : numberOption(values, 'seed', 0, { integer: true });
    const modelA = await locateModel(str('model'));
    const outPath = str('out');
    if (outPath !== undefined) {
      // before a run that may take hours, not after it
      try {
        await access(dirname(resolve(outPath)), constants.W_OK);
      } catch (e) {
        throw new CriaError('bad-argument', `cannot write --out ${outPath}: ${(e as Error).message}`);
      }
    }

    const task = await buildTask({
      task: str('task')!,
      data: str('data'),
      limit: int('limit'),
      style: style as ChoiceStyle | undefined,
      pairwise: str('model-b') !== undefined,
      labels: str('labels'),
      references: str('references'),
      judgePrompts: str('judge-prompts'),
      options,
    });
    const roles = rolesOf(task);
    if (!isJudged(task.kind)) {
      for (const f of ['judge', 'model-b']) if (str(f) !== undefined) throw new CriaError('bad-argument', `--${f} applies to judged tasks (mt-bench, vicuna); ${task.name} is ${task.kind}`);
    } else if (str('judge') === undefined) {
      throw new CriaError('bad-argument', `${task.name} is graded by a judge model: pass --judge MODEL (it may be the same file as --model)`);
    }
    const flagOf: Record<ModelRole, string> = { A: 'model', B: 'model-b', judge: 'judge' };
    const models: Partial<Record<ModelRole, ModelLocation>> = { A: modelA };
    for (const r of roles) if (r !== 'A') models[r] = await locateModel(str(flagOf[r]));

    const t0 = performance.now();
    const progress = progressPrinter(task);
    const out = engine !== 'webgpu' ? await runOnCpu(engine, threads, task, models, seed, progress) : await runOnWebgpu(task, models, { seed, cacheDir, resume: !!values.resume }, progress);
    const report = out.report;
    const json = reportToJson(report, { items: !values['no-items'] });
    if (outPath === undefined) process.stdout.write(json + '\n');
    else {
      try {
        await writeFile(outPath, json + '\n');
      } catch (e) {
        process.stdout.write(json + '\n'); // the results are not lost
        throw new CriaError('bad-argument', `cannot write --out ${outPath} (${(e as Error).message}); the report went to stdout`);
      }
    }
    process.stderr.write(summaryLine(report, engine, (performance.now() - t0) / 1000, out.run, out.note) + '\n');
  },
};

interface Outcome {
  run: Run;
  report: EvalReport;
  /** what a resumed run reused, for the summary line */
  note?: string;
}

type Progress = (p: PageEvalProgress) => void;

async function runOnCpu(kind: 'cpu' | 'reference', threads: number | undefined, task: Task, models: Partial<Record<ModelRole, ModelLocation>>, seed: number | undefined, progress: Progress): Promise<Outcome> {
  const { runEvalOnCpu } = await import('../eval-cpu.ts');
  const ctrl = new AbortController();
  let runId: string | undefined;
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupts++ > 0) process.exit(signal === 'SIGINT' ? 130 : 143);
    process.stderr.write(`\ncria: stopping (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again quits at once)\n`);
    ctrl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let errors = 0;
  try {
    const { run, report } = await runEvalOnCpu({
      kind,
      ...(threads !== undefined ? { threads } : {}),
      task,
      models,
      seed,
      signal: ctrl.signal,
      onLoadProgress: stderrEngineProgress('loading'),
      onProgress: (p: EvalProgress) => {
        runId = p.runId;
        if (p.result?.error) errors++;
        progress({ runId: p.runId, phase: p.phase, ...(p.role ? { role: p.role } : {}), done: p.done, total: p.total, errors });
      },
    });
    return { run, report };
  } catch (e) {
    if (isCriaError(e, 'aborted') && ctrl.signal.aborted) throw new CriaError('aborted', `stopped${runId ? ` (run ${runId})` : ''}; --engine ${kind} keeps runs in memory, so this one is gone`);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What each model's GGUF header says, for matching a stored run (null where it cannot be read: not compared). */
async function resumeMatch(models: Partial<Record<ModelRole, ModelLocation>>): Promise<ResumeMatch> {
  const out: ResumeMatch = { models: {} };
  for (const [role, l] of Object.entries(models)) {
    let close: (() => Promise<void>) | undefined;
    try {
      if ('dir' in l || 'onnx' in l) throw new Error('an ONNX repository has no GGUF header to match'); // not compared
      const src = 'url' in l ? await urlSource(l.url) : await fileSource(l.path);
      if ('close' in src && typeof src.close === 'function') close = () => (src.close as () => Promise<void>)();
      const s = summarize(await readGguf(src));
      out.models[role as ModelRole] = { name: s.name, architecture: s.architecture, parameters: s.parameters, tensorTypes: s.tensor_types };
    } catch {
      out.models[role as ModelRole] = null;
    } finally {
      await close?.().catch(() => undefined);
    }
  }
  return out;
}

async function runOnWebgpu(task: Task, models: Partial<Record<ModelRole, ModelLocation>>, o: { seed?: number; cacheDir?: string; resume: boolean }, progress: Progress): Promise<Outcome> {
  const { withBrowserEngine } = await import('../browser-engine.ts'); // on demand, as in generate
  const resume = o.resume ? await resumeMatch(models) : undefined;
  let runId: string | undefined;
  let stop: (() => Promise<void>) | undefined;
  let stopped = false;
  const extra: Record<string, ModelLocation> = {};
  const keys: Partial<Record<ModelRole, string>> = { A: 'main' };
  for (const r of ['B', 'judge'] as const) {
    if (models[r]) {
      extra[r] = models[r]!;
      keys[r] = r;
    }
  }
  try {
    return await withBrowserEngine(
      models.A!,
      async (engine) => {
        stop = () => engine.stopEval();
        if (stopped) throw new CriaError('aborted', 'stopped before the run started');
        const r = await engine.runEval(
          { task, models: keys, ...(resume ? { resume } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) },
          (p) => {
            runId = p.runId;
            progress(p);
          },
          loadProgress(),
        );
        const computed = Object.entries(r.computed).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing';
        const note = r.resumed ? `resumed run ${r.resumed}, computed now: ${computed}` : o.resume ? `no unfinished run of this task to resume: a new run` : undefined;
        return { run: r.run, report: r.report, ...(note ? { note } : {}) };
      },
      {
        cacheDir: o.cacheDir,
        models: extra,
        onInterrupt: () => {
          stopped = true;
          void stop?.().catch(() => undefined);
        },
      },
    );
  } catch (e) {
    if (isCriaError(e, 'aborted') && stopped) {
      const where = o.cacheDir ? `kept in ${o.cacheDir}: run the same command with --resume to continue` : 'lost with the temporary browser profile (pass --cache DIR to keep runs)';
      throw new CriaError('aborted', `stopped${runId ? `; run ${runId} is` : ', the run is'} ${where}`);
    }
    throw e;
  }
}

/** Engine load progress on a terminal: bytes, then shaders. */
function loadProgress(): ((p: LoadProgress) => void) | undefined {
  return stderrEngineProgress('loading');
}

const ROLE_NAME: Record<ModelRole, string> = { A: 'model', B: 'model B', judge: 'judge' };

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/**
 * Progress on stderr: per phase, units done / total, the rate of the units computed now (stored
 * ones excluded) and the time left. On a terminal one line updates in place; otherwise a line at
 * each phase change, at each tenth of the phase, and otherwise at most one a second.
 */
export function progressPrinter(task: Task): Progress {
  const tty = !!process.stderr.isTTY;
  let phase = '';
  let start = 0;
  let doneAtStart = 0;
  let lastPrint = 0;
  let lastTenth = 0;
  let open = false;
  const end = () => {
    if (open) process.stderr.write('\n');
    open = false;
  };
  return (p) => {
    const key = `${p.phase}:${p.role ?? ''}`;
    const now = performance.now();
    const first = key !== phase;
    if (first) {
      end();
      phase = key;
      start = now;
      doneAtStart = p.done;
    }
    if (p.phase === 'load') {
      if (p.done === 0) process.stderr.write(`${task.name}: loading ${ROLE_NAME[p.role ?? 'A']}\n`);
      return;
    }
    const what = p.phase === 'items' ? 'items' : p.phase === 'answers' ? `answers of ${ROLE_NAME[p.role ?? 'A']}` : 'judging';
    const computed = p.done - doneAtStart;
    const secs = (now - start) / 1000;
    let line = `${task.name}: ${what} ${p.done}/${p.total}`;
    if (computed > 0 && secs > 0) {
      const rate = computed / secs;
      line += ` · ${rate >= 1 ? `${rate.toFixed(1)} /s` : `${(1 / rate).toFixed(1)} s each`} · ETA ${duration((p.total - p.done) / rate)}`;
    }
    if (p.errors > 0) line += ` · ${p.errors} item errors`;
    if (tty) {
      process.stderr.write(`\r${line}\x1b[K`);
      open = true;
      if (p.done === p.total) end();
    } else if (first || p.done === p.total || now - lastPrint >= 1000 || Math.floor((10 * p.done) / p.total) > lastTenth) {
      process.stderr.write(line + '\n');
      lastPrint = now;
    }
    lastTenth = Math.floor((10 * p.done) / p.total);
  };
}

const f = (v: number | undefined, d = 4) => (v === undefined || !Number.isFinite(v) ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(d));

/** One line for people: the headline metrics, time, the run. */
function summaryLine(r: EvalReport, engine: string, secs: number, run: Run, note?: string): string {
  const m = r.metrics;
  const parts: string[] = [`n ${r.n}`];
  const pm = (k: string) => (m[k] !== undefined ? `${k} ${f(m[k])}${m[`${k}_stderr`] !== undefined ? ` ± ${f(m[`${k}_stderr`])}` : ''}` : undefined);
  for (const k of ['ppl', 'bits_per_byte', 'acc', 'acc_norm', 'exact_match', 'score', 'win_rate', 'tie_rate', 'loss_rate', 'relative_score', 'unparseable', 'ttft_ms', 'prefill_tokens_per_s', 'decode_tokens_per_s', 'errors']) {
    if (k === 'errors' && !m.errors) continue;
    const s = pm(k);
    if (s) parts.push(s);
  }
  return `${r.task} (${r.model}, ${engine}): ${parts.join(' · ')} · ${duration(secs)} · run ${run.id}${note ? ` (${note})` : ''}`;
}

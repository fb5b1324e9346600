/**
 * `cria eval --task TASK [--data PATH_OR_URL]`: the Task to run, built in Node with the eval
 * library's loaders before any browser starts (so a bad file or a missing argument fails fast).
 *
 * TASK is one of the names below (a kind with its loader) or any catalogue entry's name
 * (src/eval/catalogue.ts: wikitext-2, arc-easy, mmlu-letter, mt-bench-pairwise, …). Without
 * --data a task comes from the catalogue, downloaded by Node; where the catalogue has no entry
 * (perplexity, arc, jsonl) --data is required.
 *
 * The task's `source` is the resolved path or URL with the first 12 hex digits of the data's
 * SHA-256, so a stopped run is only resumed over the same data.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  arcTask,
  catalogueEntry,
  CATALOGUE,
  gsm8kTask,
  hellaswagTask,
  isJudged,
  judgeTask,
  loadCatalogueTask,
  mmluTask,
  parseJudgePrompts,
  parseJudgeQuestions,
  parseReferenceAnswers,
  parseUserTask,
  perplexityTask,
  piqaTask,
  speedTask,
  type Task,
} from '../eval/index.ts';
import { CriaError } from '../shared/errors.ts';

/** The task names of `cria eval` (besides catalogue names). */
export const EVAL_TASKS = ['perplexity', 'hellaswag', 'mmlu', 'arc', 'piqa', 'gsm8k', 'mt-bench', 'vicuna', 'speed', 'jsonl'] as const;
export type EvalTaskName = (typeof EVAL_TASKS)[number];

export type ChoiceStyle = 'continuation' | 'letter';

export interface TaskArgs {
  task: string;
  data?: string;
  limit?: number;
  /** multiple-choice tasks: lm-eval continuation scoring (default) or ColossalEval letters */
  style?: ChoiceStyle;
  /** judged tasks: a second contestant was given (--model-b), so pairwise */
  pairwise: boolean;
  /** PIQA: the labels file (default: <data>-labels.lst next to a local <data>.jsonl) */
  labels?: string;
  /** judged tasks: reference answers (FastChat reference_answer/gpt-4.jsonl) */
  references?: string;
  /** judged tasks: FastChat judge_prompts.jsonl (default: in the --data folder, else FastChat's on GitHub) */
  judgePrompts?: string;
  /** task options set on the command line (n_ctx, method, stride, max_tokens, judge_max_tokens, …) */
  options: Record<string, unknown>;
  fetch?: typeof fetch;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

interface Data {
  /** resolved path or the URL */
  where: string;
  name: string;
  bytes: Uint8Array;
}

async function readData(arg: string, what: string, f: typeof fetch = globalThis.fetch): Promise<Data> {
  if (isUrl(arg)) {
    let res: Response;
    try {
      res = await f(arg);
    } catch (e) {
      throw new CriaError('network', `could not download ${what} from ${arg} (${(e as Error).message}); check the address, or download the file and pass its path`);
    }
    if (!res.ok) throw new CriaError('network', `${arg} answered HTTP ${res.status}; check the address, or download the file and pass its path`);
    return { where: arg, name: basename(new URL(arg).pathname) || 'data', bytes: new Uint8Array(await res.arrayBuffer()) };
  }
  const path = resolve(arg);
  try {
    return { where: path, name: basename(path), bytes: new Uint8Array(await readFile(path)) };
  } catch (e) {
    throw new CriaError('bad-argument', `cannot read ${what} ${arg}: ${(e as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a folder' : (e as Error).message}`);
  }
}

const text = (d: Data) => new TextDecoder().decode(d.bytes);
const sha = (parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 12);
};
/** The task's source: where the data is (or what the file itself says) and a hash of its bytes. */
const withSource = (task: Task, where: string, parts: Uint8Array[]): Task => ({ ...task, source: `${task.source || where} (sha256 ${sha(parts)})` });

async function isDir(arg: string): Promise<boolean> {
  if (isUrl(arg)) return false;
  try {
    return (await stat(resolve(arg))).isDirectory();
  } catch {
    return false;
  }
}

/** A file in a folder, the first of `names` that exists. */
async function firstIn(dir: string, names: string[]): Promise<string | undefined> {
  for (const n of names) {
    try {
      if ((await stat(join(dir, n))).isFile()) return join(dir, n);
    } catch {
      // next
    }
  }
  return undefined;
}

function needData(task: string, hint: string): never {
  throw new CriaError('bad-argument', `--task ${task} needs --data (${hint})`);
}

/** The catalogue entry a task name stands for when there is no --data, if any. */
function catalogueName(a: TaskArgs): string | undefined {
  switch (a.task as EvalTaskName) {
    case 'perplexity':
      return needData('perplexity', 'a text file or URL); or use --task wikitext-2 or --task tinystories-valid from the catalogue');
    case 'arc':
      return needData('arc', 'ARC JSONL/JSON, a path or URL); or use --task arc-easy or --task arc-challenge from the catalogue');
    case 'jsonl':
      return needData('jsonl', 'a task in the user format, docs/eval-format.md');
    case 'hellaswag':
      return 'hellaswag';
    case 'mmlu':
      return a.style === 'letter' ? 'mmlu-letter' : 'mmlu';
    case 'piqa':
      return 'piqa';
    case 'gsm8k':
      return 'gsm8k';
    case 'mt-bench':
      return a.pairwise ? 'mt-bench-pairwise' : 'mt-bench';
    case 'vicuna':
      return a.pairwise ? 'vicuna-bench-pairwise' : 'vicuna-bench';
    default:
      return catalogueEntry(a.task) ? a.task : undefined;
  }
}

export function unknownTask(name: string): CriaError {
  return new CriaError('bad-argument', `unknown task "${name}"; use one of ${EVAL_TASKS.join(', ')}, or a catalogue name: ${CATALOGUE.map((e) => e.name).join(', ')}`);
}

/** The task for these arguments (data read and parsed, options applied, limit and style applied). */
export async function buildTask(a: TaskArgs): Promise<Task> {
  const known = (EVAL_TASKS as readonly string[]).includes(a.task) || catalogueEntry(a.task) !== undefined;
  if (!known) throw unknownTask(a.task);
  let task = a.data === undefined ? await fromCatalogue(a) : await fromData(a, a.data);
  if (a.style === 'letter') {
    if (task.kind === 'multiple-choice') task = { ...task, kind: 'letter-choice', name: task.name.endsWith('-letter') ? task.name : `${task.name}-letter` };
    else if (task.kind !== 'letter-choice') throw new CriaError('bad-argument', `--style applies to multiple-choice tasks; ${a.task} is ${task.kind}`);
  }
  if (isJudged(task.kind)) {
    if (a.pairwise && task.kind === 'judge-single') task = { ...task, kind: 'judge-pairwise', name: task.name.endsWith('-pairwise') ? task.name : `${task.name}-pairwise` };
    if (!a.pairwise && task.kind === 'judge-pairwise') throw new CriaError('bad-argument', `${task.name} compares two models: pass the second one with --model-b`);
  }
  if (a.limit !== undefined && task.kind !== 'perplexity') task = { ...task, items: task.items.slice(0, a.limit) };
  const options = { ...task.options, ...a.options };
  if (a.limit !== undefined && task.kind === 'perplexity') {
    if (options.method === 'sliding') throw new CriaError('bad-argument', '--limit counts the chunks of the llama.cpp method; with --method sliding, cut the text instead');
    options.chunks = a.limit;
  }
  if (Object.keys(options).length > 0) task = { ...task, options };
  if (task.items.length === 0) throw new CriaError('bad-argument', `${task.name} has no items${a.limit !== undefined ? ` (--limit ${a.limit})` : ''}`);
  return task;
}

async function fromCatalogue(a: TaskArgs): Promise<Task> {
  if (a.task === 'speed') return speedTask();
  const name = catalogueName(a)!;
  const kind = catalogueEntry(name)!.kind;
  // perplexity: --limit counts chunks (buildTask), not characters of text
  return loadCatalogueTask(name, { fetch: a.fetch, ...(kind === 'perplexity' ? {} : { limit: a.limit }) });
}

async function fromData(a: TaskArgs, arg: string): Promise<Task> {
  const task = a.task;
  const entry = catalogueEntry(task);
  const kind = entry?.kind;
  // catalogue names with --data read the data with the loader of their family
  const family: string =
    (EVAL_TASKS as readonly string[]).includes(task) ? task
    : task.startsWith('hellaswag') ? 'hellaswag'
    : task.startsWith('mmlu') ? 'mmlu'
    : task.startsWith('arc') ? 'arc'
    : task.startsWith('mt-bench') ? 'mt-bench'
    : task.startsWith('vicuna') ? 'vicuna'
    : kind === 'perplexity' ? 'perplexity'
    : task;
  const style: ChoiceStyle | undefined = a.style ?? (task === 'mmlu-letter' ? 'letter' : undefined);

  switch (family) {
    case 'perplexity': {
      const d = await readData(arg, 'the text');
      return withSource(perplexityTask(text(d), { name: task === 'perplexity' ? 'perplexity' : task, source: d.where }), d.where, [d.bytes]);
    }
    case 'hellaswag': {
      const d = await readData(arg, 'the HellaSwag data');
      return withSource({ ...hellaswagTask(text(d), { source: d.where }), ...(task !== 'hellaswag' ? { name: task } : {}) }, d.where, [d.bytes]);
    }
    case 'mmlu': {
      let files: Data[];
      if (await isDir(arg)) {
        const dir = resolve(arg);
        const names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.csv')).sort();
        if (names.length === 0) throw new CriaError('bad-argument', `${arg} has no .csv files (MMLU: one CSV per subject)`);
        files = await Promise.all(names.map((n) => readData(join(dir, n), 'an MMLU file')));
      } else {
        files = [await readData(arg, 'the MMLU CSV')];
      }
      const where = files.length > 1 ? dirname(files[0].where) : files[0].where;
      return withSource(mmluTask(files.map((f) => ({ name: f.name, text: text(f) })), { kind: style === 'letter' ? 'letter-choice' : 'multiple-choice', source: where }), where, files.map((f) => f.bytes));
    }
    case 'arc': {
      const d = await readData(arg, 'the ARC data');
      return withSource(arcTask(text(d), { name: task === 'arc' ? 'arc' : task, source: d.where }), d.where, [d.bytes]);
    }
    case 'piqa': {
      let labelsArg = a.labels;
      if (!labelsArg) {
        if (isUrl(arg) || !/\.jsonl$/i.test(arg)) throw new CriaError('bad-argument', '--task piqa needs the labels file too: pass --labels PATH_OR_URL (valid-labels.lst)');
        labelsArg = arg.replace(/\.jsonl$/i, '-labels.lst');
      }
      const d = await readData(arg, 'the PIQA questions');
      const l = await readData(labelsArg, 'the PIQA labels (--labels)');
      return withSource(piqaTask(text(d), text(l), { source: d.where }), d.where, [d.bytes, l.bytes]);
    }
    case 'gsm8k': {
      const d = await readData(arg, 'the GSM8K data');
      return withSource(gsm8kTask(text(d), { source: d.where }), d.where, [d.bytes]);
    }
    case 'mt-bench':
    case 'vicuna':
      return judgedFromData({ ...a, pairwise: a.pairwise || task.endsWith('-pairwise') }, arg, family === 'mt-bench' ? 'mt-bench' : 'vicuna-bench');
    case 'speed': {
      const d = await readData(arg, 'the speed task');
      return withSource(parseUserTask(text(d), { name: 'speed', kind: 'speed', source: d.where }), d.where, [d.bytes]);
    }
    case 'jsonl': {
      const d = await readData(arg, 'the task file');
      let t = parseUserTask(text(d), { name: d.name.replace(/\.(jsonl?|json)$/i, ''), source: d.where });
      const parts = [d.bytes];
      if (isJudged(t.kind) && !Array.isArray(t.options?.judge_prompts)) {
        const p = await judgePromptsData(a, undefined);
        parts.push(p.bytes);
        t = { ...t, options: { ...t.options, judge_prompts: parseJudgePrompts(text(p), p.where) } };
      }
      return withSource(t, d.where, parts);
    }
    default:
      throw new CriaError('bad-argument', `--task ${task} takes no --data (it is a catalogue task); use --task ${kind === 'perplexity' ? 'perplexity' : kind} with --data, or leave --data out`);
  }
}

/** FastChat judge prompts: --judge-prompts, else judge_prompts.jsonl in the data folder, else FastChat's file (network). */
async function judgePromptsData(a: TaskArgs, dir: string | undefined): Promise<Data> {
  if (a.judgePrompts) return readData(a.judgePrompts, 'the judge prompts (--judge-prompts)');
  const inDir = dir && (await firstIn(dir, ['judge_prompts.jsonl']));
  if (inDir) return readData(inDir, 'the judge prompts');
  const url = catalogueEntry('mt-bench')!.urls.find((u) => u.endsWith('judge_prompts.jsonl'))!;
  return readData(url, "FastChat's judge prompts (pass --judge-prompts PATH to use a local copy)", a.fetch);
}

/**
 * MT-bench / Vicuna bench from --data: a question.jsonl (path or URL), or a folder holding
 * question.jsonl and optionally reference_answer/gpt-4.jsonl (or reference_answer_gpt-4.jsonl)
 * and judge_prompts.jsonl.
 */
async function judgedFromData(a: TaskArgs, arg: string, name: 'mt-bench' | 'vicuna-bench'): Promise<Task> {
  const dir = (await isDir(arg)) ? resolve(arg) : undefined;
  const qPath = dir ? await firstIn(dir, ['question.jsonl']) : arg;
  if (!qPath) throw new CriaError('bad-argument', `${arg} has no question.jsonl`);
  const q = await readData(qPath, 'the questions');
  const refPath = a.references ?? (dir ? await firstIn(dir, [join('reference_answer', 'gpt-4.jsonl'), 'reference_answer_gpt-4.jsonl']) : undefined);
  const ref = refPath ? await readData(refPath, 'the reference answers') : undefined;
  const prompts = await judgePromptsData(a, dir);
  const parts = [q.bytes, ...(ref ? [ref.bytes] : []), prompts.bytes];
  const task = judgeTask({
    name: a.pairwise ? `${name}-pairwise` : name,
    kind: a.pairwise ? 'judge-pairwise' : 'judge-single',
    questions: parseJudgeQuestions(text(q), q.where),
    references: ref ? parseReferenceAnswers(text(ref), ref.where) : undefined,
    judgePrompts: parseJudgePrompts(text(prompts), prompts.where),
    source: dir ?? q.where,
  });
  return withSource(task, dir ?? q.where, parts);
}

/** Which models a task needs: A always; B for pairwise; the judge for judged kinds. */
export function rolesOf(task: Task): ('A' | 'B' | 'judge')[] {
  return task.kind === 'judge-pairwise' ? ['A', 'B', 'judge'] : task.kind === 'judge-single' ? ['A', 'judge'] : ['A'];
}

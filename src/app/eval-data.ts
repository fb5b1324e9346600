/**
 * Where the Eval page gets its tasks, and what it keeps of them:
 * - local files, in any format the eval library reads (recognised by name and content, or as
 *   the user says): the user format (docs/eval-format.md), HellaSwag (llama.cpp's text or the
 *   JSONL), MMLU CSV (several subject files at once), ARC, PIQA (questions + labels), GSM8K,
 *   MT-bench / Vicuna questions (with FastChat's judge prompts and reference answers) and plain
 *   text for perplexity; the loaders' CriaErrors name the line that is wrong;
 * - the eval catalogue (src/eval/catalogue.ts), downloaded on demand through a fetch that keeps
 *   every answer in Cache Storage ("cria-eval-data"), so the second time needs no network;
 * - the task of every run, in IndexedDB ("cria-eval-app", next to the library's "cria-eval"), so
 *   a run stopped by a reload can be resumed after it: the file is gone by then, and the
 *   library resumes only with the same task. Tasks are stored once per content (SHA-256).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import {
  arcTask,
  catalogueEntry,
  gsm8kTask,
  hellaswagTask,
  judgeTask,
  mmluTask,
  parseJudgePrompts,
  parseJudgeQuestions,
  parseReferenceAnswers,
  parseUserTask,
  perplexityTask,
  piqaTask,
  type Task,
  type TaskKind,
} from '../eval/index.ts';
import { CriaError } from '../shared/errors.ts';

// ---------------------------------------------------------------- local files

export type FileFormat = 'auto' | 'cria' | 'hellaswag' | 'mmlu' | 'mmlu-letter' | 'arc' | 'piqa' | 'gsm8k' | 'judge-single' | 'judge-pairwise' | 'text';

export const FILE_FORMATS: readonly { value: FileFormat; label: string }[] = [
  { value: 'auto', label: 'Recognise it' },
  { value: 'cria', label: 'Cria task (JSON / JSONL)' },
  { value: 'hellaswag', label: 'HellaSwag (llama.cpp text or JSONL)' },
  { value: 'mmlu', label: 'MMLU CSV, continuation scoring' },
  { value: 'mmlu-letter', label: 'MMLU CSV, letter answers' },
  { value: 'arc', label: 'ARC (JSON / JSONL)' },
  { value: 'piqa', label: 'PIQA (questions + labels file)' },
  { value: 'gsm8k', label: 'GSM8K (JSONL)' },
  { value: 'judge-single', label: 'MT-bench / Vicuna questions, graded 1–10' },
  { value: 'judge-pairwise', label: 'MT-bench / Vicuna questions, two models compared' },
  { value: 'text', label: 'Plain text (perplexity)' },
];

/** what one file holds, as far as its name and first record tell */
type Role = 'cria' | 'hellaswag' | 'mmlu' | 'arc' | 'piqa' | 'piqa-labels' | 'gsm8k' | 'questions' | 'judge-prompts' | 'references' | 'text';

interface ReadFile {
  name: string;
  text: string;
  role: Role;
}

function firstRecord(text: string): Record<string, unknown> | undefined {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  try {
    if (t.startsWith('[')) {
      const v = JSON.parse(t) as unknown;
      return Array.isArray(v) && typeof v[0] === 'object' && v[0] ? (v[0] as Record<string, unknown>) : undefined;
    }
    const first = t.split(/\r?\n/, 1)[0];
    const v = JSON.parse(t.startsWith('{') && !first.trimEnd().endsWith('}') ? t : first) as unknown;
    return typeof v === 'object' && v && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** llama.cpp's HellaSwag text: 6 lines per task, the second one the gold index 0–3 */
function looksLikeHellaswagText(text: string): boolean {
  const lines = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  return lines.length >= 6 && lines.length % 6 === 0 && /^[0-3]$/.test(lines[1].trim()) && /^[0-3]$/.test(lines[lines.length - 5]?.trim() ?? '');
}

export function recognise(name: string, text: string): Role {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return 'mmlu';
  if (lower.endsWith('.lst')) return 'piqa-labels';
  const r = firstRecord(text);
  if (r) {
    if ('task' in r || 'items' in r) return 'cria';
    if ('prompt_template' in r) return 'judge-prompts';
    if ('question_id' in r) return Array.isArray(r.choices) ? 'references' : 'questions';
    if ('ctx_a' in r || 'activity_label' in r) return 'hellaswag';
    if ('goal' in r && 'sol1' in r) return 'piqa';
    if ('answerKey' in r) return 'arc';
    if (typeof r.question === 'string' && typeof r.answer === 'string' && r.answer.includes('####')) return 'gsm8k';
    return 'cria';
  }
  if (looksLikeHellaswagText(text)) return 'hellaswag';
  if (/\.jsonl?$/.test(lower)) return 'cria'; // not JSON after all: the user-format parser says where
  return 'text';
}

const ROLE_NAMES: Record<Role, string> = {
  cria: 'a Cria task',
  hellaswag: 'HellaSwag',
  mmlu: 'MMLU CSV',
  arc: 'ARC',
  piqa: 'PIQA questions',
  'piqa-labels': 'PIQA labels',
  gsm8k: 'GSM8K',
  questions: 'MT-bench / Vicuna questions',
  'judge-prompts': 'judge prompts',
  references: 'reference answers',
  text: 'plain text',
};

/** A task read from local files, before its limit; `describe` says what was recognised. */
export interface FileTask {
  task: Task;
  describe: string;
  /** the limit counts characters (one perplexity document) rather than items */
  limitIsChars: boolean;
}

const baseName = (n: string) => n.replace(/\.[^.]+$/, '');

/**
 * Read local files as one task. `format` 'auto' recognises each file; a judged task takes its
 * questions, FastChat's judge prompts and (optionally) reference answers as separate files.
 */
export async function taskFromFiles(files: readonly File[], format: FileFormat): Promise<FileTask> {
  if (files.length === 0) throw new CriaError('bad-argument', 'Choose a file first.');
  const read: ReadFile[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await f.text();
    } catch (e) {
      throw new CriaError('bad-file', `${f.name} could not be read (${(e as Error).message}).`);
    }
    if (text.trim() === '') throw new CriaError('bad-file', `${f.name} is empty.`);
    read.push({ name: f.name, text, role: recognise(f.name, text) });
  }
  const main = read.filter((r) => !['judge-prompts', 'references', 'piqa-labels'].includes(r.role));
  const of = (role: Role) => read.filter((r) => r.role === role);
  let fmt: FileFormat = format;
  if (fmt === 'auto') {
    const roles = new Set(main.map((r) => r.role));
    if (roles.size === 0) throw new CriaError('bad-file', `${read.map((r) => `${r.name} looks like ${ROLE_NAMES[r.role]}`).join('; ')}: choose the questions or items file with it.`);
    if (roles.size > 1) throw new CriaError('bad-file', `These files hold different things (${main.map((r) => `${r.name}: ${ROLE_NAMES[r.role]}`).join(', ')}); choose the files of one task.`);
    const role = [...roles][0];
    fmt = role === 'questions' ? 'judge-single' : role === 'piqa-labels' || role === 'judge-prompts' || role === 'references' ? 'cria' : (role as FileFormat);
  }
  const one = () => {
    if (main.length !== 1) throw new CriaError('bad-argument', `Choose one file for this format (got ${main.length}).`);
    return main[0];
  };
  switch (fmt) {
    case 'cria': {
      const f = one();
      const task = parseUserTask(f.text, { name: baseName(f.name), source: f.name });
      return { task, describe: `${f.name}: a Cria task (${task.kind}), ${task.items.length} items`, limitIsChars: false };
    }
    case 'hellaswag': {
      const f = one();
      const task = hellaswagTask(f.text, { source: f.name });
      return { task, describe: `${f.name}: HellaSwag, ${task.items.length} items`, limitIsChars: false };
    }
    case 'mmlu':
    case 'mmlu-letter': {
      const task = mmluTask(
        main.map((f) => ({ name: f.name, text: f.text })),
        { kind: fmt === 'mmlu-letter' ? 'letter-choice' : 'multiple-choice', source: main.map((f) => f.name).join(', ') },
      );
      if (task.items.length === 0) throw new CriaError('bad-file', `${main.map((f) => f.name).join(', ')}: no questions.`);
      return { task, describe: `MMLU (${fmt === 'mmlu-letter' ? 'letter answers' : 'continuation scoring'}), ${main.length} file${main.length > 1 ? 's' : ''}, ${task.items.length} questions`, limitIsChars: false };
    }
    case 'arc': {
      const f = one();
      const task = arcTask(f.text, { name: /challenge/i.test(f.name) ? 'arc-challenge' : /easy/i.test(f.name) ? 'arc-easy' : 'arc', source: f.name });
      return { task, describe: `${f.name}: ARC, ${task.items.length} questions`, limitIsChars: false };
    }
    case 'piqa': {
      const f = one();
      const labels = of('piqa-labels')[0];
      if (!labels) throw new CriaError('bad-argument', `PIQA needs its labels file too (valid-labels.lst): choose it together with ${f.name}.`);
      const task = piqaTask(f.text, labels.text, { source: f.name });
      return { task, describe: `${f.name} with ${labels.name}: PIQA, ${task.items.length} questions`, limitIsChars: false };
    }
    case 'gsm8k': {
      const f = one();
      const task = gsm8kTask(f.text, { source: f.name });
      return { task, describe: `${f.name}: GSM8K, ${task.items.length} problems`, limitIsChars: false };
    }
    case 'judge-single':
    case 'judge-pairwise': {
      const f = one();
      const questions = parseJudgeQuestions(f.text, f.name);
      const prompts = of('judge-prompts')[0];
      if (!prompts) {
        throw new CriaError('bad-argument', `A judge needs FastChat's judge prompts (judge_prompts.jsonl): choose that file together with ${f.name} (and, for math, reasoning and coding questions, reference_answer/gpt-4.jsonl).`);
      }
      const refs = of('references')[0];
      const bench = questions.every((q) => q.turns.length === 2) ? 'mt-bench' : questions.length > 0 && questions.every((q) => q.turns.length === 1) ? 'vicuna-bench' : baseName(f.name);
      const task = judgeTask({
        name: fmt === 'judge-pairwise' ? `${bench}-pairwise` : bench,
        kind: fmt,
        questions,
        ...(refs ? { references: parseReferenceAnswers(refs.text, refs.name) } : {}),
        judgePrompts: parseJudgePrompts(prompts.text, prompts.name),
        source: f.name,
      });
      return {
        task,
        describe: `${f.name}: ${questions.length} questions (${bench}), judge prompts from ${prompts.name}${refs ? `, reference answers from ${refs.name}` : ', no reference answers'}`,
        limitIsChars: false,
      };
    }
    case 'text': {
      const f = one();
      const task = perplexityTask(f.text, { name: 'perplexity', source: f.name });
      (task.items[0] as { id: string }).id = f.name;
      return { task, describe: `${f.name}: plain text for perplexity, ${f.text.length.toLocaleString()} characters`, limitIsChars: true };
    }
    default:
      throw new CriaError('bad-argument', `unknown format ${String(fmt)}`);
  }
}

/** The first `limit` items (or, for one perplexity document, characters). */
export function limitTask(task: Task, limit: number | undefined, chars: boolean): Task {
  if (!limit || limit <= 0) return task;
  if (chars && task.kind === 'perplexity' && task.items.length === 1) {
    const doc = task.items[0] as { id: string; text: string };
    return { ...task, items: [{ ...doc, text: doc.text.slice(0, limit) }] };
  }
  return { ...task, items: task.items.slice(0, limit) };
}

/** Settings that change results, set on the page and stored with the task (so they are part of a run's identity). */
export function withOptions(task: Task, o: Record<string, unknown>): Task {
  const set = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
  return Object.keys(set).length ? { ...task, options: { ...task.options, ...set } } : task;
}

export const isJudgedKind = (k: TaskKind | undefined): k is 'judge-single' | 'judge-pairwise' => k === 'judge-single' || k === 'judge-pairwise';

// ---------------------------------------------------------------- catalogue downloads, kept

export const DATA_CACHE = 'cria-eval-data';

/** fetch, answered from Cache Storage when the URL was downloaded before (and kept there when not) */
export const cachingFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  let cache: Cache | undefined;
  try {
    cache = await caches.open(DATA_CACHE);
    const hit = await cache.match(url);
    if (hit) return hit;
  } catch {
    cache = undefined; // no Cache Storage (private mode): download every time
  }
  const res = await fetch(input, init);
  if (res.ok && cache) {
    // stored while the loader reads the other copy (with its progress); a failed write only costs a later download
    cache.put(url, res.clone()).catch((e) => console.warn('cria: evaluation data could not be kept', e));
  }
  return res;
};

/** Which of these URLs are downloaded already. */
export async function cachedUrls(urls: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    const cache = await caches.open(DATA_CACHE);
    for (const u of urls) if (await cache.match(u)) out.add(u);
  } catch {
    /* no Cache Storage */
  }
  return out;
}

/** Bytes of downloaded evaluation data (as stored), and how many files. */
export async function dataUsage(): Promise<{ files: number; bytes: number }> {
  try {
    const cache = await caches.open(DATA_CACHE);
    const keys = await cache.keys();
    let bytes = 0;
    for (const k of keys) bytes += (await (await cache.match(k))?.blob())?.size ?? 0;
    return { files: keys.length, bytes };
  } catch {
    return { files: 0, bytes: 0 };
  }
}

export async function clearData(): Promise<void> {
  try {
    await caches.delete(DATA_CACHE);
  } catch {
    /* nothing kept */
  }
}

/** A catalogue task, downloaded (or read from what was downloaded before). */
export async function catalogueTask(name: string, o: { limit?: number; signal?: AbortSignal; onProgress?(p: { url: string; loadedBytes: number; totalBytes?: number }): void }): Promise<Task> {
  const e = catalogueEntry(name);
  if (!e) throw new CriaError('bad-argument', `There is no task "${name}" in the catalogue.`);
  return e.load({ fetch: cachingFetch, limit: o.limit, signal: o.signal, onProgress: o.onProgress });
}

// ---------------------------------------------------------------- the task of every run

export interface ModelChoice {
  /** the model cache's id */
  cacheId: string;
  label: string;
  /** a LoRA adapter in the model cache applied to every request (a tuned model: src/app/tuned.ts) */
  adapter?: { cacheId: string; label: string };
}

/** The models of a run: A (evaluated), B (pairwise's second contestant), the judge. */
export interface RunModels {
  A: ModelChoice;
  B?: ModelChoice;
  judge?: ModelChoice;
}

export const TASK_DB_NAME = 'cria-eval-app';

interface TaskDb extends DBSchema {
  tasks: { key: string; value: { key: string; task: Task } };
  runs: { key: string; value: { runId: string; taskKey: string; models: RunModels; savedAt: number }; indexes: { byTask: string } };
}

let db: Promise<IDBPDatabase<TaskDb>> | undefined;

function open(): Promise<IDBPDatabase<TaskDb>> {
  db ??= openDB<TaskDb>(TASK_DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore('tasks', { keyPath: 'key' });
      d.createObjectStore('runs', { keyPath: 'runId' }).createIndex('byTask', 'taskKey');
    },
  });
  return db;
}

async function contentKey(task: Task): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(task)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function saveRunTask(runId: string, task: Task, models: RunModels): Promise<void> {
  const d = await open();
  const key = await contentKey(task);
  const tx = d.transaction(['tasks', 'runs'], 'readwrite');
  await Promise.all([tx.objectStore('tasks').put({ key, task }), tx.objectStore('runs').put({ runId, taskKey: key, models, savedAt: Date.now() }), tx.done]);
}

export async function getRunTask(runId: string): Promise<{ task: Task; models: RunModels } | undefined> {
  const d = await open();
  const r = await d.get('runs', runId);
  if (!r) return undefined;
  const t = await d.get('tasks', r.taskKey);
  return t ? { task: t.task, models: r.models } : undefined;
}

/** The models of the runs that have them stored (for the runs list). */
export async function runModels(): Promise<Map<string, RunModels>> {
  const d = await open();
  return new Map((await d.getAll('runs')).map((r) => [r.runId, r.models]));
}

export async function deleteRunTask(runId: string): Promise<void> {
  const d = await open();
  const tx = d.transaction(['tasks', 'runs'], 'readwrite');
  const r = await tx.objectStore('runs').get(runId);
  if (r) {
    await tx.objectStore('runs').delete(runId);
    // the task goes when no other run uses it
    if ((await tx.objectStore('runs').index('byTask').count(r.taskKey)) === 0) await tx.objectStore('tasks').delete(r.taskKey);
  }
  await tx.done;
}

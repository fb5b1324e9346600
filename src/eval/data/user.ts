/**
 * The user format (docs/eval-format.md): a task written by hand, as JSON Lines — an optional
 * first line {"task": {name, kind, version, options}} and then one item per line — or as one
 * JSON object {name, kind, version, options, items: [...]}. Without a kind, it is inferred from
 * the first item's fields: text → perplexity, choices → multiple-choice, answers → generation,
 * turns → judge-single, prompt + max_tokens → speed. Items without an id are numbered from 1.
 */
import { CriaError } from '../../shared/errors.ts';
import type { TaskItem, Task, TaskKind } from '../types.ts';
import { isObj, isStr, need, parseJsonl } from './parse.ts';

const KINDS: readonly TaskKind[] = ['perplexity', 'multiple-choice', 'letter-choice', 'generation', 'judge-single', 'judge-pairwise', 'speed'];

function inferKind(v: Record<string, unknown>): TaskKind | undefined {
  if ('text' in v) return 'perplexity';
  if ('choices' in v) return 'multiple-choice';
  if ('answers' in v || 'answer' in v) return 'generation';
  if ('turns' in v) return 'judge-single';
  if ('prompt' in v && 'max_tokens' in v) return 'speed';
  return undefined;
}

const isStrs = (v: unknown, min = 1): v is string[] => Array.isArray(v) && v.length >= min && v.every(isStr);
const optStr = (v: unknown) => v === undefined || isStr(v);

/** Check one item of `kind` and return it in the library's shape. */
export function userItem(kind: TaskKind, v: unknown, index: number, source: string, line: number): TaskItem {
  need(isObj(v), source, line, 'expected an item object');
  const id = v.id === undefined ? String(index + 1) : String(v.id);
  need(optStr(v.category), source, line, '"category" must be a string');
  const category = v.category as string | undefined;
  const cat = category !== undefined ? { category } : {};
  switch (kind) {
    case 'perplexity':
      need(isStr(v.text) && v.text.length > 0, source, line, 'a perplexity item needs "text" (a non-empty string)');
      return { id, text: v.text };
    case 'multiple-choice':
    case 'letter-choice': {
      need(isStrs(v.choices, 2), source, line, '"choices" must be a list of at least 2 strings');
      need(Number.isInteger(v.gold) && (v.gold as number) >= 0 && (v.gold as number) < v.choices.length, source, line, `"gold" must be the index (from 0) of the right choice`);
      need(isStr(v.context) || (kind === 'letter-choice' && isStr(v.question)), source, line, kind === 'letter-choice' ? 'a letter-choice item needs "question" (or "context")' : 'a multiple-choice item needs "context" (the text before each choice)');
      need(optStr(v.question), source, line, '"question" must be a string');
      return { id, ...cat, context: (v.context as string | undefined) ?? '', choices: v.choices, gold: v.gold as number, ...(isStr(v.question) ? { question: v.question } : {}) };
    }
    case 'generation': {
      const answers = isStr(v.answer) ? [v.answer] : v.answers;
      need(isStr(v.prompt), source, line, 'a generation item needs "prompt"');
      need(isStrs(answers), source, line, 'a generation item needs "answers" (a list of accepted answers) or "answer"');
      need(optStr(v.extract), source, line, '"extract" must be a regular expression (a string)');
      if (isStr(v.extract)) {
        try {
          new RegExp(v.extract);
        } catch (e) {
          need(false, source, line, `"extract" is not a valid regular expression: ${(e as Error).message}`);
        }
      }
      need(v.max_tokens === undefined || (Number.isInteger(v.max_tokens) && (v.max_tokens as number) > 0), source, line, '"max_tokens" must be a positive whole number');
      return { id, ...cat, prompt: v.prompt, answers, ...(isStr(v.extract) ? { extract: v.extract } : {}), ...(v.max_tokens !== undefined ? { max_tokens: v.max_tokens as number } : {}) };
    }
    case 'judge-single':
    case 'judge-pairwise':
      need(isStrs(v.turns), source, line, 'a judged item needs "turns" (the user messages, in order)');
      need(v.reference === undefined || isStrs(v.reference), source, line, '"reference" must be a list of reference answers, one per turn');
      return { id, category: category ?? 'other', turns: v.turns, ...(v.reference ? { reference: v.reference as string[] } : {}) };
    case 'speed':
      need(isStr(v.prompt) && Number.isInteger(v.max_tokens) && (v.max_tokens as number) > 0, source, line, 'a speed item needs "prompt" and "max_tokens"');
      return { id, prompt: v.prompt, max_tokens: v.max_tokens as number, ...(Number.isInteger(v.prompt_tokens) ? { prompt_tokens: v.prompt_tokens as number } : {}), ...(v.warmup === true ? { warmup: true } : {}) };
  }
}

/** Parse a task in the user format (JSONL or JSON). `o` supplies what the file does not say. */
export function parseUserTask(text: string, o: { name?: string; kind?: TaskKind; source?: string } = {}): Task {
  const source = o.source ?? o.name ?? 'the task file';
  const t = text.replace(/^\uFEFF/, '').trimStart();
  let header: Record<string, unknown> = {};
  let rows: { line: number; value: unknown }[];
  const whole = t.startsWith('{') ? tryJson(t) : undefined;
  if (whole && isObj(whole) && Array.isArray(whole.items)) {
    header = whole;
    rows = whole.items.map((value, i) => ({ line: i + 1, value }));
  } else {
    rows = parseJsonl(text, source);
    if (rows.length && isObj(rows[0].value) && isObj(rows[0].value.task)) {
      header = rows[0].value.task;
      rows = rows.slice(1);
    }
  }
  if (rows.length === 0) throw new CriaError('bad-file', `${source}: no items`);
  const kind = (header.kind as TaskKind | undefined) ?? o.kind ?? (isObj(rows[0].value) ? inferKind(rows[0].value) : undefined);
  if (!kind || !KINDS.includes(kind)) throw new CriaError('bad-file', `${source}: the task kind ${kind ? `"${kind}" is not one of ${KINDS.join(', ')}` : 'is not given and cannot be inferred'}; add {"task": {"kind": …}} as the first line`);
  const items = rows.map((r, i) => userItem(kind, r.value, i, source, r.line));
  const ids = new Set<string>();
  for (const it of items) {
    if (ids.has(it.id)) throw new CriaError('bad-file', `${source}: item id "${it.id}" appears twice; ids must be unique (runs resume by id)`);
    ids.add(it.id);
  }
  if (header.options !== undefined && !isObj(header.options)) throw new CriaError('bad-file', `${source}: "options" must be an object`);
  return {
    name: isStr(header.name) ? header.name : (o.name ?? 'custom'),
    version: header.version !== undefined ? String(header.version) : '1',
    kind,
    source: isStr(header.source) ? header.source : source,
    items,
    ...(isObj(header.options) ? { options: header.options } : {}),
  };
}

function tryJson(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/**
 * HellaSwag, two forms:
 * - llama.cpp's text form (`llama-perplexity --hellaswag`): 6 lines per task — the context
 *   ("activity_label: ctx", already preprocessed), the gold index 0–3, the 4 endings. The choices
 *   are " " + ending, as llama.cpp and lm-eval score them.
 * - the original JSONL (hellaswag_val.jsonl: ind, activity_label, ctx_a, ctx_b, endings, label),
 *   preprocessed as lm-evaluation-harness does: context = preprocess(activity_label + ": " +
 *   ctx_a + " " + capitalize(ctx_b)), choices = " " + preprocess(ending), where preprocess trims,
 *   turns " [title]" into ". ", drops other [bracketed] artifacts and "  " → " ", and capitalize
 *   is Python's (first letter upper, the rest lower).
 * Items are multiple-choice items; the category is the activity label.
 */
import { CriaError } from '../../shared/errors.ts';
import type { ChoiceItem, Task } from '../types.ts';
import { isObj, isStr, need, parseJsonl } from './parse.ts';

export function hellaswagPreprocess(text: string): string {
  return text.trim().replace(/ \[title\]/g, '. ').replace(/\[.*?\]/g, '').replace(/ {2}/g, ' ');
}

const pyCapitalize = (s: string) => (s.length ? s[0].toUpperCase() + s.slice(1).toLowerCase() : s);

export function parseHellaswagText(text: string, source = 'hellaswag.txt'): ChoiceItem[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length % 6 !== 0) throw new CriaError('bad-file', `${source}: ${lines.length} lines is not a multiple of 6; llama.cpp's HellaSwag form has 6 lines per task (context, gold 0–3, 4 endings)`);
  const items: ChoiceItem[] = [];
  for (let i = 0; i < lines.length; i += 6) {
    const gold = Number(lines[i + 1]);
    need(Number.isInteger(gold) && gold >= 0 && gold <= 3, source, i + 2, `the gold index must be 0–3; got "${lines[i + 1]}"`);
    const context = lines[i];
    const colon = context.indexOf(': ');
    items.push({
      id: `hellaswag/${i / 6}`,
      ...(colon > 0 ? { category: context.slice(0, colon) } : {}),
      context,
      choices: lines.slice(i + 2, i + 6).map((e) => ' ' + e),
      gold,
    });
  }
  return items;
}

export function parseHellaswagJsonl(text: string, source = 'hellaswag.jsonl'): ChoiceItem[] {
  return parseJsonl(text, source).map(({ line, value: v }, i) => {
    need(isObj(v) && isStr(v.activity_label) && isStr(v.ctx_a) && isStr(v.ctx_b) && Array.isArray(v.endings) && v.endings.every(isStr), source, line, 'expected {activity_label, ctx_a, ctx_b, endings, label}');
    const gold = Number(v.label);
    need(v.label !== undefined && v.label !== '' && Number.isInteger(gold) && gold >= 0 && gold < v.endings.length, source, line, 'missing or bad "label" (the test split has no labels; use the validation split)');
    return {
      id: `hellaswag/${v.ind ?? i}`,
      category: v.activity_label,
      context: hellaswagPreprocess(`${v.activity_label}: ${v.ctx_a} ${pyCapitalize(v.ctx_b)}`),
      choices: (v.endings as string[]).map((e) => ' ' + hellaswagPreprocess(e)),
      gold,
    };
  });
}

/** A HellaSwag task from either form (JSONL when the text starts with "{"). */
export function hellaswagTask(text: string, o: { source?: string; limit?: number } = {}): Task {
  const source = o.source ?? 'hellaswag';
  const items = text.trimStart().startsWith('{') ? parseHellaswagJsonl(text, source) : parseHellaswagText(text, source);
  return { name: 'hellaswag', version: '1', kind: 'multiple-choice', source, items: items.slice(0, o.limit ?? items.length) };
}

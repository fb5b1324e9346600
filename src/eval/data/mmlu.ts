/**
 * MMLU CSV files. Three layouts are recognized:
 * - the original (hendrycks/test data/{dev,val,test}/<subject>_<split>.csv): no header, 6
 *   columns question, A, B, C, D, answer letter;
 * - with a header `question,choice0,choice1,choice2,choice3,answer` (answer an index 0–3 or a letter);
 * - with a header naming Question, A–D, Answer and optionally Subject, in any order, other columns
 *   ignored (OpenAI simple-evals' mmlu.csv).
 * The subject is the Subject column, else the file name without "_dev.csv" / "_test.csv".
 *
 * Items are lm-evaluation-harness "mmlu_continuation" items (zero-shot):
 *   context  "The following are questions (with answers) about {subject}.\n\nQuestion: {question}\nAnswer:"
 *   choices  " {choice}"
 * with `question` set, so the same items run as letter-choice (ColossalEval's prompt, see
 * kinds/letter-choice.ts).
 */
import { CriaError } from '../../shared/errors.ts';
import type { ChoiceItem, Task } from '../types.ts';
import { parseCsv, subjectFromFileName } from './parse.ts';

const LETTER = { A: 0, B: 1, C: 2, D: 3 } as Record<string, number>;

function answerIndex(s: string): number | undefined {
  const t = s.trim().toUpperCase();
  if (t in LETTER) return LETTER[t];
  return /^[0-3]$/.test(t) ? Number(t) : undefined;
}

export function mmluItem(subject: string, index: number, question: string, choices: string[], gold: number): ChoiceItem {
  const q = question.trim();
  return {
    id: `${subject}/${index}`,
    category: subject,
    context: `The following are questions (with answers) about ${subject.replaceAll('_', ' ')}.\n\nQuestion: ${q}\nAnswer:`,
    choices: choices.map((c) => ' ' + c),
    gold,
    question: q,
  };
}

export function parseMmluCsv(text: string, fileName: string): ChoiceItem[] {
  const rows = parseCsv(text);
  if (rows.length === 0) return [];
  const head = rows[0].map((c) => c.trim().toLowerCase());
  let col = { q: 0, c: [1, 2, 3, 4], a: 5, s: -1 };
  let body = rows;
  if (head.includes('question')) {
    const find = (...names: string[]) => head.findIndex((h) => names.includes(h));
    col = { q: find('question'), c: [find('choice0', 'a'), find('choice1', 'b'), find('choice2', 'c'), find('choice3', 'd')], a: find('answer'), s: find('subject') };
    if (col.c.some((i) => i < 0) || col.a < 0) throw new CriaError('bad-file', `${fileName}: the header must name question, choice0–choice3 (or A–D) and answer; got ${rows[0].join(',')}`);
    body = rows.slice(1);
  }
  const fileSubject = subjectFromFileName(fileName);
  return body.map((r, i) => {
    const line = i + (body === rows ? 1 : 2);
    const gold = answerIndex(r[col.a] ?? '');
    if (r.length < 6 || gold === undefined) throw new CriaError('bad-file', `${fileName}, row ${line}: expected a question, 4 choices and an answer (A–D or 0–3)`);
    const subject = col.s >= 0 && r[col.s] ? r[col.s].trim() : fileSubject;
    return mmluItem(subject, i, r[col.q], col.c.map((c) => r[c]), gold);
  });
}

/** A task from several subject files. */
export function mmluTask(files: { name: string; text: string }[], o: { kind?: 'multiple-choice' | 'letter-choice'; name?: string; source?: string; limitPerSubject?: number } = {}): Task {
  const items = files.flatMap((f) => parseMmluCsv(f.text, f.name).slice(0, o.limitPerSubject ?? Infinity));
  const kind = o.kind ?? 'multiple-choice';
  return { name: o.name ?? (kind === 'letter-choice' ? 'mmlu-letter' : 'mmlu'), version: '1', kind, source: o.source ?? files.map((f) => f.name).join(', '), items };
}

/**
 * PIQA: valid.jsonl ({goal, sol1, sol2}) with its labels file (valid-labels.lst: 0 or 1 per
 * line, in the same order). Items as lm-evaluation-harness's piqa: context
 * "Question: {goal}\nAnswer:", choices " {sol1}", " {sol2}".
 */
import { CriaError } from '../../shared/errors.ts';
import type { ChoiceItem, Task } from '../types.ts';
import { isObj, isStr, need, parseJsonl } from './parse.ts';

export function parsePiqa(jsonl: string, labels: string, source = 'piqa'): ChoiceItem[] {
  const rows = parseJsonl(jsonl, source);
  const golds = labels.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (golds.length !== rows.length) throw new CriaError('bad-file', `${source}: ${rows.length} questions but ${golds.length} labels; use the labels file of the same split`);
  return rows.map(({ line, value: v }, i) => {
    need(isObj(v) && isStr(v.goal) && isStr(v.sol1) && isStr(v.sol2), source, line, 'expected {goal, sol1, sol2}');
    const gold = Number(golds[i].trim());
    need(gold === 0 || gold === 1, source, line, `label "${golds[i]}" must be 0 or 1`);
    return { id: `piqa/${i}`, context: `Question: ${v.goal}\nAnswer:`, choices: [' ' + v.sol1, ' ' + v.sol2], gold, question: v.goal };
  });
}

export function piqaTask(jsonl: string, labels: string, o: { source?: string; limit?: number } = {}): Task {
  const items = parsePiqa(jsonl, labels, o.source);
  return { name: 'piqa', version: '1', kind: 'multiple-choice', source: o.source ?? 'piqa', items: items.slice(0, o.limit ?? items.length) };
}

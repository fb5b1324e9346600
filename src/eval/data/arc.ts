/**
 * ARC (AI2 Reasoning Challenge): the original JSONL (ARC-Challenge-Test.jsonl:
 * {id, question: {stem, choices: [{text, label}]}, answerKey}), a JSON array of the same, or the
 * Hugging Face layout ({id, question, choices: {text: [], label: []}, answerKey}). Labels are
 * letters or digits; answerKey names one. Items as lm-evaluation-harness's arc_easy/arc_challenge:
 * context "Question: {question}\nAnswer:", choices " {text}".
 */
import type { ChoiceItem, Task } from '../types.ts';
import { isObj, isStr, need, parseJsonOrJsonl } from './parse.ts';

export function parseArc(text: string, source = 'arc.jsonl'): ChoiceItem[] {
  return parseJsonOrJsonl(text, source).map(({ line, value: v }, i) => {
    need(isObj(v), source, line, 'expected an object');
    let stem: unknown;
    let texts: unknown[] = [];
    let labels: unknown[] = [];
    if (isObj(v.question)) {
      stem = v.question.stem;
      const cs = Array.isArray(v.question.choices) ? v.question.choices : [];
      texts = cs.map((c) => (isObj(c) ? c.text : undefined));
      labels = cs.map((c) => (isObj(c) ? c.label : undefined));
    } else if (isObj(v.choices)) {
      stem = v.question;
      texts = Array.isArray(v.choices.text) ? v.choices.text : [];
      labels = Array.isArray(v.choices.label) ? v.choices.label : [];
    }
    need(isStr(stem) && texts.length >= 2 && texts.every(isStr) && labels.length === texts.length, source, line, 'expected question.stem and question.choices [{text, label}] (or question + choices {text, label})');
    const gold = labels.map(String).indexOf(String(v.answerKey));
    need(gold >= 0, source, line, `answerKey ${JSON.stringify(v.answerKey)} is not one of the labels ${labels.join(', ')}`);
    return { id: isStr(v.id) ? v.id : `arc/${i}`, context: `Question: ${stem}\nAnswer:`, choices: (texts as string[]).map((t) => ' ' + t), gold, question: stem };
  });
}

export function arcTask(text: string, o: { name?: string; source?: string; limit?: number } = {}): Task {
  const items = parseArc(text, o.source);
  return { name: o.name ?? 'arc', version: '1', kind: 'multiple-choice', source: o.source ?? 'arc', items: items.slice(0, o.limit ?? items.length) };
}

/**
 * GSM8K (grade-school math, test.jsonl: {question, answer}; the answer ends with "#### number").
 * Zero-shot generation items: prompt "Question: {question}\nAnswer:", the accepted answer is the
 * number after "####", the model's answer is the last number in its output (lm-eval's
 * "flexible-extract"), generation stops at "Question:" or a blank line.
 */
import type { GenerationItem, Task } from '../types.ts';
import { isObj, isStr, need, parseJsonl } from './parse.ts';

/** the last number in the text: digits with "," groups and a decimal part, no trailing "." (the lookahead forbids any digit after it) */
export const LAST_NUMBER = '(-?[0-9](?:[0-9,]*[0-9])?(?:\\.[0-9]+)?)(?!.*[0-9])';

export function parseGsm8k(text: string, source = 'gsm8k.jsonl'): GenerationItem[] {
  return parseJsonl(text, source).map(({ line, value: v }, i) => {
    need(isObj(v) && isStr(v.question) && isStr(v.answer), source, line, 'expected {question, answer}');
    const m = /####\s*(.+)\s*$/.exec(v.answer);
    need(m, source, line, 'the answer has no "#### number" line');
    return { id: `gsm8k/${i}`, prompt: `Question: ${v.question}\nAnswer:`, answers: [m[1].trim()], extract: LAST_NUMBER };
  });
}

export function gsm8kTask(text: string, o: { source?: string; limit?: number } = {}): Task {
  const items = parseGsm8k(text, o.source);
  return { name: 'gsm8k', version: '1', kind: 'generation', source: o.source ?? 'gsm8k', items: items.slice(0, o.limit ?? items.length), options: { max_tokens: 256, stop: ['Question:', '\n\n'] } };
}

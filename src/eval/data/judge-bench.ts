/**
 * FastChat llm_judge data: MT-bench and Vicuna bench questions (question.jsonl:
 * {question_id, category, turns}), the legacy Vicuna table (fastchat/eval/table/question.jsonl:
 * {question_id, text, category}), reference answers (reference_answer/gpt-4.jsonl:
 * {question_id, choices: [{turns}]}) and judge prompts (judge_prompts.jsonl).
 */
import type { JudgeItem, Task } from '../types.ts';
import type { JudgePrompt } from '../kinds/judge-common.ts';
import { isObj, isStr, need, parseJsonl } from './parse.ts';

/** Questions in llm_judge form, or the legacy Vicuna table form. */
export function parseJudgeQuestions(text: string, source = 'question.jsonl'): JudgeItem[] {
  return parseJsonl(text, source).map(({ line, value: v }) => {
    need(isObj(v), source, line, 'expected an object');
    need(v.question_id !== undefined, source, line, 'missing question_id');
    const turns = Array.isArray(v.turns) ? v.turns : isStr(v.text) ? [v.text] : undefined;
    need(turns && turns.length > 0 && turns.every(isStr), source, line, 'expected "turns" (a list of strings) or "text"');
    return { id: String(v.question_id), category: isStr(v.category) ? v.category : 'other', turns: turns as string[] };
  });
}

/** Reference answers by question id: the first choice's turns. */
export function parseReferenceAnswers(text: string, source = 'reference_answer.jsonl'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { line, value: v } of parseJsonl(text, source)) {
    need(isObj(v) && v.question_id !== undefined, source, line, 'expected an object with question_id');
    const c = Array.isArray(v.choices) ? v.choices[0] : undefined;
    need(isObj(c) && Array.isArray(c.turns) && c.turns.every(isStr), source, line, 'expected choices[0].turns (a list of strings)');
    out.set(String(v.question_id), c.turns as string[]);
  }
  return out;
}

export function parseJudgePrompts(text: string, source = 'judge_prompts.jsonl'): JudgePrompt[] {
  return parseJsonl(text, source).map(({ line, value: v }) => {
    need(isObj(v) && isStr(v.name) && (v.type === 'single' || v.type === 'pairwise') && isStr(v.system_prompt) && isStr(v.prompt_template), source, line, 'expected {name, type: "single"|"pairwise", system_prompt, prompt_template}');
    return v as unknown as JudgePrompt;
  });
}

/** A judged task from the pieces. */
export function judgeTask(o: {
  name: string;
  kind: 'judge-single' | 'judge-pairwise';
  questions: JudgeItem[];
  references?: Map<string, string[]>;
  judgePrompts: JudgePrompt[];
  source: string;
  version?: string;
  options?: Record<string, unknown>;
}): Task {
  const items = o.questions.map((q) => {
    const ref = o.references?.get(q.id);
    return ref ? { ...q, reference: ref } : q;
  });
  return { name: o.name, version: o.version ?? '1', kind: o.kind, source: o.source, items, options: { ...o.options, judge_prompts: o.judgePrompts } };
}

/** Add judge prompts (judge_prompts.jsonl text) to a judged task read from elsewhere. */
export function withJudgePrompts(task: Task, judgePromptsJsonl: string): Task {
  return { ...task, options: { ...task.options, judge_prompts: parseJudgePrompts(judgePromptsJsonl) } };
}

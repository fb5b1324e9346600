/**
 * What the judged kinds share (FastChat's llm_judge, MT-bench and Vicuna bench): answering with
 * per-category temperatures, multi-turn conversations, the judge prompts, verdict parsing.
 *
 * Answers (gen_model_answer.py): each question's turns are asked in one conversation (turn 2
 * sees turn 1's answer), at the category's temperature (FastChat's table below; 0 = greedy),
 * up to `max_tokens` (option, default 1024, lowered to the room the context leaves), answers
 * trimmed. Sampled answers use a seed derived from the run's seed, the contestant, the question
 * and the turn, so a resumed run gives the same answers.
 *
 * Judging (gen_judgment.py): the judge answers at temperature 0, up to `judge_max_tokens`
 * (default 2048, lowered likewise), with the prompt's system_prompt as the system message and
 * its prompt_template filled in as the user message. Turn 1 uses single-v1 / pair-v2, turn 2
 * the "-multi-turn" variants; questions of the categories that need a reference (math,
 * reasoning, coding) use single-math-v1 / pair-math-v1 with the reference answer, when the
 * question has one. Ratings are parsed from "[[n]]" (else "[n]"), kept when 1–10; pairwise
 * verdicts from "[[A]]", "[[B]]", "[[C]]" (tie), in that order of precedence. Anything else is
 * unparseable: kept as raw text, counted, and left out of the scores.
 *
 * With option `constrain_verdict` (default true) the judge answers under a grammar that is the
 * verdict's format (judge-verdict.ts): free reasoning, then "[[rating]]" / "[[A]]"… within its
 * token budget, so verdicts parse. Each judgement records whether it was constrained.
 */
import { CriaError } from '../../shared/errors.ts';
import type { ChatMessage } from '../../protocol/api.ts';
import type { EvalTarget, ItemResult, JudgeItem, Judgement, Task } from '../types.ts';
import { hash32 } from '../stats.ts';
import { errorOf, generateFitting, isItemError, opt, type Aggregate } from './kind.ts';
import { verdictGrammar, type VerdictKind } from './judge-verdict.ts';

export type ModelRole = 'A' | 'B' | 'judge';
export type Contestant = 'A' | 'B';

/** FastChat's temperature_config (gen_model_answer.py); categories not listed get OTHER_TEMPERATURE. */
export const DEFAULT_TEMPERATURES: Readonly<Record<string, number>> = {
  writing: 0.7,
  roleplay: 0.7,
  extraction: 0.0,
  math: 0.0,
  coding: 0.0,
  reasoning: 0.0,
  stem: 0.1,
  humanities: 0.1,
};
export const OTHER_TEMPERATURE = 0.7;
/** FastChat's NEED_REF_CATS: judged against a reference answer. */
export const NEED_REF_CATEGORIES: readonly string[] = ['math', 'reasoning', 'coding'];

/** One record of FastChat's judge_prompts.jsonl. */
export interface JudgePrompt {
  name: string;
  type: 'single' | 'pairwise';
  system_prompt: string;
  prompt_template: string;
  description?: string;
  category?: string;
  output_format?: string;
}

export interface JudgeContext {
  target: EvalTarget;
  task: Task;
  seed: number;
  signal?: AbortSignal;
}

/** A contestant's answers to one question, stored as soon as they exist (phase "answer-A"/"answer-B"). */
export interface Answers {
  answers: string[];
  errors: string[];
}

/** A judged kind: which contestants answer, then how the judge decides, then the metrics. */
export interface JudgedKind {
  contestants: readonly Contestant[];
  judge(item: JudgeItem, answers: Record<Contestant, Answers | undefined>, ctx: JudgeContext): Promise<Omit<ItemResult, 'ms'>>;
  aggregate(results: readonly ItemResult[]): Aggregate;
}

export function temperatureFor(category: string, task: Pick<Task, 'options'>): number {
  const over = task.options?.temperatures as Record<string, number> | undefined;
  return over?.[category] ?? DEFAULT_TEMPERATURES[category] ?? (typeof over?.other === 'number' ? over.other : OTHER_TEMPERATURE);
}

export function judgePrompts(task: Pick<Task, 'options'>): JudgePrompt[] {
  const p = task.options?.judge_prompts;
  if (!Array.isArray(p) || p.length === 0) {
    throw new CriaError('bad-argument', 'a judged task needs its judge prompts (FastChat judge_prompts.jsonl) in options.judge_prompts; the catalogue entries add them, or see docs/eval-format.md');
  }
  return p as JudgePrompt[];
}

/** Ask a contestant every turn of a question, in one conversation. */
export async function answerQuestion(item: JudgeItem, who: Contestant, ctx: JudgeContext): Promise<Answers> {
  const temperature = temperatureFor(item.category, ctx.task);
  const maxTokens = opt(ctx.task, 'max_tokens', 1024);
  const messages: ChatMessage[] = [];
  const answers: string[] = [];
  const errors: string[] = [];
  for (let t = 0; t < item.turns.length; t++) {
    messages.push({ role: 'user', content: item.turns[t] });
    let text = '';
    try {
      const seed = hash32(`${ctx.seed}:${who}:${item.id}:${t}`);
      const out = await generateFitting((max_tokens) => ctx.target.chat({ messages: [...messages], max_tokens, temperature, seed }, { signal: ctx.signal }), maxTokens);
      text = out.text.trim();
    } catch (e) {
      if (!isItemError(e)) throw e;
      errors.push(`${who} turn ${t + 1}: ${errorOf(e).message}`);
    }
    answers.push(text);
    messages.push({ role: 'assistant', content: text });
  }
  return { answers, errors };
}

/** The prompt FastChat uses for this question and turn. */
export function pickPrompt(prompts: readonly JudgePrompt[], type: 'single' | 'pairwise', item: JudgeItem, turn: number): JudgePrompt {
  const math = NEED_REF_CATEGORIES.includes(item.category) && (item.reference?.length ?? 0) > turn;
  const base = type === 'single' ? (math ? 'single-math-v1' : 'single-v1') : math ? 'pair-math-v1' : 'pair-v2';
  const name = turn > 0 ? `${base}-multi-turn` : base;
  const p = prompts.find((x) => x.name === name);
  if (!p) throw new CriaError('bad-argument', `the judge prompts have no "${name}" (needed for ${type} grading of turn ${turn + 1}); use FastChat's judge_prompts.jsonl`);
  return p;
}

/** Python str.format for the names used by the judge prompts ({question}, {answer_a_1}, …); other braces are left alone. */
export function fillTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? vars[k] : m));
}

function refVars(item: JudgeItem): Record<string, string> {
  const r = item.reference ?? [];
  return { ref_answer_1: r[0] ?? '', ref_answer_2: r[1] ?? '' };
}

/** Variables for a single-answer prompt at `turn`. */
export function singleVars(item: JudgeItem, answers: readonly string[], turn: number): Record<string, string> {
  if (turn === 0) return { question: item.turns[0], answer: answers[0] ?? '', ...refVars(item) };
  return { question_1: item.turns[0], question_2: item.turns[1], answer_1: answers[0] ?? '', answer_2: answers[1] ?? '', ...refVars(item) };
}

/** Variables for a pairwise prompt at `turn`, `first` shown as Assistant A. */
export function pairVars(item: JudgeItem, first: readonly string[], second: readonly string[], turn: number): Record<string, string> {
  if (turn === 0) return { question: item.turns[0], answer_a: first[0] ?? '', answer_b: second[0] ?? '', ...refVars(item) };
  return {
    question_1: item.turns[0],
    question_2: item.turns[1],
    answer_a_1: first[0] ?? '',
    answer_a_2: first[1] ?? '',
    answer_b_1: second[0] ?? '',
    answer_b_2: second[1] ?? '',
    ...refVars(item),
  };
}

/** "[[n]]", else "[n]" (FastChat's one_score_pattern and its backup); null unless 1–10. */
export function parseRating(text: string): number | null {
  const m = /\[\[(\d+\.?\d*)\]\]/.exec(text) ?? /\[(\d+\.?\d*)\]/.exec(text);
  if (!m) return null;
  const v = Number(m[1]);
  return Number.isFinite(v) && v >= 1 && v <= 10 ? v : null;
}

/** "[[A]]" → A, "[[B]]" → B, "[[C]]" → tie (checked in that order, as FastChat does); else null. */
export function parsePairVerdict(text: string): 'A' | 'B' | 'tie' | null {
  if (text.includes('[[A]]')) return 'A';
  if (text.includes('[[B]]')) return 'B';
  if (text.includes('[[C]]')) return 'tie';
  return null;
}

/** whether the judge answers under the verdict's grammar (task option `constrain_verdict`, default true) */
export function constrainsVerdict(task: Pick<Task, 'options'>): boolean {
  return opt(task, 'constrain_verdict', true);
}

/**
 * Ask the judge; a prompt too long for its context is an unparseable verdict with an error, not a
 * failed run. Constrained, the grammar is made for the token budget of the request: when the
 * engine lowered max_tokens to the room the context leaves (it does, rather than refuse) and the
 * answer was cut there before its verdict, the judge is asked again with a grammar for that room
 * (the prompt is in the engine's prefix cache: only the answer is written again).
 */
export async function askJudge(prompt: JudgePrompt, vars: Record<string, string>, ctx: JudgeContext, kind: VerdictKind): Promise<{ raw: string; constrained: boolean; error?: string }> {
  const messages: ChatMessage[] = [
    { role: 'system', content: prompt.system_prompt },
    { role: 'user', content: fillTemplate(prompt.prompt_template, vars) },
  ];
  const constrained = constrainsVerdict(ctx.task);
  const ask = (max_tokens: number) => ctx.target.chat({ messages, max_tokens, temperature: 0, ...(constrained ? { grammar: verdictGrammar(kind, max_tokens) } : {}) }, { signal: ctx.signal });
  const budget = opt(ctx.task, 'judge_max_tokens', 2048);
  try {
    let out = await generateFitting(ask, budget);
    const room = out.usage.completion_tokens;
    if (constrained && out.finish_reason === 'length' && room < budget) out = await ask(room);
    return { raw: out.text, constrained };
  } catch (e) {
    if (!isItemError(e)) throw e;
    return { raw: '', constrained, error: errorOf(e).message };
  }
}

/** Grade one contestant's answers, turn by turn. */
export async function gradeSingle(item: JudgeItem, answers: readonly string[], who: Contestant, ctx: JudgeContext): Promise<Judgement[]> {
  const prompts = judgePrompts(ctx.task);
  const out: Judgement[] = [];
  for (let t = 0; t < item.turns.length; t++) {
    const p = pickPrompt(prompts, 'single', item, t);
    const { raw, constrained, error } = await askJudge(p, singleVars(item, answers, t), ctx, 'single');
    out.push({ turn: t, mode: who === 'A' ? 'single-A' : 'single-B', prompt: p.name, raw, parsed: parseRating(raw), constrained, ...(error ? { error } : {}) });
  }
  return out;
}

/** judge calls answered under the verdict's grammar (a report metric: `constrained_verdicts`) */
export function constrainedCount(js: readonly Judgement[]): number {
  return js.filter((j) => j.constrained).length;
}

export function judgementErrors(js: readonly Judgement[]): string[] {
  return js.filter((j) => j.error).map((j) => `judge ${j.mode} turn ${j.turn + 1}: ${j.error}`);
}

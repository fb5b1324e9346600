/**
 * The Eval page's file reading (src/app/eval-data.ts): each format is recognised from its name and
 * first record (the fixtures, and inline samples of the formats the fixtures lack), a judged task
 * takes its questions, judge prompts and reference answers as separate files, a missing companion
 * file is asked for by name, and limits cut items (or characters of a perplexity text).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { limitTask, recognise, taskFromFiles, withOptions } from '../../src/app/eval-data.ts';
import type { ChoiceItem, JudgeItem } from '../../src/eval/types.ts';
import { fixturePath } from './helpers/fixtures.ts';

const fixture = (rel: string) => new File([readFileSync(fixturePath(rel))], rel.split('/').pop()!);
const file = (name: string, text: string) => new File([text], name);

const ARC = '{"id": "Mercury_1", "question": {"stem": "Which is a metal?", "choices": [{"text": "iron", "label": "A"}, {"text": "wood", "label": "B"}]}, "answerKey": "A"}\n';
const PIQA = '{"goal": "Open a jar", "sol1": "Twist the lid", "sol2": "Shake it"}\n';
const GSM8K = '{"question": "What is 2 + 2?", "answer": "2 + 2 = 4\\n#### 4"}\n';

describe('recognise', () => {
  it('names each format from its file name and first record', () => {
    expect(recognise('hellaswag_val_first1000.txt', readFileSync(fixturePath('eval/hellaswag/hellaswag_val_first1000.txt'), 'utf8'))).toBe('hellaswag');
    expect(recognise('anatomy_dev.csv', 'q,a,b,c,d,A')).toBe('mmlu');
    expect(recognise('question.jsonl', readFileSync(fixturePath('eval/mt_bench/question.jsonl'), 'utf8'))).toBe('questions');
    expect(recognise('judge_prompts.jsonl', readFileSync(fixturePath('eval/mt_bench/judge_prompts.jsonl'), 'utf8'))).toBe('judge-prompts');
    expect(recognise('gpt-4.jsonl', readFileSync(fixturePath('eval/mt_bench/reference_answer_gpt-4.jsonl'), 'utf8'))).toBe('references');
    expect(recognise('legacy.jsonl', readFileSync(fixturePath('eval/vicuna_bench/question_legacy_eval_table.jsonl'), 'utf8'))).toBe('questions');
    expect(recognise('arc.jsonl', ARC)).toBe('arc');
    expect(recognise('valid.jsonl', PIQA)).toBe('piqa');
    expect(recognise('valid-labels.lst', '0\n')).toBe('piqa-labels');
    expect(recognise('test.jsonl', GSM8K)).toBe('gsm8k');
    expect(recognise('mine.jsonl', '{"task": {"kind": "generation"}}\n{"prompt": "x", "answer": "y"}\n')).toBe('cria');
    expect(recognise('mine.json', '{\n  "kind": "perplexity",\n  "items": [{"text": "abc"}]\n}')).toBe('cria');
    expect(recognise('story.txt', readFileSync(fixturePath('text/tinystories_sample_cs336.txt'), 'utf8'))).toBe('text');
  });
});

describe('taskFromFiles', () => {
  it('HellaSwag text, with a limit', async () => {
    const { task, describe: d } = await taskFromFiles([fixture('eval/hellaswag/hellaswag_val_first1000.txt')], 'auto');
    expect(task.kind).toBe('multiple-choice');
    expect(task.items).toHaveLength(1000);
    expect(d).toBe('hellaswag_val_first1000.txt: HellaSwag, 1000 items');
    expect(limitTask(task, 10, false).items).toHaveLength(10);
  });

  it('several MMLU subjects at once, in both styles', async () => {
    const files = [fixture('eval/mmlu_dev/anatomy_dev.csv'), fixture('eval/mmlu_dev/astronomy_dev.csv')];
    const lm = await taskFromFiles(files, 'auto');
    expect(lm.task.kind).toBe('multiple-choice');
    expect(new Set(lm.task.items.map((i) => (i as ChoiceItem).category))).toEqual(new Set(['anatomy', 'astronomy']));
    expect((await taskFromFiles(files, 'mmlu-letter')).task.kind).toBe('letter-choice');
  });

  it('MT-bench: questions, judge prompts and reference answers as three files', async () => {
    const files = ['question.jsonl', 'judge_prompts.jsonl', 'reference_answer_gpt-4.jsonl'].map((f) => fixture(`eval/mt_bench/${f}`));
    const single = await taskFromFiles(files, 'auto');
    expect(single.task).toMatchObject({ name: 'mt-bench', kind: 'judge-single' });
    expect(single.task.items).toHaveLength(80);
    expect((single.task.options?.judge_prompts as unknown[]).length).toBe(8);
    expect((single.task.items.find((i) => i.id === '111') as JudgeItem).reference).toHaveLength(2);
    const pair = await taskFromFiles(files, 'judge-pairwise');
    expect(pair.task).toMatchObject({ name: 'mt-bench-pairwise', kind: 'judge-pairwise' });
    // without the judge prompts: asked for by name
    await expect(taskFromFiles([files[0]], 'auto')).rejects.toThrow(/judge_prompts\.jsonl/);
    // Vicuna's one-turn questions
    const vicuna = await taskFromFiles([fixture('eval/vicuna_bench/question.jsonl'), files[1]], 'auto');
    expect(vicuna.task.name).toBe('vicuna-bench');
  });

  it('ARC, GSM8K, PIQA (with its labels file), the user format, plain text', async () => {
    expect((await taskFromFiles([file('ARC-Easy-Test.jsonl', ARC)], 'auto')).task).toMatchObject({ name: 'arc-easy', kind: 'multiple-choice' });
    expect((await taskFromFiles([file('test.jsonl', GSM8K)], 'auto')).task.kind).toBe('generation');
    await expect(taskFromFiles([file('valid.jsonl', PIQA)], 'auto')).rejects.toThrow(/labels file/);
    expect((await taskFromFiles([file('valid.jsonl', PIQA), file('valid-labels.lst', '0\n')], 'auto')).task.items).toHaveLength(1);
    const user = await taskFromFiles([file('capitals.jsonl', '{"context": "The capital of France is", "choices": [" Paris", " Lyon"], "gold": 0}\n')], 'auto');
    expect(user.task).toMatchObject({ name: 'capitals', kind: 'multiple-choice' });
    const text = await taskFromFiles([fixture('text/tinystories_sample_cs336.txt')], 'auto');
    expect(text.task.kind).toBe('perplexity');
    expect(text.limitIsChars).toBe(true);
    const cut = limitTask(text.task, 100, true);
    expect((cut.items[0] as { text: string }).text).toHaveLength(100);
    expect(withOptions(cut, { n_ctx: 64, stride: undefined }).options).toEqual({ n_ctx: 64 });
  });

  it('bad files: the loader says which line, and mixed files are refused', async () => {
    await expect(taskFromFiles([file('mine.jsonl', '{"context": "a", "choices": [" b", " c"], "gold": 0}\n{oops}\n')], 'auto')).rejects.toThrow(/^mine\.jsonl, line 2: not valid JSON/);
    await expect(taskFromFiles([file('empty.jsonl', '  \n')], 'auto')).rejects.toThrow('empty.jsonl is empty.');
    await expect(taskFromFiles([file('test.jsonl', GSM8K), file('arc.jsonl', ARC)], 'auto')).rejects.toThrow(/different things/);
    await expect(taskFromFiles([], 'auto')).rejects.toThrow(/Choose a file/);
  });
});

/**
 * Loaders (src/eval/data/) on every fixture file, and on small inline samples of the forms the
 * fixtures do not have (HellaSwag JSONL, headerless MMLU, ARC, PIQA, GSM8K, the user format,
 * zip); the catalogue's entries, loaded through a fake fetch that serves fixtures (tests never
 * download).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseArc } from '../../src/eval/data/arc.ts';
import { parseGsm8k } from '../../src/eval/data/gsm8k.ts';
import { hellaswagTask, parseHellaswagJsonl, parseHellaswagText } from '../../src/eval/data/hellaswag.ts';
import { parseJudgePrompts, parseJudgeQuestions, parseReferenceAnswers } from '../../src/eval/data/judge-bench.ts';
import { mmluTask, parseMmluCsv } from '../../src/eval/data/mmlu.ts';
import { parseCsv } from '../../src/eval/data/parse.ts';
import { parsePiqa } from '../../src/eval/data/piqa.ts';
import { perplexityTask } from '../../src/eval/data/text.ts';
import { parseUserTask } from '../../src/eval/data/user.ts';
import { readZip, readZipText } from '../../src/eval/data/zip.ts';
import { CATALOGUE, loadCatalogueTask } from '../../src/eval/catalogue.ts';
import { extractAnswer, normalizeAnswer } from '../../src/eval/kinds/generation.ts';
import type { ChoiceItem, GenerationItem, JudgeItem } from '../../src/eval/types.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';

const fx = (p: string) => readFileSync(fixturePath(`eval/${p}`), 'utf8');
const count = <T>(xs: T[], key: (x: T) => string) => xs.reduce<Record<string, number>>((m, x) => ((m[key(x)] = (m[key(x)] ?? 0) + 1), m), {});
const throwsBadFile = (f: () => unknown, msg: RegExp) => {
  try {
    f();
  } catch (e) {
    expect(isCriaError(e, 'bad-file'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(msg);
    return;
  }
  expect.fail('expected a bad-file error');
};

describe('MT-bench and Vicuna bench (FastChat llm_judge)', () => {
  it('MT-bench: 80 two-turn questions in 8 categories, 30 references, 8 judge prompts', () => {
    const q = parseJudgeQuestions(fx('mt_bench/question.jsonl'));
    expect(q.length).toBe(80);
    expect(q.every((x) => x.turns.length === 2)).toBe(true);
    expect(count(q, (x) => x.category)).toEqual({ writing: 10, roleplay: 10, reasoning: 10, math: 10, coding: 10, extraction: 10, stem: 10, humanities: 10 });
    const refs = parseReferenceAnswers(fx('mt_bench/reference_answer_gpt-4.jsonl'));
    expect(refs.size).toBe(30);
    expect(q.filter((x) => refs.has(x.id)).map((x) => x.category).sort()).toEqual([...Array(10).fill('coding'), ...Array(10).fill('math'), ...Array(10).fill('reasoning')]);
    const prompts = parseJudgePrompts(fx('mt_bench/judge_prompts.jsonl'));
    expect(prompts.map((p) => p.name).sort()).toEqual(['pair-math-v1', 'pair-math-v1-multi-turn', 'pair-v2', 'pair-v2-multi-turn', 'single-math-v1', 'single-math-v1-multi-turn', 'single-v1', 'single-v1-multi-turn']);
  });

  it('Vicuna bench: 80 questions in both forms, identical; references for math and coding', () => {
    const q = parseJudgeQuestions(fx('vicuna_bench/question.jsonl'));
    const legacy = parseJudgeQuestions(fx('vicuna_bench/question_legacy_eval_table.jsonl'));
    expect(q.length).toBe(80);
    expect(legacy).toEqual(q);
    expect(count(q, (x) => x.category)).toEqual({ generic: 10, knowledge: 10, roleplay: 10, 'common-sense': 10, fermi: 10, counterfactual: 10, writing: 10, coding: 7, math: 3 });
    const refs = parseReferenceAnswers(fx('vicuna_bench/reference_answer_gpt-4.jsonl'));
    expect(refs.size).toBe(10);
    expect(q.filter((x) => refs.has(x.id)).every((x) => x.category === 'math' || x.category === 'coding')).toBe(true);
  });
});

describe('HellaSwag', () => {
  it("llama.cpp's text form: the first 1000 tasks", () => {
    const items = parseHellaswagText(fx('hellaswag/hellaswag_val_first1000.txt'));
    expect(items.length).toBe(1000);
    expect(items[0]).toEqual({
      id: 'hellaswag/0',
      category: 'Roof shingle removal',
      context: 'Roof shingle removal: A man is sitting on a roof. he',
      choices: [' is using wrap to wrap a pair of skis.', ' is ripping level tiles off.', " is holding a rubik's cube.", ' starts pulling up roofing on a roof.'],
      gold: 3,
    });
    expect(items.every((i) => i.choices.length === 4 && i.gold >= 0 && i.gold <= 3)).toBe(true);
  });

  it.skipIf(!hasBzip2())('the full validation set (10,042 tasks, bzip2)', () => {
    const text = execFileSync('bzip2', ['-dc', fixturePath('eval/hellaswag/hellaswag_val_full.txt.bz2')], { maxBuffer: 1 << 26 }).toString('utf8');
    const items = parseHellaswagText(text);
    expect(items.length).toBe(10042);
    expect(items.slice(0, 1000)).toEqual(parseHellaswagText(fx('hellaswag/hellaswag_val_first1000.txt')));
  });

  it('the original JSONL, preprocessed as lm-eval does', () => {
    const line = (o: object) => JSON.stringify(o);
    const text = [
      line({ ind: 24, activity_label: 'Roof shingle removal', ctx_a: 'A man is sitting on a roof.', ctx_b: 'he', ctx: 'A man is sitting on a roof. he', endings: ['is using wrap to wrap a pair of skis.', 'is ripping level tiles off.', "is holding a rubik's cube.", 'starts pulling up roofing on a roof.'], label: 3, split: 'val' }),
      line({ ind: 7, activity_label: 'Home and Garden', ctx_a: '[header] How to grow tomatoes [title] Pick a sunny spot.', ctx_b: 'THEN water', endings: ['[step] Water  daily.', 'b', 'c', 'd'], label: '0' }),
    ].join('\n');
    const items = parseHellaswagJsonl(text);
    expect(items[0]).toMatchObject({ id: 'hellaswag/24', context: 'Roof shingle removal: A man is sitting on a roof. He', gold: 3 });
    expect(items[0].choices[0]).toBe(' is using wrap to wrap a pair of skis.');
    // " [title]" → ". ", other brackets dropped, double spaces collapsed, ctx_b capitalized (Python: rest lower case)
    expect(items[1].context).toBe('Home and Garden: How to grow tomatoes. Pick a sunny spot. Then water');
    // lm-eval strips before dropping "[step]", so the ending keeps a space: "  Water daily." after the delimiter
    expect(items[1].choices[0]).toBe('  Water daily.');
    expect(items[1].gold).toBe(0);
    expect(hellaswagTask(text).items.length).toBe(2);
    throwsBadFile(() => parseHellaswagJsonl(line({ activity_label: 'x', ctx_a: 'a', ctx_b: 'b', endings: ['1', '2'] })), /label/);
  });
});

describe('MMLU', () => {
  it('every dev CSV (with header, answer index): 57 subjects × 5', () => {
    const dir = fixturePath('eval/mmlu_dev');
    const files = readdirSync(dir).filter((f) => f.endsWith('.csv'));
    expect(files.length).toBe(57);
    const task = mmluTask(files.map((f) => ({ name: f, text: readFileSync(`${dir}/${f}`, 'utf8') })));
    expect(task.items.length).toBe(285);
    const items = task.items as ChoiceItem[];
    expect(new Set(items.map((i) => i.category)).size).toBe(57);
    expect(items.every((i) => i.choices.length === 4 && i.choices.every((c) => c.startsWith(' ')) && i.gold >= 0 && i.gold <= 3)).toBe(true);
    const first = items.find((i) => i.id === 'anatomy/0')!;
    expect(first).toMatchObject({
      category: 'anatomy',
      context: 'The following are questions (with answers) about anatomy.\n\nQuestion: What is the embryological origin of the hyoid bone?\nAnswer:',
      question: 'What is the embryological origin of the hyoid bone?',
      gold: 3,
    });
    expect(first.choices[0]).toBe(' The first pharyngeal arch');
  });

  it('headerless original CSV (answer letters, quoted fields) and a simple-evals CSV (index column, Subject)', () => {
    const original = '"What is 2+2, really?",3,4,"five, or ""5""","a\nb",B\nSecond?,a,b,c,d,D\n';
    const items = parseMmluCsv(original, 'data/test/elementary_mathematics_test.csv');
    expect(items.map((i) => [i.id, i.gold])).toEqual([
      ['elementary_mathematics/0', 1],
      ['elementary_mathematics/1', 3],
    ]);
    expect(items[0].question).toBe('What is 2+2, really?');
    expect(items[0].choices).toEqual([' 3', ' 4', ' five, or "5"', ' a\nb']);
    const simple = ',Question,A,B,C,D,Answer,Subject\n0,Q1?,w,x,y,z,C,high_school_physics\n';
    expect(parseMmluCsv(simple, 'mmlu.csv')[0]).toMatchObject({ id: 'high_school_physics/0', category: 'high_school_physics', gold: 2 });
    throwsBadFile(() => parseMmluCsv('q,a,b,c,d,E\n', 'x_test.csv'), /row 1/);
    expect(parseCsv('a,"b\r\nc"\r\n\r\n')).toEqual([['a', 'b\r\nc']]);
  });
});

describe('ARC, PIQA, GSM8K', () => {
  it('ARC: original JSONL, a JSON array, the Hugging Face layout', () => {
    const orig = { id: 'Mercury_1', question: { stem: 'Which is a gas?', choices: [{ text: 'ice', label: 'A' }, { text: 'steam', label: 'B' }, { text: 'rock', label: 'C' }] }, answerKey: 'B' };
    const digits = { id: 'NYSED_2', question: { stem: 'Pick 3', choices: ['1', '2', '3', '4'].map((l) => ({ text: `n${l}`, label: l })) }, answerKey: '3' };
    const hf = { id: 'hf_3', question: 'Q?', choices: { text: ['x', 'y'], label: ['A', 'B'] }, answerKey: 'A' };
    const items = parseArc([orig, digits, hf].map((o) => JSON.stringify(o)).join('\n'));
    expect(items.map((i) => [i.id, i.gold, i.choices.length])).toEqual([
      ['Mercury_1', 1, 3],
      ['NYSED_2', 2, 4],
      ['hf_3', 0, 2],
    ]);
    expect(items[0]).toMatchObject({ context: 'Question: Which is a gas?\nAnswer:', choices: [' ice', ' steam', ' rock'] });
    expect(parseArc(JSON.stringify([orig, hf]))).toEqual([items[0], items[2]]);
    throwsBadFile(() => parseArc(JSON.stringify({ ...orig, answerKey: 'E' })), /answerKey/);
  });

  it('PIQA: questions with their labels file', () => {
    const jsonl = [{ goal: 'Open a jar', sol1: 'Twist the lid.', sol2: 'Eat the lid.' }, { goal: 'Dry hair', sol1: 'Use water.', sol2: 'Use a towel.' }].map((o) => JSON.stringify(o)).join('\n');
    const items = parsePiqa(jsonl, '0\n1\n');
    expect(items.map((i) => i.gold)).toEqual([0, 1]);
    expect(items[1]).toMatchObject({ context: 'Question: Dry hair\nAnswer:', choices: [' Use water.', ' Use a towel.'] });
    expect(() => parsePiqa(jsonl, '0\n')).toThrow(/labels/);
  });

  it('GSM8K: the number after ####, the last number of the output', () => {
    const [item] = parseGsm8k(JSON.stringify({ question: 'How many?', answer: 'Tom has 3.\nSo 1,200 in all.\n#### 1,200' }));
    expect(item.answers).toEqual(['1,200']);
    expect(extractAnswer('It is -3.5 or 1,200.', item.extract)).toBe('1,200');
    const out = 'First 12 apples, then 1200 more.\nSo the answer is 1200.';
    const got = extractAnswer(out, item.extract);
    expect(got).toBe('1200');
    expect(normalizeAnswer(got)).toBe(normalizeAnswer(item.answers[0]));
    expect(normalizeAnswer('The Answer: $3.50!')).toBe('answer 3.50');
  });
});

describe('the user format (docs/eval-format.md)', () => {
  it('JSONL with a task header, and kinds inferred from the items', () => {
    const t = parseUserTask(
      [
        '{"task": {"name": "capitals", "kind": "letter-choice", "version": 2, "options": {"instruction": ""}}}',
        '{"id": "fr", "question": "What is the capital of France?", "choices": ["Paris", "Lyon"], "gold": 0, "category": "europe"}',
        '{"question": "What is the capital of Peru?", "choices": ["Quito", "Lima", "Cusco"], "gold": 1}',
      ].join('\n'),
    );
    expect(t).toMatchObject({ name: 'capitals', kind: 'letter-choice', version: '2', options: { instruction: '' } });
    expect(t.items.map((i) => i.id)).toEqual(['fr', '2']);
    expect(parseUserTask('{"text": "Once upon a time."}\n').kind).toBe('perplexity');
    expect(parseUserTask('{"context": "2+2=", "choices": [" 4", " 5"], "gold": 0}').kind).toBe('multiple-choice');
    const g = parseUserTask('{"prompt": "Q: 2+2?\\nA:", "answer": "4", "extract": "(\\\\d+)"}', { name: 'arith' });
    expect(g).toMatchObject({ name: 'arith', kind: 'generation' });
    expect((g.items[0] as GenerationItem).answers).toEqual(['4']);
    const j = parseUserTask('{"turns": ["Hi", "Tell me more"], "reference": ["Hello", "More"]}', { kind: 'judge-pairwise' });
    expect(j.kind).toBe('judge-pairwise');
    expect((j.items[0] as JudgeItem).category).toBe('other');
    expect(parseUserTask('{"prompt": "Hello", "max_tokens": 16}').kind).toBe('speed');
  });

  it('one JSON object with items', () => {
    const t = parseUserTask(JSON.stringify({ name: 'x', kind: 'multiple-choice', items: [{ id: 'a', context: 'c', choices: [' y', ' n'], gold: 1 }] }, null, 2));
    expect(t).toMatchObject({ name: 'x', kind: 'multiple-choice', version: '1' });
    expect(t.items).toEqual([{ id: 'a', context: 'c', choices: [' y', ' n'], gold: 1 }]);
  });

  it('errors name the line and what is wrong', () => {
    throwsBadFile(() => parseUserTask('{"context": "c", "choices": [" a", " b"], "gold": 0}\n{"context": "c", "choices": [" a"], "gold": 0}'), /line 2: "choices" must be a list of at least 2 strings/);
    throwsBadFile(() => parseUserTask('{"context": "c", "choices": [" a", " b"], "gold": 2}'), /line 1: "gold"/);
    throwsBadFile(() => parseUserTask('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}'), /appears twice/);
    throwsBadFile(() => parseUserTask('{"foo": 1}'), /kind/);
    throwsBadFile(() => parseUserTask('{"text": "a"}\nnot json'), /line 2: not valid JSON/);
    throwsBadFile(() => parseUserTask('{"prompt": "p", "answers": ["a"], "extract": "("}'), /regular expression/);
  });
});

describe('text and zip', () => {
  it('the perplexity texts', () => {
    for (const f of ['tinystories_train_head_niklas6.txt', 'tinystories_sample_cs336.txt']) {
      const text = readFileSync(fixturePath(`text/${f}`), 'utf8');
      const t = perplexityTask(text, { name: f });
      expect(t.kind).toBe('perplexity');
      expect(t.items).toEqual([{ id: f, text }]);
    }
  });

  it('reads stored and deflated entries', async () => {
    const entry = (name: string, data: Buffer, method: 0 | 8) => ({ name, data, stored: method === 0 ? data : deflateRawSync(data), method });
    const files = [entry('wikitext-2-raw/wiki.test.raw', Buffer.from(' = Robert Boulter = \n'.repeat(50)), 8), entry('README', Buffer.from('hello'), 0)];
    const parts: Buffer[] = [];
    const central: Buffer[] = [];
    let offset = 0;
    for (const f of files) {
      const name = Buffer.from(f.name);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(f.method, 8);
      local.writeUInt32LE(f.stored.length, 18);
      local.writeUInt32LE(f.data.length, 22);
      local.writeUInt16LE(name.length, 26);
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(f.method, 10);
      c.writeUInt32LE(f.stored.length, 20);
      c.writeUInt32LE(f.data.length, 24);
      c.writeUInt16LE(name.length, 28);
      c.writeUInt32LE(offset, 42);
      central.push(c, name);
      parts.push(local, name, f.stored);
      offset += 30 + name.length + f.stored.length;
    }
    const cd = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(files.length, 8);
    end.writeUInt16LE(files.length, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(offset, 16);
    const zip = new Uint8Array(Buffer.concat([...parts, cd, end]));
    expect(readZip(zip).map((e) => e.name)).toEqual(['wikitext-2-raw/wiki.test.raw', 'README']);
    expect(await readZipText(zip, 'wiki.test.raw')).toBe(files[0].data.toString());
    expect(await readZipText(zip, 'README')).toBe('hello');
    await expect(readZipText(zip, 'nope')).rejects.toThrow(/no file/);
    expect(() => readZip(new Uint8Array(100))).toThrow(/zip/);
  });
});

describe('the catalogue', () => {
  it('entries: unique names, a kind, a license, https URLs', () => {
    expect(new Set(CATALOGUE.map((e) => e.name)).size).toBe(CATALOGUE.length);
    for (const e of CATALOGUE) {
      expect(e.license.length).toBeGreaterThan(1);
      for (const u of e.urls) expect(u).toMatch(/^https:\/\/(raw\.githubusercontent\.com|huggingface\.co|datasets-server\.huggingface\.co|openaipublic\.blob\.core\.windows\.net|yonatanbisk\.com)\//);
    }
  });

  it('loads through the caller\'s fetch (here serving fixtures)', async () => {
    const served: Record<string, string> = {
      'mt_bench/question.jsonl': 'mt_bench/question.jsonl',
      'mt_bench/reference_answer/gpt-4.jsonl': 'mt_bench/reference_answer_gpt-4.jsonl',
      'judge_prompts.jsonl': 'mt_bench/judge_prompts.jsonl',
      'hellaswag_val_full.txt': 'hellaswag/hellaswag_val_first1000.txt',
    };
    const requested: string[] = [];
    const fakeFetch = (async (url: string) => {
      requested.push(url);
      const key = Object.keys(served).find((k) => url.endsWith(k));
      return key ? new Response(fx(served[key])) : new Response('not found', { status: 404 });
    }) as unknown as typeof fetch;
    const mt = await loadCatalogueTask('mt-bench-pairwise', { fetch: fakeFetch, limit: 5 });
    expect(mt).toMatchObject({ name: 'mt-bench-pairwise', kind: 'judge-pairwise' });
    expect(mt.items.length).toBe(5);
    expect((mt.options!.judge_prompts as unknown[]).length).toBe(8);
    const hs = await loadCatalogueTask('hellaswag-llamacpp', { fetch: fakeFetch, limit: 10 });
    expect(hs.items.length).toBe(10);
    expect(requested.every((u) => CATALOGUE.some((e) => e.urls.includes(u)))).toBe(true);
    await expect(loadCatalogueTask('gsm8k', { fetch: fakeFetch })).rejects.toThrow(/HTTP 404/);
    expect((await loadCatalogueTask('speed')).kind).toBe('speed');
  });
});

function hasBzip2(): boolean {
  try {
    execFileSync('bzip2', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('bzip2 is not installed: the full HellaSwag fixture is not parsed');
    return false;
  }
}

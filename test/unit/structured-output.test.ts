/**
 * Structured output through the engine (src/engine/request.ts parseFormat, src/grammar/, the mask in
 * src/engine/generate.ts), on stories260K with the CPU reference: requests are parsed strictly,
 * answers follow their schema or grammar at any sampling setting, an answer cut by max_tokens says
 * `length`, and a schema the grammar engine cannot enforce is refused before any token runs.
 * (Thousands of generated schemas: structured-output-property.test.ts; llama.cpp's GBNF grammars:
 * structured-output-gbnf.test.ts.)
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { GgufRuntime } from '../../src/engine/gguf-runtime.ts';
import type { LoadedModel, Runtime, RuntimeLoadContext, Sequence } from '../../src/engine/runtime.ts';
import type { ModelSource } from '../../src/protocol/api.ts';
import { parseChatRequest, parseCompletionRequest } from '../../src/engine/request.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { caught } from './helpers/caught.ts';

const err = (f: () => unknown): Error => caught(f) as Error;

describe('response_format and grammar in requests', () => {
  const base = { prompt: 'x' };
  it('parses the OpenAI shapes and llama.cpp\'s grammar', () => {
    expect(parseCompletionRequest({ ...base, response_format: { type: 'text' } }).format).toBeUndefined();
    expect(parseCompletionRequest({ ...base, response_format: { type: 'json_object' } }).format).toEqual({ type: 'json_object' });
    expect(parseChatRequest({ messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'person', schema: { type: 'object' }, strict: true } } }).format).toEqual({ type: 'json_schema', name: 'person', schema: { type: 'object' } });
    expect(parseCompletionRequest({ ...base, grammar: 'root ::= "a"' }).format).toEqual({ type: 'grammar', grammar: 'root ::= "a"' });
  });
  it.each([
    [{ response_format: { type: 'xml' } }, /the types are text, json_object and json_schema/],
    [{ response_format: { type: 'json_schema', json_schema: { schema: {} } } }, /name must be/],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: [] } } }, /must be a JSON Schema object/],
    [{ response_format: { type: 'json_object', schema: {} } }, /does not take/],
    [{ response_format: { type: 'json_object' }, grammar: 'root ::= "a"' }, /not both/],
    [{ grammar: '' }, /non-empty GBNF/],
    [{ grammar: 'x'.repeat(200_001) }, /at most 200000/],
    [{ response_format: { type: 'json_object' }, ignore_eos: true }, /ignore_eos cannot be combined/],
  ])('%j is a bad-argument', (extra, msg) => {
    const e = err(() => parseCompletionRequest({ ...base, ...extra }));
    expect(isCriaError(e, 'bad-argument')).toBe(true);
    expect(e.message).toMatch(msg);
  });
});

let gguf: ArrayBuffer;
beforeAll(() => {
  gguf = readFileSync(fixturePath('models/stories260K/stories260K-f32.gguf')).buffer as ArrayBuffer;
});
async function engine() {
  const e = new Engine({ createBackend: async () => new CpuBackend() });
  await e.load({ bytes: gguf, name: 'stories' });
  return e;
}

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    pet: { enum: ['cat', 'dog', 'none'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 5 }, maxItems: 3 },
  },
  required: ['name', 'age', 'pet'],
  additionalProperties: false,
};

describe('answers follow their format (stories260K, CPU reference)', () => {
  it('a JSON Schema, at several sampling settings: every completed answer validates', async () => {
    const e = await engine();
    const validate = new Ajv().compile(PERSON);
    const settings = [
      { temperature: 0 },
      { temperature: 1, seed: 1 },
      { temperature: 1.5, top_k: 40, seed: 2 },
      { temperature: 0.8, top_p: 0.9, min_p: 0.05, repetition_penalty: 1.2, seed: 3 },
      { temperature: 2, presence_penalty: 1, frequency_penalty: 1, seed: 4 },
    ];
    let completed = 0;
    for (const s of settings) {
      const r = await e.completion({ prompt: 'Once upon a time', max_tokens: 120, response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON } }, ...s });
      const c = r.choices[0];
      if (c.finish_reason === 'length') {
        expect(c.token_ids.length).toBe(120);
        continue;
      }
      completed++;
      const v = JSON.parse(c.text);
      expect(validate(v), `${JSON.stringify(s)}: ${c.text} ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(completed).toBeGreaterThanOrEqual(3);
  });

  it('json_object: a JSON object; streamed in the same pieces as the answer', async () => {
    const e = await engine();
    const req = { prompt: 'The cat', max_tokens: 100, temperature: 0.7, seed: 9, response_format: { type: 'json_object' as const } };
    const a = await e.completion(req);
    const pieces: string[] = [];
    const b = await e.completion({ ...req, stream: true }, (c) => pieces.push(c.choices[0].text));
    expect(b.choices[0].text).toBe(a.choices[0].text);
    expect(pieces.join('')).toBe(a.choices[0].text);
    if (a.choices[0].finish_reason === 'stop') {
      const v = JSON.parse(a.choices[0].text);
      expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
    }
  });

  it('greedy under a const schema gives exactly the constant: the mask decides, not the model', async () => {
    const e = await engine();
    const schema = { type: 'object', properties: { answer: { const: 'forty-two' } }, required: ['answer'], additionalProperties: false };
    const r = await e.completion({ prompt: 'Once upon a time', max_tokens: 60, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'c', schema } } });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(JSON.parse(r.choices[0].text)).toEqual({ answer: 'forty-two' });
    // without the format the model says something else
    const free = await e.completion({ prompt: 'Once upon a time', max_tokens: 20, temperature: 0 });
    expect(free.choices[0].text).not.toMatch(/forty-two/);
  });

  it('cut by max_tokens inside the structure: finish_reason length, never a "valid" answer', async () => {
    const e = await engine();
    const r = await e.completion({ prompt: 'Once', max_tokens: 4, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON } } });
    expect(r.choices[0].finish_reason).toBe('length');
    expect(() => JSON.parse(r.choices[0].text)).toThrow();
  });

  it('a chat answer follows the format too', async () => {
    const e = new Engine({ createBackend: async () => new CpuBackend() });
    await e.load({ bytes: gguf, name: 'stories' });
    const r = await e.chatCompletion({
      messages: [{ role: 'user', content: 'Who is it?' }],
      chat_template: "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}",
      max_tokens: 120,
      temperature: 0.5,
      seed: 5,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON } },
    });
    if (r.choices[0].finish_reason === 'stop') expect(new Ajv().compile(PERSON)(JSON.parse(r.choices[0].message.content!))).toBe(true);
    else expect(r.usage.completion_tokens).toBe(120);
  });

  it('a schema the grammar engine cannot enforce is a bad-argument naming the problem, before any token runs', async () => {
    const e = await engine();
    const before = (await e.stats()).tokensEvaluated;
    for (const [schema, msg] of [
      [{ type: 'string', minLength: 5, maxLength: 2 }, /minLength 5 is greater than maxLength 2/],
      [{ type: 'string', pattern: '(?<=a)b' }, /Lookbehind/],
    ] as const) {
      const x = await e.completion({ prompt: 'x', max_tokens: 5, response_format: { type: 'json_schema', json_schema: { name: 'bad', schema } } }).catch((y) => y);
      expect(isCriaError(x, 'bad-argument'), String(x)).toBe(true);
      expect(x.message).toMatch(/JSON Schema "bad" cannot be enforced/);
      expect(x.message).toMatch(msg);
    }
    const g = await e.completion({ prompt: 'x', max_tokens: 5, grammar: 'root ::= undefined-rule' }).catch((y) => y);
    expect(isCriaError(g, 'bad-argument')).toBe(true);
    expect(g.message).toMatch(/Rule "undefined-rule" is not defined/);
    expect((await e.stats()).tokensEvaluated).toBe(before);
    // the engine still answers afterwards
    const ok = await e.completion({ prompt: 'x', max_tokens: 30, temperature: 0, grammar: 'root ::= "yes" | "no"' });
    expect(['yes', 'no']).toContain(ok.choices[0].text);
  });
});

/** Cria's model behind a sequence that cannot mask on its device (as ONNX's and WebLLM's): the engine masks a CPU copy. */
class NoDeviceMask implements Runtime {
  readonly name = 'onnx' as const;
  private readonly inner = new GgufRuntime({ createBackend: async () => new CpuBackend() });
  accepts(s: ModelSource): boolean {
    return 'bytes' in s && s.name === 'no-mask';
  }
  async load(source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const m = await this.inner.load(source, ctx);
    const q = m.sequence as Sequence<unknown>;
    const seq: Sequence<unknown> = {
      get nCtx() { return q.nCtx; },
      get nVocab() { return q.nVocab; },
      commonPrefix: (t) => q.commonPrefix(t),
      truncate: (n) => q.truncate(n),
      append: (t, s) => q.append(t, s),
      appendAll: (t, s) => q.appendAll(t, s),
      score: (t, s) => q.score(t, s),
      argmax: (l) => q.argmax(l),
      topk: (l, k) => q.topk(l, k),
      read: (l) => q.read(l),
      sync: () => q.sync(),
    };
    return { ...m, sequence: seq };
  }
}

describe('the mask on the device and on a CPU copy give the same answers', () => {
  it('greedy and seeded, JSON Schema and grammar', async () => {
    const dev = await engine();
    const cpu = new Engine({ createBackend: async () => new CpuBackend(), runtimes: [new NoDeviceMask()] });
    await cpu.load({ bytes: gguf, name: 'no-mask' });
    for (const req of [
      { prompt: 'Once upon a time', max_tokens: 80, temperature: 0, response_format: { type: 'json_schema' as const, json_schema: { name: 'person', schema: PERSON } } },
      { prompt: 'The dog', max_tokens: 80, temperature: 1.2, top_k: 20, seed: 11, response_format: { type: 'json_object' as const } },
      { prompt: 'Tom', max_tokens: 40, temperature: 0.9, seed: 12, grammar: 'root ::= ("yes" | "no") (", " ("maybe" | "later"))*' },
    ]) {
      const a = await dev.completion(req);
      const b = await cpu.completion(req);
      expect(b.choices[0].token_ids).toEqual(a.choices[0].token_ids);
      expect(b.choices[0].finish_reason).toBe(a.choices[0].finish_reason);
    }
  });
});

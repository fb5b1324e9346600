/**
 * The chat app's "Answer format" setting (src/app/answer-format.ts): stored values sanitized, the
 * schema checked as it is typed (in words the panel shows), the request's response_format built
 * from the setting and accepted by the engine's request parser, and a JSON answer read for display
 * (pretty-printed, or marked cut / stopped / not JSON). One schema answer through the CPU
 * reference engine (stories260K, the app's request shape with its plain-text template) validates.
 */
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  answerFormatLabel,
  answerFormatProblem,
  DEFAULT_ANSWER_FORMAT,
  EXAMPLE_SCHEMA,
  parseSchemaText,
  readJsonAnswer,
  responseFormatOf,
  sanitizeAnswerFormat,
  schemaNameProblem,
  type AnswerFormat,
} from '../../src/app/answer-format.ts';
import { Engine } from '../../src/engine/engine.ts';
import { parseChatRequest } from '../../src/engine/request.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { FALLBACK_STOP, FALLBACK_TEMPLATE } from '../../src/ui/fallback-template.ts';
import { fixtureBytes, STORIES } from './helpers/eval-engine.ts';

const schema = (schemaText: string, schemaName = 'answer'): AnswerFormat => ({ kind: 'json_schema', schemaName, schemaText });

describe('the answer format setting', () => {
  it('stored values are sanitized: anything unknown is plain text, nothing typed is dropped', () => {
    expect(sanitizeAnswerFormat(undefined)).toEqual(DEFAULT_ANSWER_FORMAT);
    expect(sanitizeAnswerFormat({ kind: 'xml', schemaName: 3 })).toEqual(DEFAULT_ANSWER_FORMAT);
    expect(sanitizeAnswerFormat({ kind: 'json_schema', schemaName: 'person', schemaText: '{ not yet' })).toEqual(schema('{ not yet', 'person'));
    expect(sanitizeAnswerFormat({ kind: 'json' })).toEqual({ kind: 'json', schemaName: 'answer', schemaText: '' });
  });

  it('the schema is checked as it is typed, with what is wrong in words', () => {
    expect(parseSchemaText('  ')).toEqual({ problem: expect.stringMatching(/^Write a JSON Schema/) });
    expect(parseSchemaText('{"type": "object",}')).toEqual({ problem: expect.stringMatching(/^This is not valid JSON: /) });
    expect(parseSchemaText('[1, 2]')).toEqual({ problem: 'A JSON Schema is an object ({ … }), not a list.' });
    expect(parseSchemaText('null')).toEqual({ problem: 'A JSON Schema is an object ({ … }), not null.' });
    expect(parseSchemaText('"object"')).toEqual({ problem: 'A JSON Schema is an object ({ … }), not a string.' });
    expect(parseSchemaText(EXAMPLE_SCHEMA)).toEqual({ schema: JSON.parse(EXAMPLE_SCHEMA) });
    expect(schemaNameProblem('person_v2-a')).toBeUndefined();
    expect(schemaNameProblem('')).toMatch(/Give the schema a name/);
    expect(schemaNameProblem('a person')).toMatch(/only letters, digits/);
    expect(schemaNameProblem('x'.repeat(65))).toMatch(/at most 64/);
    // only a schema format can have a problem; the schema is checked before its name
    expect(answerFormatProblem({ ...DEFAULT_ANSWER_FORMAT, schemaText: '{' })).toBeUndefined();
    expect(answerFormatProblem({ kind: 'json', schemaName: '', schemaText: '' })).toBeUndefined();
    expect(answerFormatProblem(schema('{', ''))).toMatch(/not valid JSON/);
    expect(answerFormatProblem(schema('{}', ''))).toMatch(/Give the schema a name/);
    expect(answerFormatProblem(schema('{}'))).toBeUndefined();
  });

  it('response_format from the setting: none for text, json_object, json_schema with the parsed schema; a bad schema is never sent', () => {
    expect(responseFormatOf(DEFAULT_ANSWER_FORMAT)).toBeUndefined();
    expect(responseFormatOf({ kind: 'json', schemaName: 'answer', schemaText: 'left from before' })).toEqual({ type: 'json_object' });
    expect(responseFormatOf(schema(EXAMPLE_SCHEMA, 'review'))).toEqual({ type: 'json_schema', json_schema: { name: 'review', schema: JSON.parse(EXAMPLE_SCHEMA), strict: true } });
    expect(() => responseFormatOf(schema('{"type":'))).toThrow(/cannot be used: This is not valid JSON/);
    expect(() => responseFormatOf(schema('{}', 'no spaces please'))).toThrow(/only letters/);
    // the engine's own parser takes what the app sends
    for (const f of [{ kind: 'json' } as AnswerFormat, schema(EXAMPLE_SCHEMA)]) {
      const parsed = parseChatRequest({ messages: [{ role: 'user', content: 'hi' }], response_format: responseFormatOf(f) });
      expect(parsed.format).toEqual(f.kind === 'json' ? { type: 'json_object' } : { type: 'json_schema', name: 'answer', schema: JSON.parse(EXAMPLE_SCHEMA) });
    }
  });

  it('labels', () => {
    expect(answerFormatLabel(DEFAULT_ANSWER_FORMAT)).toBe('Text');
    expect(answerFormatLabel({ kind: 'json', schemaName: '' })).toBe('JSON');
    expect(answerFormatLabel({ kind: 'json_schema', schemaName: 'person' })).toBe('JSON Schema “person”');
  });

  it('a JSON answer for display: pretty-printed when whole; cut, stopped or not JSON shown as written, with the reason', () => {
    expect(readJsonAnswer('{"a":1,"b":[2,3]}', 'stop', false)).toEqual({ pretty: '{\n  "a": 1,\n  "b": [\n    2,\n    3\n  ]\n}', value: { a: 1, b: [2, 3] } });
    // a cut answer is incomplete even when its prefix happens to parse
    expect(readJsonAnswer('{"a":1}', 'length', false)).toEqual({ raw: '{"a":1}', reason: 'cut' });
    expect(readJsonAnswer('{"a":', 'length', false)).toEqual({ raw: '{"a":', reason: 'cut' });
    expect(readJsonAnswer('{"a":', undefined, true)).toEqual({ raw: '{"a":', reason: 'stopped' });
    expect(readJsonAnswer('Sure! {"a":1}', 'stop', false)).toEqual({ raw: 'Sure! {"a":1}', reason: 'invalid' });
  });
});

describe('the app\'s request with a JSON Schema, on the CPU reference (stories260K)', () => {
  it('the answer parses and validates under the schema', async () => {
    const engine = new Engine({ createBackend: async () => new CpuBackend() });
    await engine.load({ bytes: fixtureBytes(STORIES), name: 'stories260K' });
    const s = '{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":1,"maximum":99},"pet":{"enum":["cat","dog"]}},"required":["name","age","pet"],"additionalProperties":false}';
    const response_format = responseFormatOf(schema(s, 'person'))!;
    // as chat-view.ts sends it for a model without a chat template
    const r = await engine.chatCompletion({ messages: [{ role: 'user', content: 'Who is Lily?' }], response_format, chat_template: FALLBACK_TEMPLATE, stop: FALLBACK_STOP, max_tokens: 96, temperature: 0.8, seed: 3 });
    expect(r.choices[0].finish_reason).toBe('stop');
    const read = readJsonAnswer(r.choices[0].message.content!, r.choices[0].finish_reason, false);
    expect('pretty' in read).toBe(true);
    const validate = new Ajv().compile(JSON.parse(s));
    expect(validate((read as { value: unknown }).value), JSON.stringify(validate.errors)).toBe(true);
  });
});

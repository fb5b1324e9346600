/** The <cria-chat> answer-format attributes as a request's response_format (src/widget/response-format.ts). */
import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../../src/engine/request.ts';
import { widgetResponseFormat } from '../../src/widget/response-format.ts';
import { designedMessage } from '../../src/widget/messages.ts';
import { isCriaError } from '../../src/shared/errors.ts';

/** the error widgetResponseFormat throws, with its code, message and attribute */
function refusal(attrs: Parameters<typeof widgetResponseFormat>[0]): { code: string; message: string; attribute: unknown } {
  try {
    widgetResponseFormat(attrs);
  } catch (e) {
    if (!isCriaError(e)) throw e;
    return { code: e.code, message: e.message, attribute: e.detail?.attribute };
  }
  throw new Error(`accepted: ${JSON.stringify(attrs)}`);
}

describe('the widget\'s response-schema and response-format attributes', () => {
  const person = { title: 'person', type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };

  it('neither, or response-format="text": free text', () => {
    expect(widgetResponseFormat({})).toBeUndefined();
    expect(widgetResponseFormat({ responseSchema: null, responseFormat: null })).toBeUndefined();
    expect(widgetResponseFormat({ responseFormat: 'text' })).toBeUndefined();
    expect(widgetResponseFormat({ responseFormat: '' })).toBeUndefined();
  });

  it('response-format="json": a JSON object', () => {
    expect(widgetResponseFormat({ responseFormat: 'json' })).toEqual({ type: 'json_object' });
    expect(widgetResponseFormat({ responseFormat: ' JSON ' })).toEqual({ type: 'json_object' });
  });

  it('response-schema: the schema, named by its title when that is a valid name, else "answer"; with response-format="json" too', () => {
    expect(widgetResponseFormat({ responseSchema: JSON.stringify(person) })).toEqual({ type: 'json_schema', json_schema: { name: 'person', schema: person, strict: true } });
    expect(widgetResponseFormat({ responseSchema: '{"title":"A person","type":"object"}', responseFormat: 'json' })).toEqual({
      type: 'json_schema',
      json_schema: { name: 'answer', schema: { title: 'A person', type: 'object' }, strict: true },
    });
    // what the widget sends, the engine's request parser takes
    const parsed = parseChatRequest({ messages: [{ role: 'user', content: 'hi' }], response_format: widgetResponseFormat({ responseSchema: JSON.stringify(person) }) });
    expect(parsed.format).toEqual({ type: 'json_schema', name: 'person', schema: person });
  });

  it('a value it cannot use is a bad-argument naming the attribute, in words that say what to write', () => {
    expect(refusal({ responseSchema: '{type: "object"}' })).toMatchObject({ code: 'bad-argument', attribute: 'response-schema', message: expect.stringMatching(/^response-schema is not valid JSON \(.+\); give the JSON Schema as JSON text, with double quotes$/) });
    expect(refusal({ responseSchema: '  ' })).toMatchObject({ attribute: 'response-schema', message: expect.stringContaining('response-schema is empty') });
    expect(refusal({ responseSchema: '["a"]' })).toMatchObject({ attribute: 'response-schema', message: 'response-schema must be a JSON Schema object ({ … }), not a list' });
    expect(refusal({ responseSchema: 'true' })).toMatchObject({ attribute: 'response-schema', message: 'response-schema must be a JSON Schema object ({ … }), not a boolean' });
    expect(refusal({ responseFormat: 'xml' })).toMatchObject({ attribute: 'response-format', message: expect.stringContaining('response-format="xml": use "json"') });
    expect(refusal({ responseFormat: 'text', responseSchema: '{}' })).toMatchObject({ attribute: 'response-format', message: expect.stringContaining('contradict') });
  });

  it('the widget\'s card for an attribute error speaks to the site\'s owner, with no button to retry', () => {
    const d = designedMessage('bad-argument', { attribute: 'response-schema' });
    expect(d.title).toBe('The assistant is not set up correctly');
    expect(d.action).toBeUndefined();
    // other bad-arguments keep the general message
    expect(designedMessage('bad-argument').title).toBe('Something went wrong');
  });
});

/**
 * The answer-format attributes of <cria-chat>, read into a request's `response_format`:
 *
 *   response-schema='{"type":"object", …}'   a JSON Schema (as JSON text): answers are JSON valid under it
 *   response-format="json"                   answers are a JSON object (json_object)
 *   response-format="text" or neither        free text
 *
 * A schema's name (OpenAI's json_schema.name) is its `title` when that is a valid name, else
 * "answer". Anything else is a `bad-argument` naming the attribute (detail.attribute), which the
 * widget shows and raises as `cria-error`; it is never ignored. Whether the engine can enforce the
 * schema is its own check, when the first question is asked (also bad-argument, naming the part).
 */
import type { ResponseFormat } from '../protocol/api.ts';
import { CriaError } from '../shared/errors.ts';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function bad(attribute: 'response-schema' | 'response-format', message: string): never {
  throw new CriaError('bad-argument', message, { attribute });
}

/** `undefined`: free text. Throws CriaError('bad-argument', …, { attribute }) for a value it cannot use. */
export function widgetResponseFormat(attrs: { responseSchema?: string | null; responseFormat?: string | null }): ResponseFormat | undefined {
  const kind = attrs.responseFormat?.trim().toLowerCase();
  const schemaText = attrs.responseSchema;
  if (kind !== undefined && kind !== '' && kind !== 'text' && kind !== 'json') {
    bad('response-format', `response-format="${attrs.responseFormat}": use "json" (any JSON object) or "text", or give a JSON Schema in response-schema`);
  }
  if (schemaText === undefined || schemaText === null) return kind === 'json' ? { type: 'json_object' } : undefined;
  if (kind === 'text') bad('response-format', 'response-format="text" and a response-schema contradict each other: remove one');
  if (schemaText.trim() === '') bad('response-schema', 'response-schema is empty: give a JSON Schema as JSON text, or remove the attribute');
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (e) {
    bad('response-schema', `response-schema is not valid JSON (${(e as Error).message}); give the JSON Schema as JSON text, with double quotes`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    bad('response-schema', `response-schema must be a JSON Schema object ({ … }), not ${schema === null ? 'null' : Array.isArray(schema) ? 'a list' : `a ${typeof schema}`}`);
  }
  const title = (schema as { title?: unknown }).title;
  const name = typeof title === 'string' && NAME.test(title) ? title : 'answer';
  return { type: 'json_schema', json_schema: { name, schema: schema as Record<string, unknown>, strict: true } };
}

/**
 * The chat's "Answer format" setting: plain text (default), JSON (`json_object`) or JSON valid under
 * a JSON Schema the user writes (`json_schema`). Kept with the conversation, beside its system
 * prompt; the engine enforces it at every token. Pure functions, for the settings panel (checking
 * the schema as it is typed), the request (`responseFormatOf`) and the answer's rendering
 * (`readJsonAnswer`).
 */
import type { ResponseFormat } from '../client/index.ts';

export type AnswerFormatKind = 'text' | 'json' | 'json_schema';

export interface AnswerFormat {
  kind: AnswerFormatKind;
  /** json_schema: the schema's name (OpenAI's json_schema.name) */
  schemaName: string;
  /** json_schema: the schema as the user wrote it (kept even while it is not valid JSON, so nothing typed is lost) */
  schemaText: string;
}

export const DEFAULT_SCHEMA_NAME = 'answer';
export const DEFAULT_ANSWER_FORMAT: Readonly<AnswerFormat> = { kind: 'text', schemaName: DEFAULT_SCHEMA_NAME, schemaText: '' };

/** a starting point offered in the empty schema box */
export const EXAMPLE_SCHEMA = '{\n  "type": "object",\n  "properties": {\n    "title": { "type": "string", "maxLength": 40 },\n    "rating": { "type": "integer", "minimum": 1, "maximum": 5 }\n  },\n  "required": ["title", "rating"]\n}';

/** A stored value (IndexedDB, or older conversations without one) as a well-formed AnswerFormat. */
export function sanitizeAnswerFormat(v: unknown): AnswerFormat {
  const o = (v && typeof v === 'object' ? v : {}) as Partial<Record<keyof AnswerFormat, unknown>>;
  const kind = o.kind === 'json' || o.kind === 'json_schema' ? o.kind : 'text';
  return {
    kind,
    schemaName: typeof o.schemaName === 'string' ? o.schemaName : DEFAULT_SCHEMA_NAME,
    schemaText: typeof o.schemaText === 'string' ? o.schemaText : '',
  };
}

/** OpenAI's rule for json_schema.name, which the engine checks too */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function schemaNameProblem(name: string): string | undefined {
  if (NAME.test(name)) return undefined;
  return name.trim() === '' ? 'Give the schema a name (letters, digits, _ or -).' : 'The name may have only letters, digits, _ and - (at most 64).';
}

/** The schema text read as a JSON Schema object, or what is wrong with it (in words for the panel). */
export function parseSchemaText(text: string): { schema: Record<string, unknown> } | { problem: string } {
  if (text.trim() === '') return { problem: 'Write a JSON Schema, for example { "type": "object", "properties": { … } }.' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { problem: `This is not valid JSON: ${(e as Error).message}` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { problem: `A JSON Schema is an object ({ … }), not ${v === null ? 'null' : Array.isArray(v) ? 'a list' : `a ${typeof v}`}.` };
  return { schema: v as Record<string, unknown> };
}

/** What keeps this format from being sent (shown in the panel and under the message box), if anything. */
export function answerFormatProblem(f: AnswerFormat): string | undefined {
  if (f.kind !== 'json_schema') return undefined;
  const p = parseSchemaText(f.schemaText);
  if ('problem' in p) return p.problem;
  return schemaNameProblem(f.schemaName);
}

/**
 * The request's response_format; undefined for plain text. A JSON Schema that is not valid JSON (or
 * a bad name) throws: the chat does not send it (the composer says why), never a request without it.
 */
export function responseFormatOf(f: AnswerFormat): ResponseFormat | undefined {
  if (f.kind === 'text') return undefined;
  if (f.kind === 'json') return { type: 'json_object' };
  const problem = answerFormatProblem(f);
  if (problem) throw new Error(`the answer format's JSON Schema cannot be used: ${problem}`);
  return { type: 'json_schema', json_schema: { name: f.schemaName, schema: (parseSchemaText(f.schemaText) as { schema: Record<string, unknown> }).schema, strict: true } };
}

/** A short label for the format (the answer's badge, the settings button). */
export function answerFormatLabel(f: Pick<AnswerFormat, 'kind' | 'schemaName'>): string {
  return f.kind === 'text' ? 'Text' : f.kind === 'json' ? 'JSON' : `JSON Schema “${f.schemaName}”`;
}

/**
 * A JSON answer for display: pretty-printed when it parses; else the raw text with the reason
 * (`cut`: it ended at the token limit, `stopped`: the user stopped it, `invalid`: it does not
 * parse, which a constrained answer that finished should never be).
 */
export function readJsonAnswer(content: string, finish: string | undefined, stopped: boolean): { pretty: string; value: unknown } | { raw: string; reason: 'cut' | 'stopped' | 'invalid' } {
  if (finish === 'length') return { raw: content, reason: 'cut' };
  if (stopped) return { raw: content, reason: 'stopped' };
  try {
    const value: unknown = JSON.parse(content);
    return { pretty: JSON.stringify(value, null, 2), value };
  } catch {
    return { raw: content, reason: 'invalid' };
  }
}

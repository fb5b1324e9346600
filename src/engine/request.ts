/**
 * Requests, parsed once. Every OpenAI-shaped request (chat, completion, score) that reaches the
 * engine, from any front door (the app, the widget, the API, the CLI on either engine), is
 * checked here against the one set of limits and given the one set of defaults
 * (src/protocol/request-limits.ts), into a typed object the rest of the engine trusts.
 *
 * Strict: a field Cria does not implement (n > 1, logit_bias, the deprecated functions, …) is a
 * `bad-argument` naming it, never silently ignored; so is an unknown field (a typo would
 * otherwise change nothing, quietly). Tools and tool messages are checked by src/engine/tools.ts. OpenAI fields that change nothing here are accepted:
 * `model` (the loaded model answers), `user`, `n: 1`, `stream_options` (usage always comes on the
 * last chunk), and `max_completion_tokens` (OpenAI's newer name for max_tokens).
 */
import { CriaError } from '../shared/errors.ts';
import { REQUEST_DEFAULTS, REQUEST_LIMITS, STOP_MAX, STOP_MAX_LENGTH } from '../protocol/request-limits.ts';
import type { ChatMessage, ChatRequestMessage, OutputFormat, ScoreRequest } from '../protocol/api.ts';
import type { SamplingParams } from '../sampling/sampler.ts';
import { checkToolTurns, parseToolCallMessage, parseToolResult, parseTools, type ParsedTools } from './tools.ts';

export interface ParsedSampling {
  /** absent from the request: the default, cut later to the room the context has */
  maxTokens: number;
  maxTokensGiven: boolean;
  sampling: SamplingParams;
  stop: string[];
  logprobs: boolean;
  topLogprobs: number;
  ignoreEos: boolean;
  stream: boolean;
  requestId?: string;
  /** response_format / grammar: what the answer must follow */
  format?: OutputFormat;
  /** LoRA adapters for this request; absent: the engine's current ones */
  lora?: ParsedLora[];
}

/** A LoRA reference, checked: an id and a finite scale (default 1). */
export interface ParsedLora {
  id: string;
  scale: number;
}

export interface ParsedChat extends ParsedSampling {
  messages: ChatRequestMessage[];
  chatTemplate?: string;
  /** tools, tool_choice, parallel_tool_calls (src/engine/tools.ts); absent without tools */
  tools?: ParsedTools;
}

export interface ParsedCompletion extends ParsedSampling {
  prompt: string | number[];
  promptLogits: boolean;
}

const NOT_IMPLEMENTED: Record<string, string> = {
  logit_bias: 'logit_bias is not implemented yet',
  functions: 'functions (the deprecated form of tools) is not implemented: give "tools" instead',
  function_call: 'function_call (the deprecated form of tool_choice) is not implemented: give "tool_choice" instead',
  best_of: 'best_of is not implemented: Cria answers with one choice',
  echo: 'echo is not implemented: the prompt is not repeated in the answer',
  suffix: 'suffix (fill-in-the-middle) is not implemented',
  audio: 'audio output is not implemented',
  modalities: 'modalities other than text are not implemented',
  prediction: 'predicted outputs are not implemented',
  reasoning_effort: 'reasoning_effort is not implemented',
  web_search_options: 'web search is not implemented',
};

const SAMPLING_FIELDS = [
  'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'repetition_penalty', 'presence_penalty', 'frequency_penalty',
  'seed', 'stop', 'logprobs', 'top_logprobs', 'ignore_eos', 'stream', 'request_id', 'response_format', 'grammar', 'lora',
  // accepted, changing nothing
  'model', 'user', 'n', 'stream_options', 'metadata', 'store', 'service_tier',
];
const CHAT_FIELDS = new Set([...SAMPLING_FIELDS, 'messages', 'chat_template', 'tools', 'tool_choice', 'parallel_tool_calls']);
/** fields of chat requests only, named as such when a completion request has them */
const CHAT_ONLY = new Set(['tools', 'tool_choice', 'parallel_tool_calls']);
const COMPLETION_FIELDS = new Set([...SAMPLING_FIELDS, 'prompt', 'prompt_logits']);
const SCORE_FIELDS = new Set(['context', 'continuation', 'request_id', 'lora']);

const bad = (message: string, field?: string): never => {
  throw new CriaError('bad-argument', message, field ? { field } : undefined);
};

function checkFields(req: unknown, known: Set<string>, what: string): Record<string, unknown> {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) bad(`a ${what} request must be an object`);
  const r = req as Record<string, unknown>;
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined) continue;
    if (k in NOT_IMPLEMENTED) bad(`"${k}": ${NOT_IMPLEMENTED[k]} in Cria; remove it from the request`, k);
    if (CHAT_ONLY.has(k) && !known.has(k)) bad(`"${k}" belongs to chat completion requests (with messages); a ${what} request cannot call tools`, k);
    if (!known.has(k)) bad(`unknown field "${k}" in a ${what} request; known fields: ${[...known].sort().join(', ')}`, k);
  }
  return r;
}

/** A number in the field's [min, max]; absent: the fallback. */
function num(r: Record<string, unknown>, key: keyof typeof REQUEST_LIMITS, fallback: number, o: { integer?: boolean; above?: boolean } = {}): number {
  const v = r[key];
  if (v === undefined || v === null) return fallback;
  const [lo, hi] = REQUEST_LIMITS[key];
  const ok = typeof v === 'number' && Number.isFinite(v) && (o.above ? v > lo : v >= lo) && v <= hi && (!o.integer || Number.isInteger(v));
  if (!ok) bad(`${key} ${JSON.stringify(v)} must be ${o.integer ? 'a whole number' : 'a number'} ${o.above ? `above ${lo}` : `from ${lo}`} ${o.above ? 'and at most' : 'to'} ${hi}`, key);
  return v as number;
}

function bool(r: Record<string, unknown>, key: string): boolean {
  const v = r[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') bad(`${key} must be true or false, got ${JSON.stringify(v)}`, key);
  return v as boolean;
}

function parseSampling(r: Record<string, unknown>): ParsedSampling {
  if (r.n !== undefined && r.n !== null && r.n !== 1) bad(`n ${JSON.stringify(r.n)}: several choices per request are not implemented; Cria answers with one choice (n: 1)`, 'n');
  if (r.model !== undefined && typeof r.model !== 'string') bad('model must be a string (the loaded model answers whatever it names)', 'model');
  if (r.user !== undefined && typeof r.user !== 'string') bad('user must be a string', 'user');
  const so = r.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Object.keys(so).some((k) => k !== 'include_usage'))) bad('stream_options may only hold include_usage (usage always comes with the last chunk)', 'stream_options');
  if (r.max_tokens !== undefined && r.max_completion_tokens !== undefined) bad('give max_tokens or max_completion_tokens, not both', 'max_completion_tokens');
  const maxKey = r.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
  const maxTokensGiven = r[maxKey] !== undefined && r[maxKey] !== null;
  const maxTokens = num({ max_tokens: r[maxKey] }, 'max_tokens', REQUEST_DEFAULTS.max_tokens, { integer: true });

  const stopRaw = r.stop;
  const stop = stopRaw === undefined || stopRaw === null ? [] : Array.isArray(stopRaw) ? stopRaw : [stopRaw];
  if (stop.length > STOP_MAX || stop.some((s) => typeof s !== 'string' || s === '' || s.length > STOP_MAX_LENGTH)) {
    bad(`stop must be a string or a list of at most ${STOP_MAX} non-empty strings of at most ${STOP_MAX_LENGTH} characters`, 'stop');
  }
  const logprobs = bool(r, 'logprobs');
  const topLogprobs = num(r, 'top_logprobs', 0, { integer: true });
  if (topLogprobs > 0 && !logprobs) bad('top_logprobs needs logprobs: true', 'top_logprobs');
  const requestId = r.request_id;
  if (requestId !== undefined && (typeof requestId !== 'string' || requestId === '')) bad('request_id must be a non-empty string', 'request_id');
  const seed = r.seed === undefined || r.seed === null ? undefined : num(r, 'seed', 0, { integer: true });
  const format = parseFormat(r);
  if (format && bool(r, 'ignore_eos')) bad('ignore_eos cannot be combined with response_format or grammar: a constrained answer ends where its structure does', 'ignore_eos');
  return {
    maxTokens,
    maxTokensGiven,
    sampling: {
      temperature: num(r, 'temperature', REQUEST_DEFAULTS.temperature),
      topP: num(r, 'top_p', REQUEST_DEFAULTS.top_p, { above: true }),
      topK: num(r, 'top_k', REQUEST_DEFAULTS.top_k, { integer: true }),
      minP: num(r, 'min_p', REQUEST_DEFAULTS.min_p),
      repetitionPenalty: num(r, 'repetition_penalty', REQUEST_DEFAULTS.repetition_penalty, { above: true }),
      presencePenalty: num(r, 'presence_penalty', REQUEST_DEFAULTS.presence_penalty),
      frequencyPenalty: num(r, 'frequency_penalty', REQUEST_DEFAULTS.frequency_penalty),
      penaltyLastN: 64,
      seed,
    },
    stop: stop as string[],
    logprobs,
    topLogprobs,
    ignoreEos: bool(r, 'ignore_eos'),
    stream: bool(r, 'stream'),
    ...(requestId !== undefined ? { requestId: requestId as string } : {}),
    ...(format ? { format } : {}),
    ...(r.lora !== undefined && r.lora !== null ? { lora: parseLora(r.lora) } : {}),
  };
}

/** `lora`: a list of { id, scale? } (scale default 1), each id once; `[]` is the base model. */
export function parseLora(v: unknown): ParsedLora[] {
  if (!Array.isArray(v)) bad('lora must be a list of { id, scale } (the ids of adapters loaded with loadAdapter)', 'lora');
  const out = (v as unknown[]).map((x, i) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) bad(`lora[${i}] must be { id, scale }`, 'lora');
    const o = x as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'id' && k !== 'scale');
    if (extra.length) bad(`lora[${i}] has ${extra.join(', ')}; it takes id and scale only`, 'lora');
    if (typeof o.id !== 'string' || o.id === '') bad(`lora[${i}].id must be a non-empty string`, 'lora');
    const scale = o.scale === undefined || o.scale === null ? 1 : o.scale;
    if (typeof scale !== 'number' || !Number.isFinite(scale)) bad(`lora[${i}].scale must be a finite number, got ${JSON.stringify(o.scale)}`, 'lora');
    return { id: o.id as string, scale: scale as number };
  });
  if (new Set(out.map((l) => l.id)).size !== out.length) bad('lora names an adapter twice; give each once, with its scale', 'lora');
  return out;
}

/** Grammars and schemas are text the engine compiles: bounded, so a request cannot make it work without end. */
export const FORMAT_MAX_CHARS = 200_000;

/** response_format (OpenAI's shape) or grammar (llama.cpp's), as the constraint to compile; absent: none. */
function parseFormat(r: Record<string, unknown>): OutputFormat | undefined {
  const rf = r.response_format;
  const g = r.grammar;
  const hasRf = rf !== undefined && rf !== null && !(typeof rf === 'object' && (rf as { type?: unknown }).type === 'text');
  if (g !== undefined && g !== null) {
    if (hasRf) bad('give response_format or grammar, not both', 'grammar');
    if (typeof g !== 'string' || g.trim() === '') bad('grammar must be a non-empty GBNF grammar (llama.cpp\'s notation, with a rule named root)', 'grammar');
    if ((g as string).length > FORMAT_MAX_CHARS) bad(`grammar is ${(g as string).length} characters; at most ${FORMAT_MAX_CHARS}`, 'grammar');
    return { type: 'grammar', grammar: g as string };
  }
  if (rf === undefined || rf === null) return undefined;
  if (typeof rf !== 'object' || Array.isArray(rf)) return bad('response_format must be an object: { type: "text" | "json_object" | "json_schema", … }', 'response_format');
  const f = rf as Record<string, unknown>;
  const allowed = (keys: string[]) => {
    for (const k of Object.keys(f)) if (!keys.includes(k)) bad(`response_format has the field "${k}", which a ${String(f.type)} format does not take`, 'response_format');
  };
  if (f.type === 'text') return allowed(['type']), undefined;
  if (f.type === 'json_object') return allowed(['type']), { type: 'json_object' };
  if (f.type === 'json_schema') {
    allowed(['type', 'json_schema']);
    const js = f.json_schema;
    if (typeof js !== 'object' || js === null || Array.isArray(js)) return bad('response_format.json_schema must be an object { name, schema, strict? }', 'response_format');
    const j = js as Record<string, unknown>;
    for (const k of Object.keys(j)) if (!['name', 'schema', 'strict', 'description'].includes(k)) bad(`response_format.json_schema has the field "${k}"; it takes name, schema, strict and description`, 'response_format');
    if (typeof j.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(j.name)) bad('response_format.json_schema.name must be 1–64 letters, digits, _ or - (as OpenAI requires)', 'response_format');
    const schema = j.schema ?? {};
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return bad('response_format.json_schema.schema must be a JSON Schema object', 'response_format');
    if (j.strict !== undefined && j.strict !== null && typeof j.strict !== 'boolean') bad('response_format.json_schema.strict must be true or false', 'response_format');
    const text = JSON.stringify(schema);
    if (text.length > FORMAT_MAX_CHARS) bad(`the JSON Schema is ${text.length} characters; at most ${FORMAT_MAX_CHARS}`, 'response_format');
    return { type: 'json_schema', name: j.name as string, schema: schema as Record<string, unknown> };
  }
  return bad(`response_format.type ${JSON.stringify(f.type)}: the types are text, json_object and json_schema`, 'response_format');
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

/** A message's content: a string, or OpenAI's list of text parts (joined). */
function messageContent(m: Record<string, unknown>, i: number): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    return c
      .map((part) => {
        const p = part as Record<string, unknown> | null;
        if (!p || p.type !== 'text' || typeof p.text !== 'string') bad(`message ${i}: only text content parts ({ type: "text", text }) are supported, got ${JSON.stringify(part)?.slice(0, 80)}`, 'messages');
        return p!.text as string;
      })
      .join('');
  }
  return bad(`message ${i} needs string content (or a list of text parts); got ${JSON.stringify(c)?.slice(0, 80)}`, 'messages');
}

export function parseChatRequest(req: unknown): ParsedChat {
  const r = checkFields(req, CHAT_FIELDS, 'chat completion');
  const raw = r.messages;
  if (!Array.isArray(raw) || raw.length === 0) bad('messages must be a non-empty array of { role, content }', 'messages');
  const messages = (raw as unknown[]).map((x, i): ChatRequestMessage => {
    if (typeof x !== 'object' || x === null) return bad(`message ${i} must be an object { role, content }`, 'messages');
    const m = x as Record<string, unknown>;
    if (m.function_call !== undefined) bad(`message ${i}: function_call is the deprecated form of tool_calls; send the call as tool_calls`, 'messages');
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) bad(`message ${i} has role ${JSON.stringify(m.role)}; the roles are system, user, assistant and tool`, 'messages');
    if (m.role === 'tool') return parseToolResult(m, i, messageContent);
    if (m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null) return parseToolCallMessage(m, i, messageContent);
    for (const k of Object.keys(m)) if (k !== 'role' && k !== 'content' && !(k === 'tool_calls' && m.role === 'assistant')) bad(`message ${i} has the field "${k}", which a ${String(m.role)} message does not take (only role and content${m.role === 'assistant' ? ', and tool_calls' : ''})`, 'messages');
    return { role: m.role as ChatMessage['role'], content: messageContent(m, i) };
  });
  checkToolTurns(messages);
  const template = r.chat_template;
  if (template !== undefined && (typeof template !== 'string' || template === '')) bad('chat_template must be a non-empty Jinja template string', 'chat_template');
  const sampling = parseSampling(r);
  const tools = parseTools(r, sampling.format !== undefined, sampling.ignoreEos);
  return { ...sampling, messages, ...(template !== undefined ? { chatTemplate: template as string } : {}), ...(tools ? { tools } : {}) };
}

export function parseCompletionRequest(req: unknown): ParsedCompletion {
  const r = checkFields(req, COMPLETION_FIELDS, 'completion');
  const p = r.prompt;
  if (typeof p !== 'string' && !(Array.isArray(p) && p.length > 0 && p.every((x) => Number.isInteger(x)))) {
    bad('prompt must be text or a non-empty list of token ids', 'prompt');
  }
  return { ...parseSampling(r), prompt: p as string | number[], promptLogits: bool(r, 'prompt_logits') };
}

export function parseScoreRequest(req: unknown): Omit<ScoreRequest, 'lora'> & { lora?: ParsedLora[] } {
  const r = checkFields(req, SCORE_FIELDS, 'score');
  const part = (k: 'context' | 'continuation') => {
    const v = r[k];
    if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => Number.isInteger(x)))) bad(`${k} must be text or a list of token ids`, k);
    return v as string | number[];
  };
  if (r.request_id !== undefined && (typeof r.request_id !== 'string' || r.request_id === '')) bad('request_id must be a non-empty string', 'request_id');
  return {
    context: part('context'),
    continuation: part('continuation'),
    ...(r.request_id !== undefined ? { request_id: r.request_id as string } : {}),
    ...(r.lora !== undefined && r.lora !== null ? { lora: parseLora(r.lora) } : {}),
  };
}

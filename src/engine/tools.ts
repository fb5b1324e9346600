/**
 * Tool calls (OpenAI's function calling), between the request and the generation:
 *
 * 1. **Requests**: `tools`, `tool_choice`, `parallel_tool_calls`, assistant messages with `tool_calls`
 *    and `tool` messages, checked strictly (parseTools, parseToolCallMessage, parseToolResult,
 *    checkToolTurns; src/engine/request.ts calls them).
 * 2. **The prompt**: a chat template that lays out tools in a syntax Cria knows gets them as Hugging
 *    Face's `apply_chat_template` passes them (`tools`, messages with `tool_calls` whose `arguments` is
 *    an object, `tool` messages); any other template gets the documented fallback: a system-message
 *    preamble listing the tools, earlier calls written into the assistant's text, results as a user
 *    message (chatTemplateInput).
 * 3. **The syntax** of a call, per family (toolSyntax): Qwen2.5 / Hermes
 *    `<tool_call>\n{"name": "f", "arguments": {…}}\n</tool_call>` (several in one answer, one a line),
 *    Llama 3.x `{"name": "f", "parameters": {…}}` (one per answer: its template lays out one), the
 *    fallback as Qwen's.
 * 4. **Enforcement** (toolFormat): `required` or a named function constrain the whole answer to calls
 *    whose arguments follow each tool's parameters schema; `auto` leaves the text free until the
 *    family's trigger (`<tool_call>`, `{"name": "`), from which the call is constrained the same way
 *    (xgrammar's structural tags, src/grammar/constraint.ts); `none` shows no tools.
 * 5. **The answer** (ToolCallParser): the generated text, read as it streams, becomes content and
 *    `tool_calls` (OpenAI's deltas: a call's id, type and name first, then its arguments in pieces);
 *    the final message is what the deltas add up to.
 */
import { CriaError } from '../shared/errors.ts';
import type { ChatRequestMessage, TaggedJsonFormat, ToolCall, ToolCallDelta, ToolMessage, AssistantToolCallMessage } from '../protocol/api.ts';
import type { TemplateMessage } from '../tokenizer/chat-template.ts';

/** OpenAI's limits: 128 tools, names of 1–64 letters, digits, _ or -. */
export const TOOLS_MAX = 128;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** tool call ids: OpenAI's (call_…) and most others'; kept out of the template's special-token parsing by their letters */
const CALL_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
/** tool definitions are text the grammar engine compiles and the prompt holds: bounded */
export const TOOLS_MAX_CHARS = 200_000;

export interface ToolSpec {
  name: string;
  description?: string;
  /** the JSON Schema as given (absent: none given) */
  parameters?: Record<string, unknown>;
}

export type ParsedToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface ParsedTools {
  tools: ToolSpec[];
  choice: ParsedToolChoice;
  /** several calls in one answer allowed (parallel_tool_calls, default true) */
  parallel: boolean;
}

const bad = (message: string, field: string): never => {
  throw new CriaError('bad-argument', message, { field });
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const given = (v: unknown) => v !== undefined && v !== null;

/**
 * `tools`, `tool_choice` and `parallel_tool_calls` of a chat request; undefined without tools.
 * `constrained`: the request also has response_format or grammar (refused unless tool_choice is none).
 */
export function parseTools(r: Record<string, unknown>, constrained: boolean, ignoreEos: boolean): ParsedTools | undefined {
  if (!given(r.tools)) {
    if (given(r.tool_choice)) bad('tool_choice needs tools: give the functions the model may call in "tools"', 'tool_choice');
    if (given(r.parallel_tool_calls)) bad('parallel_tool_calls needs tools: give the functions the model may call in "tools"', 'parallel_tool_calls');
    return undefined;
  }
  if (!Array.isArray(r.tools) || r.tools.length === 0 || r.tools.length > TOOLS_MAX) {
    bad(`tools must be a list of 1 to ${TOOLS_MAX} functions: [{ type: "function", function: { name, description?, parameters? } }]`, 'tools');
  }
  const tools: ToolSpec[] = (r.tools as unknown[]).map((t, i) => {
    const at = `tools[${i}]`;
    if (!isObject(t)) return bad(`${at} must be an object { type: "function", function: { name, description?, parameters? } }`, 'tools');
    for (const k of Object.keys(t)) if (k !== 'type' && k !== 'function') bad(`${at} has the field "${k}"; a tool takes type and function`, 'tools');
    if (t.type !== 'function') bad(`${at}.type ${JSON.stringify(t.type)}: the only type of tool is "function"`, 'tools');
    const f = t.function;
    if (!isObject(f)) return bad(`${at}.function must be an object { name, description?, parameters?, strict? }`, 'tools');
    for (const k of Object.keys(f)) if (!['name', 'description', 'parameters', 'strict'].includes(k)) bad(`${at}.function has the field "${k}"; it takes name, description, parameters and strict`, 'tools');
    if (typeof f.name !== 'string' || !NAME.test(f.name)) bad(`${at}.function.name ${JSON.stringify(f.name)} must be 1–64 letters, digits, _ or - (as OpenAI requires)`, 'tools');
    const name = f.name as string;
    if (given(f.description) && typeof f.description !== 'string') bad(`the description of tool "${name}" must be a string`, 'tools');
    if (given(f.strict) && typeof f.strict !== 'boolean') bad(`the strict of tool "${name}" must be true or false`, 'tools');
    let parameters: Record<string, unknown> | undefined;
    if (given(f.parameters)) {
      if (!isObject(f.parameters)) bad(`the parameters of tool "${name}" must be a JSON Schema object ({ type: "object", properties: { … } })`, 'tools');
      parameters = f.parameters as Record<string, unknown>;
      if (parameters.type !== undefined && parameters.type !== 'object') bad(`the parameters of tool "${name}" must describe an object (type "object"), not ${JSON.stringify(parameters.type)}: a call's arguments are a JSON object`, 'tools');
    }
    return { name, ...(typeof f.description === 'string' ? { description: f.description } : {}), ...(parameters ? { parameters } : {}) };
  });
  const seen = new Set<string>();
  for (const t of tools) {
    if (seen.has(t.name)) bad(`two tools are named "${t.name}"; each tool needs its own name`, 'tools');
    seen.add(t.name);
  }
  const size = JSON.stringify(tools).length;
  if (size > TOOLS_MAX_CHARS) bad(`the tools are ${size} characters as JSON; at most ${TOOLS_MAX_CHARS}`, 'tools');

  const choice = parseChoice(r.tool_choice, seen);
  let parallel = true;
  if (given(r.parallel_tool_calls)) {
    if (typeof r.parallel_tool_calls !== 'boolean') bad(`parallel_tool_calls must be true or false, got ${JSON.stringify(r.parallel_tool_calls)}`, 'parallel_tool_calls');
    parallel = r.parallel_tool_calls as boolean;
  }
  if (choice !== 'none') {
    if (constrained) bad('tools cannot be combined with response_format or grammar: a tool call has its own format. Leave one out (or set tool_choice to "none" to answer in that format without calling tools)', 'tools');
    if (ignoreEos) bad('ignore_eos cannot be combined with tools: an answer that calls tools ends where its calls do', 'ignore_eos');
  }
  return { tools, choice, parallel };
}

function parseChoice(c: unknown, names: Set<string>): ParsedToolChoice {
  if (!given(c)) return 'auto';
  if (c === 'auto' || c === 'none' || c === 'required') return c;
  const shape = 'tool_choice must be "auto", "none", "required" or { type: "function", function: { name } }';
  if (!isObject(c)) return bad(`${shape}; got ${JSON.stringify(c)}`, 'tool_choice');
  if (c.type !== 'function' || !isObject(c.function) || Object.keys(c).some((k) => k !== 'type' && k !== 'function') || Object.keys(c.function).some((k) => k !== 'name')) {
    return bad(`${shape}; got ${JSON.stringify(c).slice(0, 120)}`, 'tool_choice');
  }
  const name = c.function.name;
  if (typeof name !== 'string' || !names.has(name)) return bad(`tool_choice names the function ${JSON.stringify(name)}, which is not among the tools (${[...names].join(', ')})`, 'tool_choice');
  return { name };
}

/** An assistant message with `tool_calls` (its content may be null). */
export function parseToolCallMessage(m: Record<string, unknown>, i: number, content: (m: Record<string, unknown>, i: number) => string): AssistantToolCallMessage {
  for (const k of Object.keys(m)) if (!['role', 'content', 'tool_calls'].includes(k)) bad(`message ${i} (assistant, with tool_calls) has the field "${k}"; it takes role, content and tool_calls`, 'messages');
  const calls = m.tool_calls;
  if (!Array.isArray(calls) || calls.length === 0) return bad(`message ${i}: tool_calls must be a non-empty list of { id, type: "function", function: { name, arguments } }`, 'messages');
  const tool_calls = calls.map((c, j): ToolCall => {
    const at = `message ${i}, tool_calls[${j}]`;
    if (!isObject(c) || Object.keys(c).some((k) => !['id', 'type', 'function'].includes(k))) return bad(`${at} must be { id, type: "function", function: { name, arguments } }`, 'messages');
    if (typeof c.id !== 'string' || !CALL_ID.test(c.id)) bad(`${at}: id ${JSON.stringify(c.id)} must be 1–64 letters, digits, _, ., : or - (send back the id the answer gave)`, 'messages');
    if (c.type !== 'function') bad(`${at}: type must be "function"`, 'messages');
    const f = c.function;
    if (!isObject(f) || Object.keys(f).some((k) => k !== 'name' && k !== 'arguments')) return bad(`${at}: function must be { name, arguments }`, 'messages');
    if (typeof f.name !== 'string' || !NAME.test(f.name)) bad(`${at}: function.name ${JSON.stringify(f.name)} must be 1–64 letters, digits, _ or -`, 'messages');
    if (typeof f.arguments !== 'string') bad(`${at}: function.arguments must be the arguments' JSON object as a string (e.g. "{\\"city\\": \\"Paris\\"}")`, 'messages');
    argumentsObject(f.arguments as string, at);
    return { id: c.id as string, type: 'function', function: { name: f.name as string, arguments: f.arguments as string } };
  });
  const ids = new Set(tool_calls.map((c) => c.id));
  if (ids.size !== tool_calls.length) bad(`message ${i}: two tool calls have the same id; each call needs its own`, 'messages');
  const text = m.content === null || m.content === undefined ? null : content(m, i);
  return { role: 'assistant', content: text, tool_calls };
}

/** A call's arguments (JSON text) as the object a template lays out. */
function argumentsObject(text: string, at: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return bad(`${at}: function.arguments is not JSON (${(e as Error).message}); it must be a JSON object as text, "{}" for none`, 'messages');
  }
  if (!isObject(v)) return bad(`${at}: function.arguments must be a JSON object, got ${text.slice(0, 60)}`, 'messages');
  return v;
}

/** A `tool` message: the result of one call. */
export function parseToolResult(m: Record<string, unknown>, i: number, content: (m: Record<string, unknown>, i: number) => string): ToolMessage {
  for (const k of Object.keys(m)) if (!['role', 'content', 'tool_call_id'].includes(k)) bad(`message ${i} (tool) has the field "${k}"; it takes role, tool_call_id and content`, 'messages');
  if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') bad(`message ${i} (tool) needs tool_call_id: the id of the call it answers`, 'messages');
  return { role: 'tool', tool_call_id: m.tool_call_id as string, content: content(m, i) };
}

/**
 * Every tool message answers a call of the assistant message before it (through any tool messages),
 * once; every call is answered before the conversation goes on.
 */
export function checkToolTurns(messages: readonly ChatRequestMessage[]): void {
  let open: { at: number; ids: Set<string> } | undefined; // the last calls and the ones not answered yet
  let pending = new Set<string>();
  const unanswered = (at: string) =>
    bad(`${at}, but the tool calls of message ${open!.at} have no result yet (${[...pending].join(', ')}): add a tool message with each call's tool_call_id after message ${open!.at}`, 'messages');
  messages.forEach((m, i) => {
    if (m.role === 'tool') {
      if (!open) bad(`message ${i} is a tool result, but no assistant message with tool_calls comes before it`, 'messages');
      if (!open!.ids.has(m.tool_call_id)) bad(`message ${i} answers tool_call_id "${m.tool_call_id}", which message ${open!.at} did not make (its calls: ${[...open!.ids].join(', ')})`, 'messages');
      if (!pending.has(m.tool_call_id)) bad(`message ${i} answers tool_call_id "${m.tool_call_id}" a second time`, 'messages');
      pending.delete(m.tool_call_id);
      return;
    }
    if (pending.size > 0) unanswered(`message ${i} (${m.role}) comes next`);
    if ('tool_calls' in m) {
      open = { at: i, ids: new Set(m.tool_calls.map((c) => c.id)) };
      pending = new Set(open.ids);
    } else open = undefined;
  });
  if (pending.size > 0) unanswered('the conversation ends there');
}

// --- the prompt ---------------------------------------------------------------------------------

/** How a template lays out tools and how its model calls them: see the file header. */
export type ToolFamily = 'hermes' | 'llama3' | 'fallback';

/** The family of a chat template, by what it renders: `tools` in its code, and the syntax its calls take. */
export function toolFamily(template: string | undefined): ToolFamily {
  if (!template) return 'fallback';
  const code = (template.match(/\{[{%][\s\S]*?[%}]\}/g) ?? []).join('\n');
  if (!/\btools\b/.test(code)) return 'fallback';
  if (template.includes('<tool_call>')) return 'hermes';
  if (template.includes('"parameters": ') && template.includes('ipython')) return 'llama3';
  return 'fallback'; // it renders tools, in a syntax Cria cannot read back (Mistral's [TOOL_CALLS], …)
}

/** What the chat template renders: its messages, its extra variables, and where a template has no system role, the preamble moved into the first user message. */
export interface TemplateInput {
  messages: TemplateMessage[];
  extra?: Record<string, unknown>;
  /** the fallback's messages for a template that refuses a system message */
  retry?: TemplateMessage[];
}

/** The tools a request has in effect (none with tool_choice "none"). */
export const toolsInEffect = (t: ParsedTools | undefined): ToolSpec[] => (t && t.choice !== 'none' ? t.tools : []);

/** The conversation (and tools) as the chat template gets them, for its family. */
export function chatTemplateInput(family: ToolFamily, messages: readonly ChatRequestMessage[], tools: ParsedTools | undefined): TemplateInput {
  const offered = toolsInEffect(tools);
  if (family !== 'fallback') {
    const names = callNames(messages);
    const out = messages.map((m): TemplateMessage => {
      if (m.role === 'tool') return { role: 'tool', tool_call_id: m.tool_call_id, name: names.get(m.tool_call_id), content: m.content };
      if ('tool_calls' in m) {
        return {
          role: 'assistant',
          content: m.content,
          tool_calls: m.tool_calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.function.name, arguments: JSON.parse(c.function.arguments) as unknown } })),
        };
      }
      return { role: m.role, content: m.content };
    });
    return { messages: out, ...(offered.length ? { extra: { tools: offered.map(templateTool) } } : {}) };
  }
  // the fallback: the template sees only text messages
  const out: (TemplateMessage & { content: string })[] = [];
  let results: string[] = [];
  const flushResults = () => {
    if (results.length) out.push({ role: 'user', content: results.join('\n') });
    results = [];
  };
  for (const m of messages) {
    if (m.role === 'tool') {
      results.push(`<tool_response>\n${m.content}\n</tool_response>`);
      continue;
    }
    if (results.length && m.role === 'user') {
      // results and the user's next words are one user turn (templates that want turns to alternate)
      results.push(m.content);
      flushResults();
      continue;
    }
    flushResults();
    if ('tool_calls' in m) {
      // as Qwen's template writes them: one a line, the arguments with Python's JSON spacing
      const text = m.tool_calls.map((c) => `${hermesBegin(c.function.name)}${pyJson(JSON.parse(c.function.arguments))}${HERMES_END}`).join('\n');
      out.push({ role: 'assistant', content: m.content ? `${m.content}\n${text}` : text });
    } else out.push({ role: m.role, content: m.content });
  }
  flushResults();
  if (offered.length === 0) return { messages: out };
  const preamble = fallbackPreamble(offered);
  if (out[0]?.role === 'system') return { messages: [{ role: 'system', content: `${out[0].content}\n\n${preamble}` }, ...out.slice(1)] };
  const firstUser = out.findIndex((m) => m.role === 'user');
  const retry = firstUser < 0 ? undefined : out.map((m, i) => (i === firstUser ? { role: 'user', content: `${preamble}\n\n${m.content}` } : m));
  return { messages: [{ role: 'system', content: preamble }, ...out], ...(retry ? { retry } : {}) };
}

/** tool_call_id → the function it called (templates that name a result's function get `name`). */
function callNames(messages: readonly ChatRequestMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) if ('tool_calls' in m) for (const c of m.tool_calls) names.set(c.id, c.function.name);
  return names;
}

/** A tool as templates get it: OpenAI's shape, fields as given. */
function templateTool(t: ToolSpec) {
  return { type: 'function', function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) } };
}

/**
 * The fallback's system preamble (README "Tool calls"): the tools as JSON, one a line, and how to
 * call them (Qwen2.5's own wording and syntax, which small models trained on Hermes-style data know).
 */
export function fallbackPreamble(tools: readonly ToolSpec[]): string {
  const list = tools.map((t) => pyJson({ name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } })).join('\n');
  return (
    '# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
    `You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n${list}\n</tools>\n\n` +
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n\n' +
    'The results come back within <tool_response></tool_response> XML tags.'
  );
}

/** JSON with Python's default separators (", " and ": "), as Jinja's tojson writes it in the templates. */
export function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (isObject(v)) return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`).join(', ')}}`;
  return JSON.stringify(v) ?? 'null';
}

// --- the syntax of a call, and its constraint ---------------------------------------------------------

const HERMES_END = '}\n</tool_call>';
const hermesBegin = (name: string) => `<tool_call>\n{"name": "${name}", "arguments": `;

/** How a family's model writes a call: `begin(name)` + the arguments' JSON object + `end`. */
export interface ToolSyntax {
  begin(name: string): string;
  end: string;
  /** the text that starts a call (a prefix of every begin) */
  trigger: string;
  /** between calls */
  separator: string;
  /** several calls in one answer */
  multiple: boolean;
}

export function toolSyntax(family: ToolFamily, parallel: boolean): ToolSyntax {
  if (family === 'llama3') {
    // Llama 3.x's template writes one call per answer (and refuses more), with "parameters"
    return { begin: (name) => `{"name": "${name}", "parameters": `, end: '}', trigger: '{"name": "', separator: '', multiple: false };
  }
  return { begin: hermesBegin, end: HERMES_END, trigger: '<tool_call>', separator: '\n', multiple: parallel };
}

/** A tool's arguments schema: its parameters as an object schema (none given: no arguments). */
export function argumentsSchema(t: ToolSpec): Record<string, unknown> {
  if (!t.parameters) return { type: 'object', properties: {} };
  return t.parameters.type === undefined ? { type: 'object', ...t.parameters } : t.parameters;
}

/**
 * The constraint of an answer with tools: `required` or a named function, only calls (a named one:
 * one call of it); `auto`, free text in which the trigger starts a call; none without tools in effect.
 */
export function toolFormat(tools: ParsedTools | undefined, syntax: ToolSyntax): TaggedJsonFormat | undefined {
  if (!tools || tools.choice === 'none') return undefined;
  const choice = tools.choice;
  const callable = typeof choice === 'object' ? tools.tools.filter((t) => t.name === choice.name) : tools.tools;
  const tags = callable.map((t) => ({ name: t.name, begin: syntax.begin(t.name), schema: argumentsSchema(t), end: syntax.end }));
  const multiple = syntax.multiple && typeof choice !== 'object';
  return { type: 'tagged_json', tags, separator: syntax.separator, multiple, ...(choice === 'auto' ? { triggers: [syntax.trigger] } : {}) };
}

// --- the answer -----------------------------------------------------------------------------------

/** What a piece of generated text adds to the answer. */
export interface ToolStep {
  content: string;
  toolCalls: ToolCallDelta[];
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function newCallId(): string {
  const r = crypto.getRandomValues(new Uint8Array(24));
  return `call_${Array.from(r, (b) => ID_CHARS[b % ID_CHARS.length]).join('')}`;
}

/**
 * Reads the generated text as it streams (push), into content and tool calls (deltas), and at the
 * end (end) into the answer's message (result). Content that could still be the start of a call is
 * held back until it cannot; whitespace around calls is not content. A call's arguments are read with
 * a JSON scanner (strings, escapes, nesting) so that the object's end is found, not guessed.
 */
export class ToolCallParser {
  private state: 'text' | 'begin' | 'args' | 'end' = 'text';
  private buf = '';
  private heldSpace = '';
  private content = '';
  private readonly calls: ToolCall[] = [];
  private complete = 0;
  private scan = { depth: 0, started: false, inString: false, escape: false };

  constructor(
    private readonly syntax: ToolSyntax,
    private readonly names: readonly string[],
  ) {}

  push(text: string): ToolStep {
    const step: ToolStep = { content: '', toolCalls: [] };
    this.buf += text;
    while (this.advance(step));
    return step;
  }

  /** the generation ended: what was held back */
  end(): ToolStep {
    const step: ToolStep = { content: '', toolCalls: [] };
    if (this.state === 'text' || this.state === 'begin') {
      this.say(step, this.buf); // a partial trigger, or a trigger no call followed
      this.buf = '';
      this.state = 'text';
    }
    if (this.calls.length === 0 && this.heldSpace) {
      step.content += this.heldSpace;
      this.content += this.heldSpace;
    }
    this.heldSpace = '';
    return step;
  }

  /** the answer so far: content (null when there are calls and no text), the calls, and whether each call is complete */
  result(): { content: string | null; toolCalls: ToolCall[]; complete: boolean } {
    return {
      content: this.calls.length > 0 && this.content === '' ? null : this.content,
      toolCalls: this.calls.map((c) => ({ ...c, function: { ...c.function } })),
      complete: this.complete === this.calls.length,
    };
  }

  /** Text that is content: trailing whitespace is held until something else follows it (whitespace around calls is not content). */
  private say(step: ToolStep, s: string): void {
    const all = this.heldSpace + s;
    const body = all.trimEnd();
    this.heldSpace = all.slice(body.length);
    step.content += body;
    this.content += body;
  }

  /** One move of the reader; false when it needs more text. */
  private advance(step: ToolStep): boolean {
    const { syntax } = this;
    switch (this.state) {
      case 'text': {
        const at = this.buf.indexOf(syntax.trigger);
        if (at >= 0) {
          this.say(step, this.buf.slice(0, at));
          this.buf = this.buf.slice(at);
          this.state = 'begin';
          return true;
        }
        const keep = partialSuffix(this.buf, syntax.trigger);
        this.say(step, this.buf.slice(0, this.buf.length - keep));
        this.buf = this.buf.slice(this.buf.length - keep);
        return false;
      }
      case 'begin': {
        const name = this.names.find((n) => this.buf.startsWith(syntax.begin(n)));
        if (name !== undefined) {
          this.heldSpace = ''; // whitespace before a call is not content
          const call: ToolCall = { id: newCallId(), type: 'function', function: { name, arguments: '' } };
          step.toolCalls.push({ index: this.calls.length, id: call.id, type: 'function', function: { name, arguments: '' } });
          this.calls.push(call);
          this.buf = this.buf.slice(syntax.begin(name).length);
          this.scan = { depth: 0, started: false, inString: false, escape: false };
          this.state = 'args';
          return true;
        }
        if (this.names.some((n) => syntax.begin(n).startsWith(this.buf))) return false;
        // not a call after all: the trigger's first character is text, and reading goes on after it
        this.say(step, this.buf[0]);
        this.buf = this.buf.slice(1);
        this.state = 'text';
        return true;
      }
      case 'args': {
        const n = this.scanArguments(this.buf);
        const piece = this.buf.slice(0, n);
        if (piece) {
          const call = this.calls[this.calls.length - 1];
          call.function.arguments += piece;
          const last = step.toolCalls[step.toolCalls.length - 1];
          if (last && last.index === this.calls.length - 1) last.function!.arguments += piece;
          else step.toolCalls.push({ index: this.calls.length - 1, function: { arguments: piece } });
        }
        this.buf = this.buf.slice(n);
        if (this.scan.started && this.scan.depth === 0) {
          this.state = 'end';
          return true;
        }
        return false;
      }
      case 'end': {
        if (this.buf.startsWith(syntax.end)) {
          this.buf = this.buf.slice(syntax.end.length);
          this.complete++;
          this.state = 'text';
          return true;
        }
        if (syntax.end.startsWith(this.buf)) return false;
        // the arguments are whole but the call is not closed as the syntax says: it stays incomplete, the rest is text
        this.state = 'text';
        return true;
      }
    }
  }

  /** How many characters of `s` belong to the arguments' JSON value (all of them while it is open). */
  private scanArguments(s: string): number {
    const sc = this.scan;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (sc.inString) {
        if (sc.escape) sc.escape = false;
        else if (c === '\\') sc.escape = true;
        else if (c === '"') sc.inString = false;
      } else if (c === '"') sc.inString = true;
      else if (c === '{' || c === '[') {
        sc.depth++;
        sc.started = true;
      } else if (c === '}' || c === ']') sc.depth--;
      else if (!sc.started && !/\s/.test(c)) sc.started = true; // not an object: it never closes (only constrained answers are read)
      if (sc.started && sc.depth === 0 && !sc.inString && (c === '}' || c === ']')) return i + 1;
    }
    return s.length;
  }
}

/** The length of the longest suffix of `s` that is a proper prefix of `word` (text that may yet become it). */
function partialSuffix(s: string, word: string): number {
  for (let n = Math.min(s.length, word.length - 1); n > 0; n--) if (word.startsWith(s.slice(s.length - n))) return n;
  return 0;
}

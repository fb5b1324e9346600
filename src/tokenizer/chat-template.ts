/**
 * Chat templates: the model's Jinja `tokenizer.chat_template`, rendered with
 * @huggingface/jinja's parser and interpreter and the variables HF transformers
 * passes (`messages`, `add_generation_prompt`, `bos_token`, `eos_token`,
 * `raise_exception`, `strftime_now`, plus any extras such as `tools`).
 *
 * Two things are Cria's own:
 * - **A budget.** A template is code from a model file: it renders within a number of
 *   interpreter steps, a size for every string and list it builds, a nesting depth and a
 *   wall-clock time (TEMPLATE_BUDGET). Past any of them the render ends in `bad-file`
 *   (`range(1e9)` would otherwise allocate until V8 aborts the process, and nested loops
 *   would hold the engine's thread beyond any `abort()`).
 * - **Marked contents** (`renderChatMarked`): which characters of the prompt are message
 *   contents, so the tokenizer can parse special-token text in the template's markup only.
 *   Each content is rendered wrapped in two sentinel characters (Unicode noncharacters that
 *   appear nowhere in the template or the messages), around its non-whitespace core so that a
 *   template's `| trim` still trims; the sentinels are then cut out and their positions kept.
 *   The result must equal the plain render character for character, else the template
 *   rewrote a content (split, slice, …) and no marks are returned.
 *   Tool calls are marked the same way (tool strings): the strings (keys and values) of each
 *   `tool_calls[].function.arguments` object and of the `tools` variable's descriptions and
 *   parameter schemas, which a template writes out with `tojson` (noncharacters pass through it
 *   unescaped). Tool and function names are not marked: requests allow only letters, digits, _ and -.
 */
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { CriaError } from '../shared/errors.ts';

export interface ChatMessage {
  role: string;
  content: string;
  /**
   * Extra fields (tool_calls, tool_call_id, name, …) are passed through to the template; tool calls
   * as Hugging Face's apply_chat_template takes them: `{ id, type: 'function', function: { name, arguments } }`
   * with `arguments` an object.
   */
  [key: string]: unknown;
}

/** A message as a template gets it: a ChatMessage, or an assistant message that only calls tools (content null, as Hugging Face passes OpenAI's null). */
export type TemplateMessage = ChatMessage | { role: 'assistant'; content: null; tool_calls: unknown[]; [key: string]: unknown };

export interface TemplateBudget {
  /** interpreter steps (expressions, statements, loop iterations) */
  maxSteps: number;
  /** wall-clock milliseconds */
  maxMs: number;
  /** characters in any one string the template builds, its output included */
  maxChars: number;
  /** items in any one list (and the length of a `range`) */
  maxItems: number;
  /** nested evaluation depth (recursive macros) */
  maxDepth: number;
}

/**
 * Generous for real templates: Qwen2.5's renders 1,000 messages well inside every bound (~100–200 ms
 * here, a few ms for a usual chat); a conversation that fills a 128k-token context is ~0.5 M
 * characters. The interpreter takes a few µs per step, so for a hostile template the time runs out
 * before the steps; the step count is the deterministic backstop. The clock is read every 64 steps,
 * and a `for` loop prepares all its items before its first step (~3 µs each): with at most
 * `maxItems` items, a render ends at most ~0.3 s past `maxMs`.
 */
export const TEMPLATE_BUDGET: TemplateBudget = { maxSteps: 1_000_000, maxMs: 2_000, maxChars: 1 << 25, maxItems: 1 << 16, maxDepth: 400 };

export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
  /** More template variables (e.g. `tools`, `date_string`). */
  extra?: Record<string, unknown>;
  /** Override parts of TEMPLATE_BUDGET (tests). */
  budget?: Partial<TemplateBudget>;
}

/** Thrown by the template's own `raise_exception(...)`: the conversation breaks the template's rules. */
class TemplateRaised extends Error {}
/** A budget ran out. */
class OverBudget extends Error {}

const parsed = new Map<string, Template>();

function compile(source: string): Template {
  let t = parsed.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new CriaError('bad-file', `the model's chat template cannot be parsed: ${(e as Error).message}. Pass your own template, or format the prompt yourself.`);
    }
    if (parsed.size > 16) parsed.clear();
    parsed.set(source, t);
  }
  return t;
}

type Node = Parameters<Interpreter['evaluate']>[0];
type Value = ReturnType<Interpreter['evaluate']>;

/** The interpreter, metered: every evaluation and every block (one per loop iteration) costs a step. */
class MeteredInterpreter extends Interpreter {
  private steps = 0;
  private depth = 0;
  private readonly deadline: number;

  constructor(
    env: Environment,
    private readonly budget: TemplateBudget,
  ) {
    super(env);
    this.deadline = performance.now() + budget.maxMs;
  }

  step(): void {
    const b = this.budget;
    if (++this.steps > b.maxSteps) throw new OverBudget(`it took more than ${b.maxSteps} steps`);
    if ((this.steps & 63) === 0 && performance.now() > this.deadline) throw new OverBudget(`it ran for more than ${b.maxMs} ms`);
  }

  checkSize(v: Value): void {
    if (typeof v.value === 'string' && v.value.length > this.budget.maxChars) throw new OverBudget(`it built a string of ${v.value.length} characters (at most ${this.budget.maxChars})`);
    if (Array.isArray(v.value) && v.value.length > this.budget.maxItems) throw new OverBudget(`it built a list of ${v.value.length} items (at most ${this.budget.maxItems})`);
  }

  override evaluate(statement: Node, environment: Environment): Value {
    this.step();
    if (++this.depth > this.budget.maxDepth) throw new OverBudget(`it nested deeper than ${this.budget.maxDepth} levels`);
    try {
      const v = super.evaluate(statement, environment);
      this.checkSize(v);
      return v;
    } finally {
      this.depth--;
    }
  }
}

// `evaluateBlock` is private in the library's typings; it runs once per loop iteration (even an
// empty body), which is what makes an empty nested loop countable.
const proto = MeteredInterpreter.prototype as unknown as { evaluateBlock(this: MeteredInterpreter, statements: unknown, env: Environment): Value };
const baseBlock = (Interpreter.prototype as unknown as typeof proto).evaluateBlock;
proto.evaluateBlock = function (statements, env) {
  this.step();
  const v = baseBlock.call(this, statements, env);
  this.checkSize(v);
  return v;
};

const pad2 = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Python's `strftime` for the codes chat templates use (Llama 3.x: "%d %b %Y"); others stay as written. */
function strftimeNow(format: unknown): string {
  const d = new Date();
  return String(format).replace(/%[YmdbBHM%]/g, (code) => {
    switch (code) {
      case '%Y':
        return String(d.getFullYear());
      case '%m':
        return pad2(d.getMonth() + 1);
      case '%d':
        return pad2(d.getDate());
      case '%b':
        return MONTHS[d.getMonth()].slice(0, 3);
      case '%B':
        return MONTHS[d.getMonth()];
      case '%H':
        return pad2(d.getHours());
      case '%M':
        return pad2(d.getMinutes());
      default:
        return '%';
    }
  });
}

/** Python's `range`, refused before it allocates more than the budget allows. */
function boundedRange(maxItems: number) {
  return (start: unknown, stop?: unknown, step: unknown = 1): number[] => {
    let a = Number(start);
    let b = Number(stop);
    if (stop === undefined || stop === null) [a, b] = [0, a];
    const s = Number(step);
    if (![a, b, s].every(Number.isInteger)) throw new Error('range() takes whole numbers');
    if (s === 0) throw new Error('range() step must not be zero');
    const n = Math.max(0, Math.ceil((b - a) / s));
    if (n > maxItems) throw new OverBudget(`it asked for range() of ${n} numbers (at most ${maxItems})`);
    return Array.from({ length: n }, (_, i) => a + i * s);
  };
}

function render(source: string, vars: Record<string, unknown>, budget: TemplateBudget): string {
  const template = compile(source);
  const env = new Environment();
  const globals: Record<string, unknown> = {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range: boundedRange(budget.maxItems),
    strftime_now: strftimeNow,
    raise_exception: (message: unknown) => {
      throw new TemplateRaised(String(message));
    },
  };
  for (const [k, v] of Object.entries({ ...globals, ...vars })) env.set(k, v);
  try {
    return new MeteredInterpreter(env, budget).run(template.parsed).value as string;
  } catch (e) {
    if (e instanceof TemplateRaised) {
      throw new CriaError('bad-argument', `the model's chat template rejected the conversation: ${e.message}`, { reason: e.message });
    }
    if (e instanceof OverBudget) {
      throw new CriaError('bad-file', `the model's chat template exceeded its budget: ${e.message}. A chat template should only lay out messages; pass your own template, or format the prompt yourself.`);
    }
    const why = e instanceof RangeError ? `${e.message} (the template recursed or built something too large)` : (e as Error).message;
    throw new CriaError('bad-file', `the model's chat template failed while rendering: ${why}. Pass your own template, or format the prompt yourself.`);
  }
}

function variables(messages: readonly TemplateMessage[], tokens: { bos: string; eos: string }, opts: ChatTemplateOptions): Record<string, unknown> {
  return { ...opts.extra, messages, add_generation_prompt: opts.addGenerationPrompt ?? true, bos_token: tokens.bos, eos_token: tokens.eos };
}

const budgetOf = (opts: ChatTemplateOptions): TemplateBudget => ({ ...TEMPLATE_BUDGET, ...opts.budget });

export function renderChatTemplate(source: string, messages: readonly TemplateMessage[], tokens: { bos: string; eos: string }, opts: ChatTemplateOptions = {}): string {
  return render(source, variables(messages, tokens, opts), budgetOf(opts));
}

/** A rendered chat prompt and where its message contents are. */
export interface MarkedChat {
  text: string;
  /**
   * `[start, end)` character ranges of `text` that are message contents, in order; null when
   * the template rewrites contents so that they cannot be located (then `text` is the plain render).
   */
  contents: [number, number][] | null;
}

/** Two noncharacters (U+FDD0…U+FDEF) found in none of `texts`, or null if all are taken. */
function pickSentinels(texts: readonly string[]): [string, string] | null {
  const free: string[] = [];
  for (let c = 0xfdd0; c <= 0xfdef && free.length < 2; c++) {
    const ch = String.fromCharCode(c);
    if (!texts.some((t) => t.includes(ch))) free.push(ch);
  }
  return free.length === 2 ? [free[0], free[1]] : null;
}

/** Wrap the non-whitespace core of `s` (whitespace stays outside, for templates that trim). */
function wrapCore(s: string, open: string, close: string): string {
  const core = s.trim();
  if (core === '') return s; // whitespace holds no special-token text
  const at = s.indexOf(core);
  return s.slice(0, at) + open + core + close + s.slice(at + core.length);
}

/** Cut the sentinels out of `marked`; null if they are not balanced, non-nested pairs. */
function cutSentinels(marked: string, open: string, close: string): MarkedChat | null {
  let text = '';
  const contents: [number, number][] = [];
  let start = -1;
  let from = 0;
  for (let i = 0; i < marked.length; i++) {
    const ch = marked[i];
    if (ch !== open && ch !== close) continue;
    text += marked.slice(from, i);
    from = i + 1;
    if (ch === open) {
      if (start >= 0) return null;
      start = text.length;
    } else {
      if (start < 0) return null;
      if (text.length > start) contents.push([start, text.length]);
      start = -1;
    }
  }
  if (start >= 0) return null;
  return { text: text + marked.slice(from), contents };
}

/** Every string (keys and values) in a JSON-like value. */
function jsonStrings(v: unknown, out: string[]): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out);
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(k), jsonStrings(x, out);
  return out;
}

/** The same value with every string (keys and values) wrapped in the sentinels. */
function wrapJson(v: unknown, open: string, close: string): unknown {
  if (typeof v === 'string') return wrapCore(v, open, close);
  if (Array.isArray(v)) return v.map((x) => wrapJson(x, open, close));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [wrapCore(k, open, close), wrapJson(x, open, close)]));
  return v;
}

type ToolLike = { function?: { description?: unknown; parameters?: unknown; arguments?: unknown; [k: string]: unknown }; [k: string]: unknown };
const toolList = (v: unknown): ToolLike[] => (Array.isArray(v) ? (v as ToolLike[]) : []);

/**
 * The tool strings of a conversation (see the file header): what a render writes out from the
 * tools and tool calls besides message contents. Where the marks fail (contents: null), the caller
 * checks these as it checks contents.
 */
export function toolStrings(messages: readonly TemplateMessage[], extra: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const t of toolList(extra?.tools)) jsonStrings([t.function?.description, t.function?.parameters], out);
  for (const m of messages) for (const c of toolList(m.tool_calls)) jsonStrings(c.function?.arguments, out);
  return out;
}

/** Tools and tool calls with their tool strings wrapped (function objects copied, names untouched). */
function wrapTools(messages: readonly TemplateMessage[], opts: ChatTemplateOptions, open: string, close: string): { messages: TemplateMessage[]; opts: ChatTemplateOptions } {
  const fn = (t: ToolLike, keys: string[]): ToolLike => {
    if (typeof t !== 'object' || t === null || typeof t.function !== 'object' || t.function === null) return t;
    const f = { ...t.function };
    for (const k of keys) if (f[k] !== undefined) f[k] = wrapJson(f[k], open, close);
    return { ...t, function: f };
  };
  const tools = opts.extra?.tools;
  return {
    messages: messages.map((m) => (Array.isArray(m.tool_calls) ? { ...m, tool_calls: toolList(m.tool_calls).map((c) => fn(c, ['arguments'])) } : m)),
    opts: Array.isArray(tools) ? { ...opts, extra: { ...opts.extra, tools: toolList(tools).map((t) => fn(t, ['description', 'parameters'])) } } : opts,
  };
}

/**
 * Render and mark where each message's content landed (see the file header). Costs two
 * renders. Only `content` strings and tool strings are marked; other fields are the template's to lay out.
 */
export function renderChatMarked(source: string, messages: readonly TemplateMessage[], tokens: { bos: string; eos: string }, opts: ChatTemplateOptions = {}): MarkedChat {
  const budget = budgetOf(opts);
  const plain = render(source, variables(messages, tokens, opts), budget);
  const sentinels = pickSentinels([source, plain, ...messages.map((m) => m.content ?? ''), ...toolStrings(messages, opts.extra)]);
  if (!sentinels) return { text: plain, contents: null };
  const [open, close] = sentinels;
  const withTools = wrapTools(messages, opts, open, close);
  const wrapped = withTools.messages.map((m) => (typeof m.content === 'string' ? { ...m, content: wrapCore(m.content, open, close) } : m));
  let marked: string;
  try {
    marked = render(source, variables(wrapped, tokens, withTools.opts), budget);
  } catch {
    return { text: plain, contents: null }; // the template branches on contents in a way the marks upset
  }
  const cut = cutSentinels(marked, open, close);
  return cut && cut.text === plain ? cut : { text: plain, contents: null };
}

export function missingTemplateError(): CriaError {
  return new CriaError(
    'missing-key',
    'this model has no chat template (metadata key tokenizer.chat_template). Pass a template in the options, or format the prompt yourself and call encode().',
    { key: 'tokenizer.chat_template' },
  );
}

/**
 * Fine-tuning data: JSON Lines of examples in either of the two shapes people have,
 *   Alpaca:  { "instruction": "…", "input": "…" (optional), "output": "…" }
 *   chat:    { "messages": [{ "role": "system" | "user" | "assistant", "content": "…" }, …] }
 * made into token sequences with the loss on the assistant's tokens only (the Alpaca and Vicuna
 * recipes): through the model's chat template when it has one (or the one given) (an Alpaca record becomes a user turn,
 * its instruction then its input, and an assistant turn), else Alpaca's own prompt; the answer ends
 * with the end-of-sequence token, so the model learns to stop. Every problem is named with its line.
 */
import { CriaError } from '../shared/errors.ts';
import { Rng } from '../shared/rng.ts';
import type { Tokenizer } from '../tokenizer/index.ts';
import type { ChatMessage } from '../tokenizer/chat-template.ts';
import type { TrainExample } from './trainer.ts';

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A record, normalised to turns (Alpaca's become a user turn and an assistant turn). */
export interface TrainRecord {
  /** 1-based line in the file */
  line: number;
  messages: ChatTurn[];
  /** the file's shape */
  kind: 'alpaca' | 'chat';
  /** an Alpaca record's own fields (its prompt, for models without a chat template) */
  alpaca?: { instruction: string; input: string };
}

/** Alpaca's prompt (tatsu-lab/stanford_alpaca, train.py), for models without a chat template. */
export const ALPACA_PROMPT = {
  withInput:
    'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n',
  noInput: 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n',
};

const MAX_LINES = 1_000_000;

export function parseTrainingJsonl(text: string, name = 'the data'): TrainRecord[] {
  const out: TrainRecord[] = [];
  const lines = text.split(/\r?\n/);
  if (lines.length > MAX_LINES) throw new CriaError('bad-argument', `${name} has ${lines.length} lines; at most ${MAX_LINES} are read`);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new CriaError('bad-argument', `line ${line} of ${name}: not JSON (${(e as Error).message})`, { line });
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CriaError('bad-argument', `line ${line} of ${name}: an example is an object ({instruction, input, output} or {messages})`, { line });
    const o = v as Record<string, unknown>;
    const str = (k: string) => {
      if (typeof o[k] !== 'string') throw new CriaError('bad-argument', `line ${line} of ${name}: "${k}" must be a string`, { line });
      return o[k] as string;
    };
    if ('messages' in o) {
      const m = o.messages;
      if (!Array.isArray(m) || m.length === 0) throw new CriaError('bad-argument', `line ${line} of ${name}: "messages" must be a non-empty list of {role, content}`, { line });
      const messages = m.map((t, k): ChatTurn => {
        const turn = t as Record<string, unknown>;
        if (typeof turn !== 'object' || turn === null || !['system', 'user', 'assistant'].includes(turn.role as string) || typeof turn.content !== 'string') {
          throw new CriaError('bad-argument', `line ${line} of ${name}: messages[${k}] must be {role: system | user | assistant, content: string}`, { line });
        }
        return { role: turn.role as ChatTurn['role'], content: turn.content as string };
      });
      if (!messages.some((t) => t.role === 'assistant')) throw new CriaError('bad-argument', `line ${line} of ${name}: no assistant message: nothing to learn`, { line });
      out.push({ line, messages, kind: 'chat' });
    } else if ('instruction' in o || 'output' in o) {
      const instruction = str('instruction');
      const input = o.input === undefined || o.input === null ? '' : str('input');
      const output = str('output');
      if (output.trim() === '') throw new CriaError('bad-argument', `line ${line} of ${name}: "output" is empty: nothing to learn`, { line });
      out.push({ line, kind: 'alpaca', alpaca: { instruction, input }, messages: [{ role: 'user', content: input ? `${instruction}\n\n${input}` : instruction }, { role: 'assistant', content: output }] });
    } else {
      throw new CriaError('bad-argument', `line ${line} of ${name}: neither an Alpaca record ({instruction, input, output}) nor a chat ({messages})`, { line });
    }
  });
  if (out.length === 0) throw new CriaError('bad-argument', `${name} holds no examples`);
  return out;
}

/**
 * A record's tokens and targets: each assistant turn's tokens (and the end of its turn) are learned,
 * everything else is context. Longer than `maxLen` tokens: cut at `maxLen` (the learned tokens past it
 * are lost; `truncated` says so).
 */
export function recordExample(tok: Tokenizer, rec: TrainRecord, maxLen: number, template?: string): TrainExample & { truncated: boolean; learned: number } {
  const tokens: number[] = [];
  const learn: boolean[] = [];
  const push = (ids: readonly number[], learned: boolean) => {
    for (const id of ids) {
      tokens.push(id);
      learn.push(learned);
    }
  };
  const alpaca = rec.alpaca;
  if (tok.chatTemplate === undefined && template === undefined) {
    // Alpaca's prompt, then the answer and EOS (multi-turn chats: each turn in order, answers learned)
    let first = true;
    for (const [i, t] of rec.messages.entries()) {
      if (t.role === 'assistant') {
        push(tok.encode(t.content, { addSpecial: false, parseSpecial: false }), true);
        if (tok.eos >= 0) push([tok.eos], true);
        continue;
      }
      if (t.role === 'system') {
        push(tok.encode(`${t.content}\n\n`, { addSpecial: first, parseSpecial: false }), false);
        first = false;
        continue;
      }
      const a = alpaca && i === 0 ? alpaca : { instruction: t.content, input: '' };
      const prompt = (a.input ? ALPACA_PROMPT.withInput : ALPACA_PROMPT.noInput).replace('{instruction}', a.instruction).replace('{input}', a.input);
      push(tok.encode(prompt, { addSpecial: first, parseSpecial: false }), false);
      first = false;
    }
  } else {
    // through the template: what each assistant turn adds to the rendering of the turns before it
    let done: number[] = [];
    for (let i = 0; i < rec.messages.length; i++) {
      if (rec.messages[i]!.role !== 'assistant') continue;
      const turns = (n: number): ChatMessage[] => rec.messages.slice(0, n).map((t) => ({ role: t.role, content: t.content }));
      const t = template !== undefined ? { template } : {};
      const before = tok.encodeChat(turns(i), { addGenerationPrompt: true, ...t });
      const upto = tok.encodeChat(turns(i + 1), { addGenerationPrompt: false, ...t });
      if (!sameStart(before, done) || !sameStart(upto, before)) {
        throw new CriaError('bad-argument', `line ${rec.line}: the chat template does not render this conversation turn by turn (a turn changes what came before it), so its answers cannot be told apart`, { line: rec.line });
      }
      push(before.slice(done.length), false);
      push(upto.slice(before.length), true);
      done = upto;
    }
  }
  let truncated = false;
  if (tokens.length > maxLen) {
    tokens.length = maxLen;
    learn.length = maxLen;
    truncated = true;
  }
  // position t predicts token t + 1: learned when token t + 1 is
  const targets = tokens.map((_, t) => (t + 1 < tokens.length && learn[t + 1] ? tokens[t + 1]! : -1));
  return { tokens, targets, truncated, learned: targets.filter((t) => t >= 0).length };
}

const sameStart = (a: readonly number[], prefix: readonly number[]) => prefix.length <= a.length && prefix.every((v, i) => a[i] === v);

/** A seeded split: `heldOut` of the records (at least 1 when there are 2 or more, at most all but 1) go to the held-out set. */
export function splitRecords<T>(records: readonly T[], heldOut: number, seed: number): { train: T[]; heldOut: T[] } {
  if (!(heldOut >= 0 && heldOut < 1)) throw new CriaError('bad-argument', `the held-out share must be in [0, 1), got ${heldOut}`);
  const order = records.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let n = Math.round(records.length * heldOut);
  if (heldOut > 0 && records.length >= 2) n = Math.min(records.length - 1, Math.max(1, n));
  const held = new Set(order.slice(0, n));
  return { train: records.filter((_, i) => !held.has(i)), heldOut: records.filter((_, i) => held.has(i)) };
}

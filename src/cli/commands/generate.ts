import { readFile, writeFile } from 'node:fs/promises';
import { CriaError } from '../../shared/errors.ts';
import { randomSeed } from '../../shared/rng.ts';
import type { ChatCompletionRequest, ChatMessage, CompletionRequest, SamplingRequest, Usage } from '../../protocol/api.ts';
import type { Command } from '../command.ts';
import { checkCacheOption, parseThreads, deviceName, parseEngine, stderrEngineProgress, withEngine } from '../engine.ts';
import { locateModel, numberOption, writeJson } from '../model-source.ts';
import { LORA_OPTION, LORA_USAGE, loadLoraFlags, parseLoraFlags } from '../lora-flags.ts';

function parseTokenList(s: string, nVocab: number): number[] {
  const ids = s.split(/[\s,]+/).filter(Boolean).map(Number);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= nVocab) throw new CriaError('bad-argument', `--prompt-tokens: "${id}" is not a token id of this model (0..${nVocab - 1})`);
  }
  if (ids.length === 0) throw new CriaError('bad-argument', '--prompt-tokens is empty');
  return ids;
}

/** `--messages FILE.json`: an OpenAI `messages` array, or an object holding one (a whole request's body). */
export async function readMessages(path: string): Promise<ChatMessage[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CriaError('bad-argument', `--messages: cannot read ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CriaError('bad-argument', `--messages: ${path} is not JSON: ${(e as Error).message}`);
  }
  const messages = Array.isArray(v) ? v : (v as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages)) throw new CriaError('bad-argument', `--messages: ${path} must hold an array of { role, content } (or an object with one as "messages")`);
  return messages as ChatMessage[]; // checked by the engine's request parser, like any request
}

/**
 * The sampling flags shared by generate and chat, as request fields. Only flags given are set:
 * the engine's defaults (src/protocol/request-limits.ts) apply to the rest, as for every front door.
 */
export function samplingFlags(values: Record<string, string | boolean | undefined>): SamplingRequest {
  const out: SamplingRequest = {};
  const set = <K extends keyof SamplingRequest>(key: K, flag: string, integer = false) => {
    if (values[flag] !== undefined) (out as Record<string, unknown>)[key] = numberOption(values, flag, 0, { integer });
  };
  set('max_tokens', 'max-tokens', true);
  set('temperature', 'temperature');
  set('top_k', 'top-k', true);
  set('top_p', 'top-p');
  set('min_p', 'min-p');
  set('repetition_penalty', 'repeat-penalty');
  set('presence_penalty', 'presence-penalty');
  set('frequency_penalty', 'frequency-penalty');
  set('seed', 'seed', true);
  return out;
}

/**
 * `--json-schema FILE` (a JSON Schema, or OpenAI's `{ name, schema }`), `--json-object` and `--grammar FILE`
 * (GBNF) as the request's response_format / grammar: the answer is constrained to them at every token.
 */
export async function formatFlags(values: Record<string, string | boolean | undefined>): Promise<Pick<SamplingRequest, 'response_format' | 'grammar'>> {
  const given = ['json-schema', 'json-object', 'grammar'].filter((k) => values[k] !== undefined && values[k] !== false);
  if (given.length > 1) throw new CriaError('bad-argument', `give one of --json-schema, --json-object and --grammar, not ${given.map((g) => `--${g}`).join(' and ')}`);
  const read = async (flag: string) => {
    const path = values[flag] as string;
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new CriaError('bad-argument', `--${flag}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  if (values['json-object']) return { response_format: { type: 'json_object' } };
  if (values.grammar !== undefined) return { grammar: await read('grammar') };
  if (values['json-schema'] !== undefined) {
    const text = await read('json-schema');
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new CriaError('bad-argument', `--json-schema: ${values['json-schema']} is not JSON: ${(e as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CriaError('bad-argument', `--json-schema: ${values['json-schema']} must hold a JSON Schema object`);
    const o = v as Record<string, unknown>;
    // OpenAI's json_schema object ({ name, schema, strict }) or a bare schema
    const wrapped = typeof o.name === 'string' && typeof o.schema === 'object' && o.schema !== null;
    const name = wrapped ? (o.name as string) : (String(values['json-schema']).split('/').pop() ?? 'schema').replace(/\.json$/i, '').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'schema';
    return { response_format: { type: 'json_schema', json_schema: { name, schema: (wrapped ? o.schema : o) as Record<string, unknown> } } };
  }
  return {};
}

export const FORMAT_OPTIONS = {
  'json-schema': { type: 'string' },
  'json-object': { type: 'boolean' },
  grammar: { type: 'string' },
} as const;

export const SAMPLING_OPTIONS = {
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  'presence-penalty': { type: 'string' },
  'frequency-penalty': { type: 'string' },
  seed: { type: 'string' },
} as const;

type Prompt = { text: string; addSpecial: boolean; parseSpecial: boolean } | { tokens: string } | { messages: ChatMessage[] };

export const generateCommand: Command = {
  summary: 'continue a prompt, or answer a conversation, with the model (greedy by default)',
  usage:
    'cria generate --model MODEL (--prompt TEXT | --prompt-tokens 1,2,3 | --messages FILE.json) [--max-tokens N]\n' +
    '              [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--presence-penalty X]\n' +
    '              [--frequency-penalty X] [--seed S] [--engine webgpu|cpu|reference] [--threads N] [--cache DIR] [--ctx-size N] [--no-bos]\n' +
    '              [--parse-special] [--ignore-eos] [--dump-logits FILE] [--json-schema FILE | --json-object | --grammar FILE]\n' +
    '              [--lora FILE[:SCALE]]... [--json]\n\n' +
    '  Every engine runs the same Engine and request path: --engine webgpu (the default) in its worker in headless\n' +
    '  Chromium (CHROME_PATH or the usual places); --engine cpu on WebAssembly in Node (--threads N, default the\n' +
    '  cores, at most 8); --engine reference on the plain TypeScript reference (ground truth). --temperature 0 (this\n' +
    "  command's default) is greedy decoding; other sampling flags default to the engine's (top-k 40, top-p 0.95,\n" +
    '  min-p 0.05), and --max-tokens (default 64 here) is a ceiling: at most what the context has room for.\n' +
    '  --messages FILE.json answers an OpenAI `messages` array through the model\'s chat template (one chat\n' +
    '  completion; with --json, the whole response with its usage). Generation stops at the model\'s\n' +
    '  end-of-generation token unless --ignore-eos. --ctx-size sets the context (default: the training context,\n' +
    '  at most 4096, or what the memory budget holds). --dump-logits writes the logits of every prompt position as\n' +
    '  little-endian float32 rows (n_prompt × n_vocab). --json prints one JSON object instead of streaming text.\n' +
    '  --json-schema FILE (a JSON Schema, or OpenAI\'s { name, schema }), --json-object and --grammar FILE (llama.cpp\'s\n' +
    '  GBNF, rule root) constrain the answer at every token (xgrammar); an answer cut by --max-tokens ends "length".\n' +
    LORA_USAGE,
  options: {
    model: { type: 'string' },
    cache: { type: 'string' },
    prompt: { type: 'string' },
    'prompt-tokens': { type: 'string' },
    messages: { type: 'string' },
    ...SAMPLING_OPTIONS,
    ...FORMAT_OPTIONS,
    engine: { type: 'string' },
    threads: { type: 'string' },
    'ctx-size': { type: 'string' },
    'no-bos': { type: 'boolean' },
    'parse-special': { type: 'boolean' },
    'ignore-eos': { type: 'boolean' },
    'dump-logits': { type: 'string' },
    json: { type: 'boolean' },
    ...LORA_OPTION,
  },
  async run(values) {
    const t0 = performance.now();
    const engineName = parseEngine(values.engine);
    checkCacheOption(engineName, values.cache);
    const threads = parseThreads(values.threads, engineName);
    const given = [values.prompt, values['prompt-tokens'], values.messages].filter((v) => v !== undefined).length;
    if (given !== 1) throw new CriaError('bad-argument', 'give exactly one of --prompt TEXT, --prompt-tokens 1,2,3 or --messages FILE.json');
    const prompt: Prompt =
      values.messages !== undefined
        ? { messages: await readMessages(values.messages as string) }
        : values.prompt !== undefined
          ? { text: values.prompt as string, addSpecial: !values['no-bos'], parseSpecial: !!values['parse-special'] }
          : { tokens: values['prompt-tokens'] as string };
    if ('messages' in prompt && (values['no-bos'] || values['parse-special'] || values['dump-logits'])) {
      throw new CriaError('bad-argument', '--no-bos, --parse-special and --dump-logits apply to --prompt/--prompt-tokens; the chat template lays out --messages');
    }
    const sampling: SamplingRequest = {
      max_tokens: 64,
      temperature: 0,
      ...samplingFlags(values),
      ...(await formatFlags(values)),
      ignore_eos: !!values['ignore-eos'],
    };
    // chosen here, so the output says which seed was used whichever engine ran
    sampling.seed ??= randomSeed();
    const nCtx = values['ctx-size'] === undefined ? undefined : numberOption(values, 'ctx-size', 0, { integer: true });
    const dumpLogits = values['dump-logits'] as string | undefined;
    const onText = values.json ? undefined : (text: string) => process.stdout.write(text);
    const location = await locateModel(values.model as string | undefined); // a missing file is reported before anything starts
    const loraArgs = await parseLoraFlags(values.lora);

    await withEngine(engineName, location, async (engine) => {
      const info = await engine.load(stderrEngineProgress('loading'), nCtx !== undefined ? { nCtx } : {});
      const lora = await loadLoraFlags(engine, loraArgs);
      if (lora) sampling.lora = lora;
      const device = engine.name === 'webgpu' ? deviceName(await engine.deviceInfo()) : undefined;
      const startupMs = performance.now() - t0;
      if ('messages' in prompt) {
        const req: ChatCompletionRequest = { messages: prompt.messages, ...sampling };
        const r = await engine.chat(req, onText);
        if (values.json) writeJson(r);
        else finish(engineName, device, r.usage, r.choices[0].finish_reason);
        return;
      }
      const ids = 'text' in prompt ? await engine.tokenize(prompt.text, { add_special: prompt.addSpecial, parse_special: prompt.parseSpecial }) : parseTokenList(prompt.tokens, info.vocabSize);
      const req: CompletionRequest = { prompt: ids, ...sampling, prompt_logits: !!dumpLogits };
      const r = await engine.complete(req, onText);
      if (dumpLogits) {
        if (!r.promptLogits) throw new CriaError('internal', 'the engine returned no prompt logits');
        await writeLogits(dumpLogits, r.promptLogits);
      }
      const u = r.usage;
      if (values.json) {
        writeJson({
          model: values.model,
          engine: engineName,
          runtime: info.runtime ?? 'cria',
          n_ctx: info.nCtx,
          prompt_tokens: ids,
          tokens: r.tokens,
          text: r.text,
          finish_reason: r.finish_reason,
          seed: sampling.seed,
          timings: timingsJson(startupMs, info.loadMs, u),
        });
      } else finish(engineName, device, u, r.finish_reason);
    }, { cacheDir: values.cache as string | undefined, ...(threads !== undefined ? { threads } : {}) });
  },
};

/** The summary line on stderr after streamed text. */
function finish(engine: string, device: string | undefined, u: Usage, reason: string): void {
  process.stdout.write('\n');
  const t = timingsJson(0, 0, u);
  process.stderr.write(
    `[${engine}${device ? `: ${device}` : ''}] prompt ${t.prompt_tokens} tok (${t.prompt_tokens_per_s} tok/s), ` +
      `generated ${t.decode_tokens} tok (${t.decode_tokens_per_s} tok/s), first token after ${t.time_to_first_token_ms} ms, ${reason}\n`,
  );
}

function writeLogits(path: string, l: Float32Array): Promise<void> {
  return writeFile(path, new Uint8Array(l.buffer, l.byteOffset, l.byteLength));
}

/**
 * The JSON `timings`: startup_ms from the command's start to the start of generation (on webgpu:
 * server, Chromium, page and model load); load_ms the model load alone; the rest from the
 * response's usage (prompt_tokens: the prompt tokens evaluated; time_to_first_token_ms from the
 * start of generation).
 */
function timingsJson(startupMs: number, loadMs: number, u: Usage): Record<string, number | null> {
  const ms = (n: number, perS: number) => (perS > 0 ? (1000 * n) / perS : 0);
  const promptMs = ms(u.prefill_tokens, u.prefill_tokens_per_s);
  const decodeMs = ms(u.completion_tokens, u.decode_tokens_per_s);
  return {
    startup_ms: round(startupMs),
    load_ms: round(loadMs),
    prompt_tokens: u.prefill_tokens,
    prompt_ms: round(promptMs),
    prompt_tokens_per_s: rate(u.prefill_tokens, promptMs),
    decode_tokens: u.completion_tokens,
    decode_ms: round(decodeMs),
    decode_tokens_per_s: rate(u.completion_tokens, decodeMs),
    time_to_first_token_ms: round(u.time_to_first_token_ms),
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const rate = (n: number, ms: number) => (ms > 0 ? Math.round((n / ms) * 1e4) / 10 : null);

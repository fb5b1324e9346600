import { writeFile } from 'node:fs/promises';
import { CriaError } from '../../shared/errors.ts';
import { randomSeed } from '../../shared/rng.ts';
import { GREEDY, type SamplingParams } from '../../sampling/sampler.ts';
import { Session } from '../../engine/session.ts';
import { generate, type GenerateResult } from '../../engine/generate.ts';
import { createTokenizer } from '../../tokenizer/index.ts';
import type { Command } from '../command.ts';
import { deviceName, loadModel, parseEngine, stderrEngineProgress, stderrProgress } from '../engine.ts';
import { locateModel, numberOption, openModelFile, writeJson } from '../model-source.ts';

function parseTokenList(s: string, nVocab: number): number[] {
  const ids = s.split(/[\s,]+/).filter(Boolean).map(Number);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= nVocab) throw new CriaError('bad-argument', `--prompt-tokens: "${id}" is not a token id of this model (0..${nVocab - 1})`);
  }
  if (ids.length === 0) throw new CriaError('bad-argument', '--prompt-tokens is empty');
  return ids;
}

/** Everything `generate` needs, parsed and checked before any engine starts. */
interface GenerateOptions {
  model: string | undefined;
  prompt: { text: string; addSpecial: boolean; parseSpecial: boolean } | { tokens: string };
  maxTokens: number;
  sampling: SamplingParams & { seed: number };
  ctxSize: number | undefined;
  ignoreEos: boolean;
  dumpLogits: string | undefined;
  /** stream text to stdout as it is generated */
  onText: ((text: string) => void) | undefined;
  /** when the command started (performance.now()), for timings.startup_ms */
  startedAt: number;
  /** --cache DIR: keep the browser profile (and a URL model's cache) there */
  cacheDir?: string;
}

/** What either engine produced; `timings` are the JSON output's (snake_case, ms and tokens/s). */
interface GenerateOutput {
  prompt: number[];
  tokens: number[];
  text: string;
  finishReason: 'stop' | 'length';
  timings: Record<string, number | null>;
  /** the adapter, on webgpu */
  device?: string;
}

export const generateCommand: Command = {
  summary: 'continue a prompt with the model (greedy by default)',
  usage:
    'cria generate --model MODEL (--prompt TEXT | --prompt-tokens 1,2,3) [--max-tokens N] [--temperature T]\n' +
    '              [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--presence-penalty X] [--frequency-penalty X]\n' +
    '              [--seed S] [--engine webgpu|cpu] [--cache DIR] [--ctx-size N] [--no-bos] [--parse-special] [--ignore-eos]\n' +
    '              [--dump-logits FILE] [--json]\n\n' +
    '  --engine webgpu (the default) runs the WebGPU engine in headless Chromium (CHROME_PATH or the usual\n' +
    '  places); --engine cpu runs the CPU reference in Node. --temperature 0 (the default) is greedy decoding.\n' +
    "  Generation stops at the model's end-of-generation token unless --ignore-eos. On webgpu the context is\n" +
    "  the model's training context (at most 4096); --ctx-size can only lower it. --dump-logits writes the\n" +
    '  logits of every prompt position as little-endian float32 rows (n_prompt × n_vocab). --json prints one\n' +
    '  JSON object instead of streaming text.',
  options: {
    model: { type: 'string' },
    cache: { type: 'string' },
    prompt: { type: 'string' },
    'prompt-tokens': { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'min-p': { type: 'string' },
    'repeat-penalty': { type: 'string' },
    'presence-penalty': { type: 'string' },
    'frequency-penalty': { type: 'string' },
    seed: { type: 'string' },
    engine: { type: 'string' },
    'ctx-size': { type: 'string' },
    'no-bos': { type: 'boolean' },
    'parse-special': { type: 'boolean' },
    'ignore-eos': { type: 'boolean' },
    'dump-logits': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const t0 = performance.now();
    const engine = parseEngine(values.engine);
    if (values.cache !== undefined && engine === 'cpu') throw new CriaError('bad-argument', '--cache keeps the browser profile of the webgpu engine; it does not apply to --engine cpu');
    if ((values.prompt === undefined) === (values['prompt-tokens'] === undefined)) {
      throw new CriaError('bad-argument', 'give exactly one of --prompt TEXT or --prompt-tokens 1,2,3');
    }
    const opts: GenerateOptions = {
      model: values.model as string | undefined,
      prompt:
        values.prompt !== undefined
          ? { text: values.prompt as string, addSpecial: !values['no-bos'], parseSpecial: !!values['parse-special'] }
          : { tokens: values['prompt-tokens'] as string },
      maxTokens: numberOption(values, 'max-tokens', 64, { integer: true }),
      sampling: {
        ...GREEDY,
        temperature: numberOption(values, 'temperature', 0),
        topK: numberOption(values, 'top-k', 0, { integer: true }),
        topP: numberOption(values, 'top-p', 1),
        minP: numberOption(values, 'min-p', 0),
        repetitionPenalty: numberOption(values, 'repeat-penalty', 1),
        presencePenalty: numberOption(values, 'presence-penalty', 0),
        frequencyPenalty: numberOption(values, 'frequency-penalty', 0),
        // chosen here, so both engines report the seed they used
        seed: values.seed === undefined ? randomSeed() : numberOption(values, 'seed', 0, { integer: true }),
      },
      ctxSize: values['ctx-size'] === undefined ? undefined : numberOption(values, 'ctx-size', 0, { integer: true }),
      ignoreEos: !!values['ignore-eos'],
      dumpLogits: values['dump-logits'] as string | undefined,
      onText: values.json ? undefined : (text) => process.stdout.write(text),
      startedAt: t0,
      cacheDir: values.cache as string | undefined,
    };

    const out = engine === 'cpu' ? await generateOnCpu(opts) : await generateOnWebgpu(opts);
    const timings = out.timings;
    if (values.json) {
      writeJson({
        model: opts.model,
        engine,
        prompt_tokens: out.prompt,
        tokens: out.tokens,
        text: out.text,
        finish_reason: out.finishReason,
        seed: opts.sampling.seed,
        timings,
      });
    } else {
      process.stdout.write('\n');
      process.stderr.write(
        `[${engine}${out.device ? `: ${out.device}` : ''}] prompt ${timings.prompt_tokens} tok (${timings.prompt_tokens_per_s} tok/s), ` +
          `generated ${timings.decode_tokens} tok (${timings.decode_tokens_per_s} tok/s), first token after ${timings.time_to_first_token_ms} ms, ${out.finishReason}\n`,
      );
    }
  },
};

/** The CPU reference, in this process. */
async function generateOnCpu(o: GenerateOptions): Promise<GenerateOutput> {
  const t0 = performance.now();
  const file = await openModelFile(o.model);
  const model = await loadModel(file, stderrProgress('loading'));
  const tok = createTokenizer(file.metadata);
  const loadMs = performance.now() - t0;
  const session = new Session(model, o.ctxSize === undefined ? {} : { nCtx: o.ctxSize });
  const prompt = 'text' in o.prompt ? tok.encode(o.prompt.text, o.prompt) : parseTokenList(o.prompt.tokens, model.config.nVocab);
  const startupMs = performance.now() - o.startedAt;

  let dumped: Promise<void> | undefined;
  const it = generate(session, {
    prompt,
    maxTokens: o.maxTokens,
    sampling: o.sampling,
    decoder: tok.decoder(),
    isEndToken: o.ignoreEos ? undefined : (id) => tok.isEog(id),
    onPromptLogits: o.dumpLogits ? (l) => void (dumped = writeLogits(o.dumpLogits!, l)) : undefined,
  });
  let r: IteratorResult<{ token: number; text: string }, GenerateResult>;
  while (!(r = await it.next()).done) o.onText?.(r.value.text);
  await dumped;
  const res = r.value;
  return {
    prompt,
    tokens: res.tokens,
    text: res.text,
    finishReason: res.finishReason,
    timings: timingsJson(startupMs, loadMs, res.timings.promptTokens, res.timings.promptMs, res.timings.decodeTokens, res.timings.decodeMs, res.timings.firstTokenMs),
  };
}

/** The WebGPU engine, in its worker in headless Chromium. */
async function generateOnWebgpu(o: GenerateOptions): Promise<GenerateOutput> {
  const location = await locateModel(o.model); // a missing file is reported before anything starts
  // loaded on demand: the CPU path and the other commands never pay for Vite and Playwright
  const { withBrowserEngine } = await import('../browser-engine.ts');
  return withBrowserEngine(location, async (engine) => {
    const info = await engine.load(stderrEngineProgress('loading'));
    const nCtx = webgpuContext(o.ctxSize, info.nCtx);
    const prompt =
      'text' in o.prompt
        ? await engine.tokenize(o.prompt.text, { add_special: o.prompt.addSpecial, parse_special: o.prompt.parseSpecial })
        : parseTokenList(o.prompt.tokens, info.vocabSize);
    if (prompt.length + o.maxTokens > nCtx) {
      // the engine checks against its own context; --ctx-size may be smaller
      throw new CriaError('context-overflow', `the prompt (${prompt.length} tokens) plus max_tokens (${o.maxTokens}) exceeds the context of ${nCtx} tokens; shorten the prompt or lower max_tokens`, {
        promptTokens: prompt.length,
        maxTokens: o.maxTokens,
        nCtx,
      });
    }
    const s = o.sampling;
    const startupMs = performance.now() - o.startedAt;
    const r = await engine.complete(
      {
        prompt,
        max_tokens: o.maxTokens,
        temperature: s.temperature,
        top_k: s.topK,
        top_p: s.topP,
        min_p: s.minP,
        repetition_penalty: s.repetitionPenalty,
        presence_penalty: s.presencePenalty,
        frequency_penalty: s.frequencyPenalty,
        seed: s.seed,
        ignore_eos: o.ignoreEos,
        prompt_logits: !!o.dumpLogits,
      },
      o.onText,
    );
    if (o.dumpLogits) {
      if (!r.promptLogits) throw new CriaError('internal', 'the engine returned no prompt logits');
      await writeLogits(o.dumpLogits, r.promptLogits);
    }
    const u = r.usage;
    const ms = (n: number, perS: number) => (perS > 0 ? (1000 * n) / perS : 0);
    return {
      prompt,
      tokens: r.tokens,
      text: r.text,
      finishReason: r.finish_reason,
      timings: timingsJson(startupMs, info.loadMs, u.prefill_tokens, ms(u.prefill_tokens, u.prefill_tokens_per_s), u.completion_tokens, ms(u.completion_tokens, u.decode_tokens_per_s), u.time_to_first_token_ms),
      device: deviceName(await engine.deviceInfo()),
    };
  }, { cacheDir: o.cacheDir });
}

/**
 * The WebGPU engine's context is fixed when it loads (the model's training context, at most 4096):
 * --ctx-size may only lower it.
 */
export function webgpuContext(ctxSize: number | undefined, engineCtx: number): number {
  if (ctxSize === undefined) return engineCtx;
  if (ctxSize < 1 || ctxSize > engineCtx) {
    throw new CriaError('bad-argument', `--ctx-size ${ctxSize}: the webgpu engine's context for this model is 1 to ${engineCtx} tokens (the training context, at most 4096); use --engine cpu for a larger one`);
  }
  return ctxSize;
}

function writeLogits(path: string, l: Float32Array): Promise<void> {
  return writeFile(path, new Uint8Array(l.buffer, l.byteOffset, l.byteLength));
}

/**
 * The JSON `timings`: startup_ms from the command's start to the start of generation (on webgpu:
 * server, Chromium, page and model load); load_ms the model load alone; time_to_first_token_ms
 * from the start of generation.
 */
function timingsJson(startupMs: number, loadMs: number, promptTokens: number, promptMs: number, decodeTokens: number, decodeMs: number, firstTokenMs: number): Record<string, number | null> {
  return {
    startup_ms: round(startupMs),
    load_ms: round(loadMs),
    prompt_tokens: promptTokens,
    prompt_ms: round(promptMs),
    prompt_tokens_per_s: rate(promptTokens, promptMs),
    decode_tokens: decodeTokens,
    decode_ms: round(decodeMs),
    decode_tokens_per_s: rate(decodeTokens, decodeMs),
    time_to_first_token_ms: round(firstTokenMs),
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const rate = (n: number, ms: number) => (ms > 0 ? Math.round((n / ms) * 1e4) / 10 : null);

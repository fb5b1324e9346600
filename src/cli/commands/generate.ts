import { writeFile } from 'node:fs/promises';
import { CriaError } from '../../shared/errors.ts';
import { GREEDY, type SamplingParams } from '../../sampling/sampler.ts';
import { Session } from '../../engine/session.ts';
import { generate, type GenerateResult } from '../../engine/generate.ts';
import { createTokenizer } from '../../tokenizer/index.ts';
import type { Command } from '../command.ts';
import { loadModel, parseEngine, stderrProgress } from '../engine.ts';
import { numberOption, openModelFile, writeJson } from '../model-source.ts';

function parseTokenList(s: string, nVocab: number): number[] {
  const ids = s.split(/[\s,]+/).filter(Boolean).map(Number);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= nVocab) throw new CriaError('bad-argument', `--prompt-tokens: "${id}" is not a token id of this model (0..${nVocab - 1})`);
  }
  if (ids.length === 0) throw new CriaError('bad-argument', '--prompt-tokens is empty');
  return ids;
}

export const generateCommand: Command = {
  summary: 'continue a prompt with the model (greedy by default)',
  usage:
    'cria generate --model MODEL (--prompt TEXT | --prompt-tokens 1,2,3) [--max-tokens N] [--temperature T]\n' +
    '              [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--presence-penalty X] [--frequency-penalty X]\n' +
    '              [--seed S] [--engine cpu|webgpu] [--ctx-size N] [--no-bos] [--parse-special] [--ignore-eos]\n' +
    '              [--dump-logits FILE] [--json]\n\n' +
    '  --temperature 0 (the default) is greedy decoding. Generation stops at the model\'s end-of-generation\n' +
    '  token unless --ignore-eos. --dump-logits writes the logits of every prompt position as little-endian\n' +
    '  float32 rows (n_prompt × n_vocab). --json prints one JSON object instead of streaming text.',
  options: {
    model: { type: 'string' },
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
    const engine = parseEngine(values.engine);
    if ((values.prompt === undefined) === (values['prompt-tokens'] === undefined)) {
      throw new CriaError('bad-argument', 'give exactly one of --prompt TEXT or --prompt-tokens 1,2,3');
    }
    const sampling: SamplingParams = {
      ...GREEDY,
      temperature: numberOption(values, 'temperature', 0),
      topK: numberOption(values, 'top-k', 0, { integer: true }),
      topP: numberOption(values, 'top-p', 1),
      minP: numberOption(values, 'min-p', 0),
      repetitionPenalty: numberOption(values, 'repeat-penalty', 1),
      presencePenalty: numberOption(values, 'presence-penalty', 0),
      frequencyPenalty: numberOption(values, 'frequency-penalty', 0),
      seed: values.seed === undefined ? undefined : numberOption(values, 'seed', 0, { integer: true }),
    };
    const maxTokens = numberOption(values, 'max-tokens', 64, { integer: true });

    const t0 = performance.now();
    const file = await openModelFile(values.model as string | undefined);
    const model = await loadModel(file, engine, stderrProgress('loading'));
    const tok = createTokenizer(file.metadata);
    const loadMs = performance.now() - t0;
    const session = new Session(model, values['ctx-size'] === undefined ? {} : { nCtx: numberOption(values, 'ctx-size', 0, { integer: true }) });

    const prompt =
      values.prompt !== undefined
        ? tok.encode(values.prompt as string, { addSpecial: !values['no-bos'], parseSpecial: !!values['parse-special'] })
        : parseTokenList(values['prompt-tokens'] as string, model.config.nVocab);

    let dumped: Promise<void> | undefined;
    const dumpPath = values['dump-logits'] as string | undefined;
    const it = generate(session, {
      prompt,
      maxTokens,
      sampling,
      decoder: tok.decoder(),
      isEndToken: values['ignore-eos'] ? undefined : (id) => tok.isEog(id),
      onPromptLogits: dumpPath ? (l) => void (dumped = writeFile(dumpPath, new Uint8Array(l.buffer, l.byteOffset, l.byteLength))) : undefined,
    });
    let r: IteratorResult<{ token: number; text: string }, GenerateResult>;
    while (!(r = await it.next()).done) {
      if (!values.json) process.stdout.write(r.value.text);
    }
    await dumped;
    const res = r.value;
    const timings = {
      load_ms: round(loadMs),
      prompt_tokens: res.timings.promptTokens,
      prompt_ms: round(res.timings.promptMs),
      prompt_tokens_per_s: rate(res.timings.promptTokens, res.timings.promptMs),
      decode_tokens: res.timings.decodeTokens,
      decode_ms: round(res.timings.decodeMs),
      decode_tokens_per_s: rate(res.timings.decodeTokens, res.timings.decodeMs),
    };
    if (values.json) {
      writeJson({
        model: values.model,
        engine,
        prompt_tokens: prompt,
        tokens: res.tokens,
        text: res.text,
        finish_reason: res.finishReason,
        seed: res.seed,
        timings,
      });
    } else {
      process.stdout.write('\n');
      process.stderr.write(
        `[${engine}] prompt ${timings.prompt_tokens} tok (${timings.prompt_tokens_per_s} tok/s), generated ${timings.decode_tokens} tok (${timings.decode_tokens_per_s} tok/s), ${res.finishReason}\n`,
      );
    }
  },
};

const round = (ms: number) => Math.round(ms * 10) / 10;
const rate = (n: number, ms: number) => (ms > 0 ? Math.round((n / ms) * 1e4) / 10 : null);

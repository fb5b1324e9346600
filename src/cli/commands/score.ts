import { CriaError } from '../../shared/errors.ts';
import type { Command } from '../command.ts';
import { checkCacheOption, parseThreads, parseEngine, stderrEngineProgress, withEngine } from '../engine.ts';
import { locateModel, numberOption, writeJson } from '../model-source.ts';
import { textArgument } from './tokenize.ts';

export const scoreCommand: Command = {
  summary: 'log-probability of a text under the model (per token, sum, perplexity)',
  usage:
    'cria score --model MODEL (--text T | --text-file PATH) [--engine webgpu|cpu|reference] [--threads N] [--cache DIR] [--ctx-size N] [--json]\n\n' +
    '  The text is tokenized with BOS as the model metadata says; every token after the first is scored, by the\n' +
    "  engine's score() (the same on every engine: --engine webgpu, the default, in headless Chromium; --engine cpu\n" +
    '  on WebAssembly in Node; --engine reference on the TypeScript reference). A text of up to n_ctx + 1 tokens fits (the last token is never fed);\n' +
    '  --ctx-size sets the context, beyond the training context if asked.',
  options: {
    model: { type: 'string' },
    cache: { type: 'string' },
    text: { type: 'string' },
    'text-file': { type: 'string' },
    engine: { type: 'string' },
    threads: { type: 'string' },
    'ctx-size': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const engineName = parseEngine(values.engine);
    checkCacheOption(engineName, values.cache);
    const threads = parseThreads(values.threads, engineName);
    const location = await locateModel(values.model as string | undefined);
    const text = await textArgument(values);
    const nCtx = values['ctx-size'] === undefined ? undefined : numberOption(values, 'ctx-size', 0, { integer: true });
    const { tokens, logprobs } = await withEngine(engineName, location, async (engine) => {
      await engine.load(stderrEngineProgress('loading'), nCtx !== undefined ? { nCtx } : {});
      const tokens = await engine.tokenize(text, { add_special: true, parse_special: false });
      if (tokens.length < 2) throw new CriaError('bad-argument', `the text gives ${tokens.length} token(s); scoring needs at least 2`);
      const r = await engine.score({ context: tokens.slice(0, 1), continuation: tokens.slice(1) });
      return { tokens, logprobs: r.logprobs };
    }, { cacheDir: values.cache as string | undefined, ...(threads !== undefined ? { threads } : {}) });
    const sum = logprobs.reduce((a, b) => a + b, 0);
    const out = { tokens, logprobs, sum, count: logprobs.length, perplexity: Math.exp(-sum / logprobs.length) };
    if (values.json) writeJson(out);
    else process.stdout.write(`${out.count} tokens scored: sum logprob ${sum.toFixed(4)}, perplexity ${out.perplexity.toFixed(4)}\n`);
  },
};

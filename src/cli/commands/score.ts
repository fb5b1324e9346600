import { CriaError } from '../../shared/errors.ts';
import { logSoftmax } from '../../sampling/sampler.ts';
import { Session } from '../../engine/session.ts';
import { createTokenizer } from '../../tokenizer/index.ts';
import type { Command } from '../command.ts';
import { loadModel, parseEngine, stderrProgress } from '../engine.ts';
import { numberOption, openModelFile, writeJson } from '../model-source.ts';
import { textArgument } from './tokenize.ts';

export const scoreCommand: Command = {
  summary: 'log-probability of a text under the model (per token, sum, perplexity)',
  usage:
    'cria score --model MODEL (--text T | --text-file PATH) [--engine cpu|webgpu] [--ctx-size N] [--json]\n\n' +
    '  The text is tokenized with BOS as the model metadata says; every token after the first is scored.',
  options: {
    model: { type: 'string' },
    text: { type: 'string' },
    'text-file': { type: 'string' },
    engine: { type: 'string' },
    'ctx-size': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const engine = parseEngine(values.engine);
    const text = await textArgument(values);
    const file = await openModelFile(values.model as string | undefined);
    const model = await loadModel(file, engine, stderrProgress('loading'));
    const tok = createTokenizer(file.metadata);
    const tokens = tok.encode(text, { addSpecial: true, parseSpecial: false });
    if (tokens.length < 2) throw new CriaError('bad-argument', `the text gives ${tokens.length} token(s); scoring needs at least 2`);
    const nCtx = numberOption(values, 'ctx-size', Math.max(tokens.length, Math.min(model.config.nCtxTrain, 4096)), { integer: true });
    if (tokens.length > model.config.nCtxTrain && values['ctx-size'] === undefined) {
      throw new CriaError('context-overflow', `the text is ${tokens.length} tokens, longer than the model's training context (${model.config.nCtxTrain}); shorten it or pass --ctx-size to score beyond it anyway`);
    }
    const session = new Session(model, { nCtx });
    const logits = await session.eval(tokens, 'all');
    const nVocab = model.config.nVocab;
    const logprobs: number[] = [];
    for (let i = 1; i < tokens.length; i++) logprobs.push(logSoftmax(logits.subarray((i - 1) * nVocab, i * nVocab))[tokens[i]]);
    const sum = logprobs.reduce((a, b) => a + b, 0);
    const out = { tokens, logprobs, sum, count: logprobs.length, perplexity: Math.exp(-sum / logprobs.length) };
    if (values.json) writeJson(out);
    else process.stdout.write(`${out.count} tokens scored: sum logprob ${sum.toFixed(4)}, perplexity ${out.perplexity.toFixed(4)}\n`);
  },
};

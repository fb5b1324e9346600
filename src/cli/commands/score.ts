import { CriaError } from '../../shared/errors.ts';
import { logSoftmax } from '../../sampling/sampler.ts';
import { Session } from '../../engine/session.ts';
import { createTokenizer } from '../../tokenizer/index.ts';
import type { Command } from '../command.ts';
import { loadModel, parseEngine, stderrEngineProgress, stderrProgress } from '../engine.ts';
import { locateModel, numberOption, openModelFile, writeJson } from '../model-source.ts';
import { textArgument } from './tokenize.ts';
import { webgpuContext } from './generate.ts';

export const scoreCommand: Command = {
  summary: 'log-probability of a text under the model (per token, sum, perplexity)',
  usage:
    'cria score --model MODEL (--text T | --text-file PATH) [--engine webgpu|cpu] [--cache DIR] [--ctx-size N] [--json]\n\n' +
    '  The text is tokenized with BOS as the model metadata says; every token after the first is scored.\n' +
    '  --engine webgpu (the default) runs in headless Chromium; --engine cpu runs the CPU reference in Node.',
  options: {
    model: { type: 'string' },
    cache: { type: 'string' },
    text: { type: 'string' },
    'text-file': { type: 'string' },
    engine: { type: 'string' },
    'ctx-size': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const engine = parseEngine(values.engine);
    if (values.cache !== undefined && engine === 'cpu') throw new CriaError('bad-argument', '--cache keeps the browser profile of the webgpu engine; it does not apply to --engine cpu');
    const text = await textArgument(values);
    const ctxSize = values['ctx-size'] === undefined ? undefined : numberOption(values, 'ctx-size', 0, { integer: true });
    const { tokens, logprobs } = engine === 'cpu' ? await scoreOnCpu(values.model as string | undefined, text, ctxSize) : await scoreOnWebgpu(values.model as string | undefined, text, ctxSize, values.cache as string | undefined);
    const sum = logprobs.reduce((a, b) => a + b, 0);
    const out = { tokens, logprobs, sum, count: logprobs.length, perplexity: Math.exp(-sum / logprobs.length) };
    if (values.json) writeJson(out);
    else process.stdout.write(`${out.count} tokens scored: sum logprob ${sum.toFixed(4)}, perplexity ${out.perplexity.toFixed(4)}\n`);
  },
};

function checkLength(tokens: number[]): void {
  if (tokens.length < 2) throw new CriaError('bad-argument', `the text gives ${tokens.length} token(s); scoring needs at least 2`);
}

/** The CPU reference: every position's logits, log-softmax in float64. */
async function scoreOnCpu(modelArg: string | undefined, text: string, ctxSize: number | undefined): Promise<{ tokens: number[]; logprobs: number[] }> {
  const file = await openModelFile(modelArg);
  const model = await loadModel(file, stderrProgress('loading'));
  const tok = createTokenizer(file.metadata);
  const tokens = tok.encode(text, { addSpecial: true, parseSpecial: false });
  checkLength(tokens);
  if (tokens.length > model.config.nCtxTrain && ctxSize === undefined) {
    throw new CriaError('context-overflow', `the text is ${tokens.length} tokens, longer than the model's training context (${model.config.nCtxTrain}); shorten it or pass --ctx-size to score beyond it anyway`);
  }
  const session = new Session(model, { nCtx: ctxSize ?? Math.max(tokens.length, Math.min(model.config.nCtxTrain, 4096)) });
  const logits = await session.eval(tokens, 'all');
  const nVocab = model.config.nVocab;
  const logprobs: number[] = [];
  for (let i = 1; i < tokens.length; i++) logprobs.push(logSoftmax(logits.subarray((i - 1) * nVocab, i * nVocab))[tokens[i]]);
  return { tokens, logprobs };
}

/** The WebGPU engine's score(): the first token is the context, the rest the continuation. */
async function scoreOnWebgpu(modelArg: string | undefined, text: string, ctxSize: number | undefined, cacheDir?: string): Promise<{ tokens: number[]; logprobs: number[] }> {
  const location = await locateModel(modelArg);
  const { withBrowserEngine } = await import('../browser-engine.ts'); // on demand, as in generate
  return withBrowserEngine(location, async (engine) => {
    const info = await engine.load(stderrEngineProgress('loading'));
    const nCtx = webgpuContext(ctxSize, info.nCtx);
    const tokens = await engine.tokenize(text, { add_special: true, parse_special: false });
    checkLength(tokens);
    if (tokens.length > nCtx) {
      throw new CriaError('context-overflow', `the text is ${tokens.length} tokens, longer than the webgpu engine's context (${nCtx}); shorten it, or use --engine cpu --ctx-size N to score beyond the training context`);
    }
    const r = await engine.score({ context: tokens.slice(0, 1), continuation: tokens.slice(1) });
    return { tokens, logprobs: r.logprobs };
  }, { cacheDir });
}

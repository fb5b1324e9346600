import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CriaError } from '../../shared/errors.ts';
import { gv } from '../../formats/gguf-writer.ts';
import { checkpointKey } from '../../storage/checkpoints.ts';
import { sha256Hex } from '../../storage/sha256.ts';
import { PRETRAIN_DEFAULTS, pretrain, type PretrainConfig } from '../../train/pretrain.ts';
import { fileCheckpoints, logStep, stopOnCtrlC } from '../training.ts';
import type { Command } from '../command.ts';
import { numberOption, writeJson } from '../model-source.ts';

const D = PRETRAIN_DEFAULTS;

export const trainCommand: Command = {
  summary: 'train a tiny llama from scratch on a text (its own vocabulary too), on this machine: how the demo model was made',
  usage:
    'cria train --data TEXT.txt --out MODEL.gguf [--held-out TEXT.txt] [--checkpoint FILE]\n' +
    `           [--vocab ${D.vocab}] [--dim ${D.nEmbd}] [--layers ${D.nLayer}] [--heads ${D.nHead}] [--kv-heads ${D.nHeadKv}] [--ff ${D.nFf}] [--ctx ${D.nCtx}]\n` +
    `           [--epochs ${D.epochs}] [--lr ${D.lr}] [--batch ${D.batchSize}] [--warmup ${D.warmup}] [--weight-decay ${D.weightDecay}] [--seed ${D.seed}]\n` +
    '           [--name NAME] [--license SPDX] [--source TEXT] [--chat-template FILE]\n\n' +
    '  TEXT: plain text, stories separated by blank lines (or <|endoftext|> lines). A SentencePiece-style BPE\n' +
    '  vocabulary of --vocab tokens (byte fallback) is learnt from it, then a llama of that shape (F32, tied\n' +
    '  embeddings) is trained from random weights on every next token, each story as <s> story </s> in windows of\n' +
    '  --ctx tokens, with AdamW, batches of --batch windows, clipping to norm 1, warm-up then cosine decay. Runs on\n' +
    '  the CPU reference (TypeScript, every op differentiated; src/train/pretrain.ts) in this process.\n' +
    '  --held-out TEXT: stories to measure on (default: the last 5% of the stories); the held-out loss is printed\n' +
    '  before training and after each epoch, and perplexity and bits per byte at the end (also written into the\n' +
    '  file as cria.train.*). The defaults are the demo model\'s recipe (public/models/README.md).\n' +
    '  --chat-template FILE: a Jinja chat template written into the model (tokenizer.chat_template): how a chat\n' +
    '  becomes its prompt (the demo model\'s, src/train/templates/story.jinja: the last user message is the start\n' +
    '  of a story, which the model continues).\n' +
    '  --checkpoint FILE: state written every 10 steps; the same command run again goes on from it. Ctrl-C stops\n' +
    '  after the current step and still writes the model. Prints JSON: out, bytes, parameters, vocab, held-out loss\n' +
    '  per epoch, perplexity, bits per byte, steps, seconds, tokens/s.',
  options: {
    data: { type: 'string' },
    out: { type: 'string' },
    'held-out': { type: 'string' },
    checkpoint: { type: 'string' },
    vocab: { type: 'string' },
    dim: { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    'kv-heads': { type: 'string' },
    ff: { type: 'string' },
    ctx: { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    batch: { type: 'string' },
    warmup: { type: 'string' },
    'weight-decay': { type: 'string' },
    seed: { type: 'string' },
    name: { type: 'string' },
    license: { type: 'string' },
    source: { type: 'string' },
    'chat-template': { type: 'string' },
  },
  async run(values) {
    const str = (k: string) => values[k] as string | undefined;
    const dataPath = str('data');
    const out = str('out');
    if (!dataPath) throw new CriaError('bad-argument', 'no text given: pass --data TEXT.txt');
    if (!out) throw new CriaError('bad-argument', 'no output given: pass --out MODEL.gguf');
    const int = (k: string, fallback: number) => {
      const v = numberOption(values, k, fallback, { integer: true });
      if (v < 1) throw new CriaError('bad-argument', `--${k} must be at least 1, got ${v}`);
      return v;
    };
    const config: PretrainConfig = {
      ...D,
      vocab: int('vocab', D.vocab),
      nEmbd: int('dim', D.nEmbd),
      nLayer: int('layers', D.nLayer),
      nHead: int('heads', D.nHead),
      nHeadKv: int('kv-heads', D.nHeadKv),
      nFf: int('ff', D.nFf),
      nCtx: int('ctx', D.nCtx),
      epochs: int('epochs', D.epochs),
      lr: numberOption(values, 'lr', D.lr),
      batchSize: int('batch', D.batchSize),
      warmup: numberOption(values, 'warmup', D.warmup, { integer: true }),
      weightDecay: numberOption(values, 'weight-decay', D.weightDecay),
      seed: numberOption(values, 'seed', D.seed, { integer: true }),
    };
    if (!(config.lr > 0)) throw new CriaError('bad-argument', `--lr must be above 0, got ${config.lr}`);
    const read = async (path: string, what: string) => {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        throw new CriaError('bad-argument', `cannot read ${what} ${path}: ${(e as Error).message}`);
      }
    };
    const text = await read(dataPath, '--data');
    const heldPath = str('held-out');
    const heldOutText = heldPath !== undefined ? await read(heldPath, '--held-out') : undefined;
    try {
      await writeFile(out, new Uint8Array());
    } catch (e) {
      throw new CriaError('bad-argument', `cannot write --out ${out}: ${(e as Error).message}`);
    }
    const digest = (s: string) => sha256Hex(new TextEncoder().encode(s));
    const command = ['cria', ...process.argv.slice(process.argv.indexOf('train'))].join(' ');
    const name = str('name') ?? basename(out).replace(/\.gguf$/i, '');
    const metadata: [string, ReturnType<typeof gv.str>][] = [
      ['general.name', gv.str(name)],
      ['general.description', gv.str(`a tiny llama trained from scratch by Cria (cria train) on ${basename(dataPath)}`)],
      ['cria.train.command', gv.str(command)],
      ['cria.train.data', gv.str(basename(dataPath))],
      ['cria.train.data_sha256', gv.str(await digest(text))],
      ['cria.train.config', gv.str(JSON.stringify(config))],
    ];
    if (heldPath !== undefined) metadata.push(['cria.train.held_out_data', gv.str(basename(heldPath))], ['cria.train.held_out_sha256', gv.str(await digest(heldOutText!))]);
    if (str('license') !== undefined) metadata.push(['general.license', gv.str(str('license')!)]);
    if (str('source') !== undefined) metadata.push(['general.source.url', gv.str(str('source')!)]);
    if (str('chat-template') !== undefined) metadata.push(['tokenizer.chat_template', gv.str(await read(str('chat-template')!, '--chat-template'))]);

    const log = (s: string) => process.stderr.write(`${s}\n`);
    const stop = stopOnCtrlC('train', log);
    const checkpointFile = str('checkpoint');
    let r;
    try {
      r = await pretrain(
        text,
        config,
        {
          signal: stop.signal,
          ...(checkpointFile !== undefined ? { checkpoints: await fileCheckpoints(checkpointFile, await checkpointKey('cria train', text + '\u0000' + (heldOutText ?? ''), config), (m) => log(`train: ${m}`)) } : {}),
          yieldEvery: () => new Promise((ok) => setImmediate(ok)),
          onPrepared: (p) => {
            log(`train: ${p.stories} stories, ${p.trainTokens} tokens in ${p.windows} windows of ≤ ${config.nCtx}; ${p.heldOutStories} stories (${p.heldOutTokens} tokens) held out`);
            log(`train: vocabulary of ${p.vocab} tokens (${p.chars} characters, ${p.merges} merges, 256 bytes); llama ${config.nEmbd} wide, ${config.nLayer} layers, ${config.nHead}/${config.nHeadKv} heads, feed-forward ${config.nFf}: ${p.parameters} parameters; ${p.steps} steps`);
            if (p.resumedFromStep) log(`train: going on from the checkpoint at step ${p.resumedFromStep}`);
          },
          onProgress: (p) => logStep(p, log),
        },
        { ...(heldOutText !== undefined ? { heldOutText } : {}), metadata },
      );
    } finally {
      stop.done();
    }
    const bytes = r.gguf.reduce((n, p) => n + p.byteLength, 0);
    await writeFile(out, r.gguf);
    log(`train: wrote ${out} (${(bytes / 1048576).toFixed(2)} MiB)${r.stoppedEarly ? ' (stopped early)' : ''}`);
    if (r.stoppedEarly) process.exitCode = 130;
    writeJson({
      out,
      bytes,
      parameters: r.prepared.parameters,
      vocab: r.prepared.vocab,
      train_tokens: r.prepared.trainTokens,
      held_out_tokens: r.prepared.heldOutTokens,
      held_out_loss: r.heldOutLoss,
      held_out_perplexity: r.heldOutPerplexity,
      held_out_bits_per_byte: r.heldOutBitsPerByte,
      steps: r.steps,
      stopped_early: r.stoppedEarly,
      seconds: r.seconds,
      tokens_per_s: r.tokensPerSecond,
    });
  },
};

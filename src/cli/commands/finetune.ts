import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CriaError } from '../../shared/errors.ts';
import { readGguf } from '../../formats/gguf.ts';
import { parseTrainingJsonl } from '../../train/data.ts';
import { finetune } from '../../train/finetune.ts';
import { mergeLora } from '../../train/merge.ts';
import { fileCheckpoints, logStep, stopOnCtrlC } from '../training.ts';
import { checkpointKey } from '../../storage/checkpoints.ts';
import { readLoraAdapter } from '../../formats/lora.ts';
import { bytesSource } from '../../formats/source.ts';
import { concatBytes } from '../../shared/bytes.ts';
import { LORA_DEFAULTS } from '../../train/lora-train.ts';
import type { Command } from '../command.ts';
import { numberOption, openSource, writeJson } from '../model-source.ts';

const D = LORA_DEFAULTS;

export const finetuneCommand: Command = {
  summary: 'LoRA fine-tune of a GGUF model on your examples (JSON Lines), on this machine: writes an adapter llama.cpp and Cria load',
  usage:
    'cria finetune --model BASE.gguf --data EXAMPLES.jsonl --out ADAPTER.gguf\n' +
    `              [--rank ${D.rank}] [--alpha ${D.alpha}] [--lr ${D.lr}] [--epochs 3] [--batch ${D.batchSize}] [--warmup ${D.warmup}]\n` +
    `              [--max-len 512] [--held-out 0.1] [--matrices ${D.matrices.join(',')}] [--seed 0] [--chat-template FILE]\n` +
    '              [--merged MODEL.gguf] [--checkpoint FILE]\n\n' +
    '  EXAMPLES: one example per line, Alpaca\'s {"instruction", "input", "output"} or a chat {"messages": [{role,\n' +
    '  content}, …]}. Each is rendered with the model\'s chat template (or --chat-template FILE, a Jinja template; Alpaca\'s\n' +
    '  prompt when there is none) and the\n' +
    '  loss is computed on the assistant\'s tokens only (the Alpaca and Vicuna recipes). --held-out: the share of\n' +
    '  examples kept out of training to measure the loss on (seeded). Examples longer than --max-len tokens are cut.\n' +
    '  Trains a LoRA adapter (rank, alpha, every matrix named in --matrices in every layer) with AdamW, gradients\n' +
    '  accumulated over --batch examples, clipped to norm 1, the learning rate warmed up over --warmup steps then\n' +
    '  decayed (cosine) to a tenth. Runs on the CPU reference (TypeScript) in this process: fine for models of a\n' +
    '  few million parameters; WebGPU training is not there yet. Progress (loss, held-out loss per epoch,\n' +
    '  tokens/s, ETA) on stderr; Ctrl-C stops after the current step and still writes the adapter. Prints JSON:\n' +
    '  out, examples, held-out loss before and after each epoch, steps, seconds, tokens/s. Load the adapter with\n' +
    '  `cria generate --lora ADAPTER.gguf`, llama.cpp\'s --lora, or the API\'s loadAdapter. --merged MODEL.gguf also writes\n' +
    '  the base model with the adapter merged into its weights (quantized matrices are quantized again: one more rounding).\n' +
    '  --checkpoint FILE: training state written there every 5 steps and at each epoch\'s end; the same command\n' +
    '  (same model, examples and settings) run again goes on from it; deleted when training ends.',
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    rank: { type: 'string' },
    alpha: { type: 'string' },
    lr: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    warmup: { type: 'string' },
    'max-len': { type: 'string' },
    'held-out': { type: 'string' },
    matrices: { type: 'string' },
    seed: { type: 'string' },
    'chat-template': { type: 'string' },
    merged: { type: 'string' },
    checkpoint: { type: 'string' },
  },
  async run(values) {
    const str = (k: string) => values[k] as string | undefined;
    const dataPath = str('data');
    const out = str('out');
    if (!str('model')) throw new CriaError('bad-argument', 'no model given: pass --model BASE.gguf');
    if (!dataPath) throw new CriaError('bad-argument', 'no examples given: pass --data EXAMPLES.jsonl');
    if (!out) throw new CriaError('bad-argument', 'no output given: pass --out ADAPTER.gguf');
    const positive = (k: string, fallback: number, integer = true) => {
      const v = numberOption(values, k, fallback, { integer });
      if (!(v > 0)) throw new CriaError('bad-argument', `--${k} must be above 0, got ${v}`);
      return v;
    };
    const config = {
      rank: positive('rank', D.rank),
      alpha: positive('alpha', D.alpha, false),
      lr: positive('lr', D.lr, false),
      batchSize: positive('batch', D.batchSize),
      warmup: numberOption(values, 'warmup', D.warmup, { integer: true }),
      seed: numberOption(values, 'seed', 0, { integer: true }),
      matrices: str('matrices') ? str('matrices')!.split(',').map((s) => s.trim()).filter(Boolean) : D.matrices,
    };
    const epochs = positive('epochs', 3);
    const maxLen = positive('max-len', 512);
    const heldOutShare = numberOption(values, 'held-out', 0.1);

    let text: string;
    try {
      text = await readFile(dataPath, 'utf8');
    } catch (e) {
      throw new CriaError('bad-argument', `cannot read --data ${dataPath}: ${(e as Error).message}`);
    }
    parseTrainingJsonl(text, basename(dataPath)); // bad data is refused before the model is read
    let template: string | undefined;
    if (str('chat-template') !== undefined) {
      try {
        template = await readFile(str('chat-template')!, 'utf8');
      } catch (e) {
        throw new CriaError('bad-argument', `cannot read --chat-template ${str('chat-template')}: ${(e as Error).message}`);
      }
    }
    try {
      await writeFile(out, new Uint8Array());
    } catch (e) {
      throw new CriaError('bad-argument', `cannot write --out ${out}: ${(e as Error).message}`);
    }

    const log = (s: string) => process.stderr.write(`${s}\n`);
    const checkpointFile = str('checkpoint');
    const file = await readGguf(await openSource(str('model')));
    const stop = stopOnCtrlC('finetune', log);
    let r;
    try {
      r = await finetune(
        file,
        text,
        { ...config, batch_size: config.batchSize, epochs, max_len: maxLen, held_out: heldOutShare, ...(template !== undefined ? { chat_template: template } : {}), name: basename(out).replace(/\.gguf$/i, '') },
        {
          signal: stop.signal,
          ...(checkpointFile !== undefined ? { checkpoints: await fileCheckpoints(checkpointFile, await checkpointKey(String(str('model')), text, { ...config, epochs, maxLen, heldOutShare, template }), (m) => log(`finetune: ${m}`)) } : {}),
          yieldEvery: () => new Promise((ok) => setImmediate(ok)),
          onPrepared: (p) => {
            const how = p.prompt === 'template given' ? 'the chat template given' : p.prompt === 'model template' ? "the model's chat template" : "Alpaca's prompt: the model has no chat template";
            log(`finetune: ${p.examples} examples (${p.format === 'alpaca' ? 'Alpaca' : 'chat'}; ${how}): ${p.train} to train on, ${p.held_out} held out; ${p.train_tokens} tokens, ${p.learned_tokens} of them learned${p.truncated ? `; ${p.truncated} cut at ${p.n_ctx} tokens` : ''}`);
            if (p.resumed_from_step) log(`finetune: going on from the checkpoint at step ${p.resumed_from_step}`);
            log(`finetune: LoRA rank ${config.rank}, alpha ${config.alpha} on ${config.matrices.join(', ')}: ${p.trainable} values to train; lr ${config.lr}, batch ${config.batchSize}, ${epochs} epochs, ${p.steps} steps`);
          },
          onProgress: (p) => logStep(p, log),
        },
        basename(dataPath),
      );
    } finally {
      stop.done();
    }
    await writeFile(out, r.adapter);
    log(`finetune: wrote ${out}${r.stopped_early ? ` (stopped early${checkpointFile !== undefined ? `; the same command goes on from ${checkpointFile}` : ''})` : ''}`);
    if (r.stopped_early) process.exitCode = 130;
    const merged = str('merged');
    if (merged !== undefined) {
      const adapter = readLoraAdapter(await readGguf(bytesSource(r.adapter)), { arch: String(file.metadata.get('general.architecture')?.value), tensors: file.tensorsByName });
      await writeFile(merged, concatBytes(await mergeLora(file, adapter)));
      log(`finetune: wrote ${merged} (the model with the adapter merged into its weights${[...adapter.pairs.keys()].some((n) => file.tensorsByName.get(n)?.type.name !== 'F32') ? '; quantized matrices were quantized again' : ''})`);
    }
    writeJson({
      out,
      examples: { train: r.prepared.train, held_out: r.prepared.held_out, truncated: r.prepared.truncated },
      held_out_loss: r.held_out_loss,
      train_loss_last: r.train_loss[r.train_loss.length - 1] ?? null,
      steps: r.steps,
      epochs,
      stopped_early: r.stopped_early,
      seconds: r.seconds,
      tokens_per_s: r.tokens_per_s,
      trainable: r.prepared.trainable,
      rank: r.rank,
      alpha: r.alpha,
    });
  },
};

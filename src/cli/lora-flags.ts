/**
 * `--lora FILE[:SCALE]` (repeatable) for the commands that run a model: each adapter (a local GGUF
 * LoRA file or an http(s) URL) is made ready after the model loads and applied to every request at
 * its scale (default 1), as llama.cpp's `--lora` / `--lora-scaled` do.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CriaError } from '../shared/errors.ts';
import type { LoraRef } from '../protocol/api.ts';
import type { CliEngine } from './engine.ts';

export const LORA_OPTION = { lora: { type: 'string', multiple: true } } as const;

export const LORA_USAGE = '  --lora FILE[:SCALE]: a LoRA adapter (llama.cpp\'s GGUF format, e.g. from `cria finetune`) applied at SCALE (default 1); repeat for several.';

interface LoraArg {
  where: { path: string } | { url: string };
  scale: number;
}

/** The --lora arguments, checked (files exist, scales are numbers) before anything is loaded. */
export async function parseLoraFlags(v: unknown): Promise<LoraArg[]> {
  if (v === undefined) return [];
  const list = (Array.isArray(v) ? v : [v]) as string[];
  const out: LoraArg[] = [];
  for (const arg of list) {
    const m = /^(.*?)(?::(-?[\d.]+(?:e-?\d+)?))?$/i.exec(arg)!;
    const target = m[1]!;
    const scale = m[2] === undefined ? 1 : Number(m[2]);
    if (!target || !Number.isFinite(scale)) throw new CriaError('bad-argument', `--lora takes FILE or FILE:SCALE (a number), got "${arg}"`);
    if (/^https?:\/\//i.test(target)) {
      out.push({ where: { url: target }, scale });
      continue;
    }
    const path = resolve(target);
    const st = await stat(path).catch((e: Error) => {
      throw new CriaError('bad-argument', `cannot open --lora ${target}: ${e.message}`);
    });
    if (!st.isFile()) throw new CriaError('bad-argument', `--lora ${target} is not a file`);
    out.push({ where: { path }, scale });
  }
  return out;
}

/** Loads the adapters into the engine (after the model): the `lora` of every request. */
export async function loadLoraFlags(engine: CliEngine, args: readonly LoraArg[]): Promise<LoraRef[] | undefined> {
  if (args.length === 0) return undefined;
  const refs: LoraRef[] = [];
  for (const [i, a] of args.entries()) {
    const info = await engine.loadAdapter(a.where, `lora${i + 1}`);
    process.stderr.write(`cria: adapter ${'path' in a.where ? a.where.path : a.where.url}: ${info.matrices} matrices, rank ${info.ranks.join('/')}, alpha ${info.alpha}, scale ${a.scale}\n`);
    refs.push({ id: info.id, scale: a.scale });
  }
  return refs;
}

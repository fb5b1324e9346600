import { readFile } from 'node:fs/promises';
import { CriaError } from '../../shared/errors.ts';
import { createTokenizer } from '../../tokenizer/index.ts';
import type { Command } from '../command.ts';
import { openModelFile, writeJson } from '../model-source.ts';

export async function textArgument(values: Record<string, unknown>, name = 'text'): Promise<string> {
  const text = values[name];
  const file = values[`${name}-file`];
  if (typeof text === 'string' && typeof file === 'string') throw new CriaError('bad-argument', `give either --${name} or --${name}-file, not both`);
  if (typeof text === 'string') return text;
  if (typeof file === 'string') {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw new CriaError('bad-argument', `cannot read --${name}-file ${file}: ${(e as Error).message}`);
    }
  }
  throw new CriaError('bad-argument', `no text given: pass --${name} TEXT or --${name}-file PATH`);
}

export const tokenizeCommand: Command = {
  summary: "turn text into the model's token ids",
  usage: 'cria tokenize --model MODEL (--text T | --text-file PATH) [--no-bos] [--parse-special]\n\n' +
    '  BOS/EOS are added as the model metadata says unless --no-bos. Text that looks like a special\n' +
    '  token (e.g. "<s>") is plain text unless --parse-special.',
  options: {
    model: { type: 'string' },
    text: { type: 'string' },
    'text-file': { type: 'string' },
    'no-bos': { type: 'boolean' },
    'parse-special': { type: 'boolean' },
  },
  async run(values) {
    // the model first: a wrong MODEL is reported before waiting on --text-file (which may be a pipe)
    const file = await openModelFile(values.model as string | undefined);
    const text = await textArgument(values);
    const tok = createTokenizer(file.metadata);
    const ids = tok.encode(text, { addSpecial: !values['no-bos'], parseSpecial: !!values['parse-special'] });
    writeJson({ ids });
  },
};

import type { Command } from '../command.ts';
import { summarize } from '../../model/inspect.ts';
import { openModelFile, writeJson } from '../model-source.ts';

export const inspectCommand: Command = {
  summary: 'describe a GGUF model (architecture, size, tensor types, tokenizer) as JSON',
  usage: 'cria inspect MODEL',
  options: {},
  positionals: true,
  async run(_values, positionals) {
    const file = await openModelFile(positionals[0]);
    writeJson(summarize(file));
  },
};

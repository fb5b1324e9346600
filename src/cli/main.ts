/**
 * `cria`: inspect, tokenize, generate, score and evaluate GGUF models from the
 * command line. JSON output field names are a stable interface for scripts.
 */
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import { isCriaError } from '../shared/errors.ts';
import { inspectCommand } from './commands/inspect.ts';
import { tokenizeCommand } from './commands/tokenize.ts';
import { generateCommand } from './commands/generate.ts';
import { chatCommand } from './commands/chat.ts';
import { scoreCommand } from './commands/score.ts';
import { makeBenchModelCommand } from './commands/make-bench-model.ts';
import { serveCommand } from './commands/serve.ts';
import { benchCommand } from './commands/bench.ts';
import { evalCommand } from './commands/eval.ts';
import { exportCommand } from './commands/export.ts';
import { finetuneCommand } from './commands/finetune.ts';
import { trainCommand } from './commands/train.ts';


const commands: Record<string, Command> = {
  inspect: inspectCommand,
  tokenize: tokenizeCommand,
  generate: generateCommand,
  chat: chatCommand,
  score: scoreCommand,
  eval: evalCommand,
  'make-bench-model': makeBenchModelCommand,
  serve: serveCommand,
  bench: benchCommand,
  export: exportCommand,
  finetune: finetuneCommand,
  train: trainCommand,
};

function help(): string {
  const lines = ['cria: small language models on your own device', '', 'Usage: cria <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `cria <command> --help` for the options of one command.', 'MODEL is a path to a .gguf file or an http(s) URL (read with Range requests).');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`cria: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.summary}\n\nUsage: ${cmd.usage}\n`);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: cmd.positionals ?? false, strict: true });
  } catch (e) {
    process.stderr.write(`cria ${name}: ${(e as Error).message}\n\nUsage: ${cmd.usage}\n`);
    return 2;
  }
  await cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isCriaError(e)) {
      process.stderr.write(`cria: error [${e.code}]: ${e.message}\n`);
      process.exitCode = e.code === 'bad-argument' ? 2 : e.code === 'aborted' ? 130 : 1;
    } else {
      process.stderr.write(`cria: unexpected error: ${(e as Error)?.stack ?? e}\n`);
      process.exitCode = 70;
    }
  },
);


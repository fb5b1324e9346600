import type { ParseArgsConfig } from 'node:util';

/** One `cria` subcommand: its options (node:util parseArgs) and what it does. */
export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  positionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

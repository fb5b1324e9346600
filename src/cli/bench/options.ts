/** `cria bench` options, parsed and checked before anything starts. */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CriaError } from '../../shared/errors.ts';
import { numberOption } from '../model-source.ts';
import { DEFAULT_ENGINES, ENGINE_NAMES, ORT_ENGINES, type EngineName } from './figures.ts';
import type { BenchOptions } from './run.ts';

export const BENCH_DEFAULTS = { runs: 3, prompts: [128, 512], decode: 128 } as const;

function positiveInts(raw: string, name: string): number[] {
  const xs = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new CriaError('bad-argument', `--${name} must be whole numbers ≥ 1 separated by commas, got "${raw}"`);
  return xs;
}

export function parseBenchOptions(values: Record<string, string | boolean | undefined>, log: (s: string) => void): BenchOptions & { json?: string } {
  const model = values.model as string | undefined;
  if (!model) throw new CriaError('bad-argument', 'no model given: pass --model PATH_OR_URL');
  // `ort` stands for both of onnxruntime-web's execution providers
  const engines = ((values.peers as string | undefined) ?? DEFAULT_ENGINES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((e) => (e === 'ort' ? [...ORT_ENGINES] : [e]));
  for (const e of engines) {
    if (!(ENGINE_NAMES as readonly string[]).includes(e)) throw new CriaError('bad-argument', `--peers: "${e}" is not one of ${ENGINE_NAMES.join(', ')} (or ort: both ORT engines)`);
  }
  if (engines.length === 0) throw new CriaError('bad-argument', '--peers is empty');
  const webllmLib = values['webllm-lib'] as string | undefined;
  if (webllmLib !== undefined && !engines.includes('webllm')) throw new CriaError('bad-argument', '--webllm-lib is the webllm peer\'s model library: add webllm to --peers, or leave --webllm-lib out');
  if (webllmLib !== undefined && !existsSync(webllmLib)) throw new CriaError('bad-argument', `--webllm-lib: no file ${webllmLib}`);
  // Cria first, then the peers, each once
  const ordered = ENGINE_NAMES.filter((e) => engines.includes(e)) as EngineName[];
  const runs = numberOption(values, 'runs', BENCH_DEFAULTS.runs, { integer: true });
  if (runs < 1) throw new CriaError('bad-argument', '--runs must be at least 1');
  const loadRuns = numberOption(values, 'load-runs', runs, { integer: true });
  if (loadRuns < 1) throw new CriaError('bad-argument', '--load-runs must be at least 1');
  const prompts = values.prompt === undefined ? [...BENCH_DEFAULTS.prompts] : positiveInts(values.prompt as string, 'prompt');
  const decode = numberOption(values, 'decode', BENCH_DEFAULTS.decode, { integer: true });
  if (decode < 2) throw new CriaError('bad-argument', '--decode must be at least 2 (the decode speed is measured after the first token)');
  const threads = numberOption(values, 'threads', availableParallelism(), { integer: true });
  if (threads < 1) throw new CriaError('bad-argument', '--threads must be at least 1');
  return {
    model,
    engines: ordered,
    runs,
    loadRuns,
    prompts,
    decode,
    threads,
    cacheDir: values.cache as string | undefined,
    ...(webllmLib !== undefined ? { webllmLib } : {}),
    ...(values.schema ? { schema: true } : {}),
    json: values.json as string | undefined,
    log,
  };
}

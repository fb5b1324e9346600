/** Building a model on the engine the user chose (`--engine`). */
import { CriaError } from '../shared/errors.ts';
import type { GgufFile } from '../formats/gguf.ts';
import { Model, type LoadProgress } from '../model/model.ts';
import { CpuBackend } from '../reference/backend.ts';

export const ENGINES = ['cpu', 'webgpu'] as const;
export type EngineName = (typeof ENGINES)[number];

export function parseEngine(v: string | boolean | undefined): EngineName {
  const name = typeof v === 'string' ? v : 'cpu';
  if (!(ENGINES as readonly string[]).includes(name)) throw new CriaError('bad-argument', `--engine must be one of ${ENGINES.join(', ')}, got "${name}"`);
  return name as EngineName;
}

export async function loadModel(file: GgufFile, engine: EngineName, onProgress?: (p: LoadProgress) => void): Promise<Model> {
  if (engine === 'webgpu') {
    throw new CriaError('not-implemented', 'the WebGPU engine is not available from the command line yet; use --engine cpu (the CPU reference engine)');
  }
  return Model.load(file, new CpuBackend(), { onProgress });
}

/** Progress on stderr when it is a terminal (never mixed into stdout's JSON). */
export function stderrProgress(label: string): ((p: LoadProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 100 && p.loadedBytes < p.totalBytes) return;
    last = now;
    const pct = p.totalBytes ? ((100 * p.loadedBytes) / p.totalBytes).toFixed(0) : '100';
    process.stderr.write(`\r${label}: ${pct}% (${(p.loadedBytes / 1048576).toFixed(1)} / ${(p.totalBytes / 1048576).toFixed(1)} MiB)`);
    if (p.loadedBytes >= p.totalBytes) process.stderr.write('\n');
  };
}

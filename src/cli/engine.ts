/**
 * The engines the CLI can run a model on (`--engine`): `webgpu` (the default)
 * is the product's engine in its Web Worker, in headless Chromium
 * (browser-engine.ts); `cpu` is the CPU reference in this process.
 */
import { CriaError } from '../shared/errors.ts';
import type { GgufFile } from '../formats/gguf.ts';
import { Model, type LoadProgress } from '../model/model.ts';
import type { DeviceInfo, LoadProgress as EngineLoadProgress } from '../protocol/api.ts';
import { CpuBackend } from '../reference/backend.ts';

export const ENGINES = ['webgpu', 'cpu'] as const;
export type EngineName = (typeof ENGINES)[number];

export function parseEngine(v: string | boolean | undefined): EngineName {
  const name = typeof v === 'string' ? v : 'webgpu';
  if (!(ENGINES as readonly string[]).includes(name)) throw new CriaError('bad-argument', `--engine must be one of ${ENGINES.join(', ')}, got "${name}"`);
  return name as EngineName;
}

/** The CPU reference model (the webgpu engine loads its own, in the browser). */
export async function loadModel(file: GgufFile, onProgress?: (p: LoadProgress) => void): Promise<Model> {
  return Model.load(file, new CpuBackend(), { onProgress });
}

/** A short name for the adapter, e.g. "google swiftshader (fallback adapter)". */
export function deviceName(d: DeviceInfo): string {
  const name = [d.vendor, d.architecture, d.device, d.description].filter(Boolean).join(' ') || 'unknown adapter';
  return d.isFallbackAdapter ? `${name} (fallback adapter)` : name;
}

/** Progress on stderr when it is a terminal (never mixed into stdout's JSON). */
export function stderrProgress(label: string): ((p: { loadedBytes: number; totalBytes: number }) => void) | undefined {
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

/** The engine's load progress on stderr when it is a terminal: bytes uploaded, then the shader compilation. */
export function stderrEngineProgress(label: string): ((p: EngineLoadProgress) => void) | undefined {
  const bytes = stderrProgress(label);
  if (!bytes) return undefined;
  return (p) => {
    if (p.phase === 'upload') bytes(p);
    else if (p.phase === 'compile') process.stderr.write(`${label}: compiling shaders…\n`);
  };
}

/** Loading fixture models onto the CPU reference backend, for tests. */
import { readFileSync } from 'node:fs';
import { readGguf, type GgufFile } from '../../../src/formats/gguf.ts';
import { bytesSource } from '../../../src/formats/source.ts';
import { Model } from '../../../src/model/model.ts';
import { CpuBackend, type CpuBackendOptions } from '../../../src/reference/backend.ts';
import { fixturePath } from './fixtures.ts';

/** Read a fixture GGUF fully into memory (they are a few MB) and parse it. */
export async function fixtureGguf(rel: string): Promise<GgufFile> {
  return readGguf(bytesSource(new Uint8Array(readFileSync(fixturePath(rel))), rel));
}

export async function loadCpuModel(rel: string, opts?: CpuBackendOptions) {
  return Model.load(await fixtureGguf(rel), new CpuBackend(opts));
}

export function readF32(rel: string): Float32Array {
  const b = readFileSync(fixturePath(rel));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readJson<T = any>(rel: string): T {
  return JSON.parse(readFileSync(fixturePath(rel), 'utf8')) as T;
}

/** Max |a − b| and where it happens. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let max = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  return { max, at };
}

/** Architecture registry: `general.architecture` → straight-line forward. */
import { CriaError } from '../../shared/errors.ts';
import { gemma } from './gemma.ts';
import { gemma2 } from './gemma2.ts';
import { llama } from './llama.ts';
import { phi3 } from './phi3.ts';
import { qwen2 } from './qwen2.ts';
import { qwen3 } from './qwen3.ts';
import type { Architecture } from './types.ts';

export const ARCHITECTURES: readonly Architecture[] = [llama, qwen2, qwen3, phi3, gemma, gemma2];

export const SUPPORTED_ARCHS: readonly string[] = ARCHITECTURES.flatMap((a) => a.names);

export function findArchitecture(name: string): Architecture {
  const a = ARCHITECTURES.find((x) => x.names.includes(name));
  if (!a) {
    throw new CriaError('unsupported-arch', `model architecture "${name}" is not supported; Cria runs: ${SUPPORTED_ARCHS.join(', ')}`, { arch: name });
  }
  return a;
}

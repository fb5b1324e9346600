/**
 * Where the shared test fixtures live (outside the repo; never copy them in).
 * `fixturePath('quant/q4_0.gguf')` → absolute path for fs / fileSource.
 */
import { fileURLToPath } from 'node:url';

export const fixturesDir: string = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));

export function fixturePath(rel: string): string {
  return fixturesDir + rel.replace(/^\/+/, '');
}

/** Versions of installed packages (a package's `exports` may hide its package.json from `require`). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The installed version of `name`, or undefined when it cannot be resolved. */
export function packageVersion(name: string): string | undefined {
  const require = createRequire(import.meta.url);
  for (const paths of require.resolve.paths(name) ?? []) {
    try {
      const pkg = JSON.parse(readFileSync(join(paths, name, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return pkg.version;
    } catch {
      // not in this node_modules
    }
  }
  return undefined;
}

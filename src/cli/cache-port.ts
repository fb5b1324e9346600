/**
 * The port of the page server when the CLI keeps a browser profile (`--cache DIR`): IndexedDB
 * belongs to an origin, so the origin, and with it the port, must stay the same across runs.
 *
 * The port is chosen once per folder and written into it (`cria-port`, `cria-bench-port`); later
 * runs read it back. New folders get a port derived from their path in 20000–31999: below the
 * ephemeral ranges operating systems hand out for outgoing connections (Linux 32768–60999, Windows
 * and macOS 49152–65535), where any connection of any program could be holding it by chance (this
 * happened: a test's folder hashed into 32768+ and found its port taken). The engine and the bench
 * get separate halves, so their origins never meet. A folder used before the port was recorded
 * (not empty, no port file) keeps the port the earlier formula gave it, because its cached models
 * live at that origin.
 *
 * The folder is checked first (checkCacheDir): a file, a FIFO, a path under a file or a read-only
 * folder cannot hold a profile, and Chromium's own failure would only say that it did not start
 * (or that the profile is "in use").
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CriaError } from '../shared/errors.ts';
import { fileKind } from '../formats/source-node.ts';

export type CachePortUser = 'engine' | 'bench';

const FILE: Record<CachePortUser, string> = { engine: 'cria-port', bench: 'cria-bench-port' };
/** [first port, count] of each user's range */
const RANGE: Record<CachePortUser, [number, number]> = { engine: [20000, 6000], bench: [26000, 6000] };
/** the formula before the port was recorded (engine 20000–39999, bench 40000–59999) */
const LEGACY: Record<CachePortUser, [number, number]> = { engine: [20000, 20000], bench: [40000, 20000] };

function pathHash(dir: string): number {
  let h = 2166136261;
  for (const c of resolve(dir)) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return h;
}

const inRange = (port: number, [first, count]: [number, number]) => Number.isInteger(port) && port >= first && port < first + count;

const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);
const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? '';
const readOnly = (code: string) => (code === 'EROFS' ? 'read-only (EROFS: a read-only file system)' : `read-only for this user (${code})`);

/**
 * Make sure `dir` (a `--cache` folder) can hold a browser profile: create it if missing, and throw a
 * `bad-argument` CriaError that says what is wrong (not a folder, under a file, read-only) otherwise.
 */
export function checkCacheDir(dir: string): void {
  const use = 'Chromium keeps the browser profile there and writes to it on every run';
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    if (codeOf(e) === 'ENOTDIR') throw underAFile(dir);
    if (codeOf(e) !== 'ENOENT') throw new CriaError('bad-argument', `--cache ${dir}: ${(e as Error).message}`, { cacheDir: dir });
  }
  if (!st) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      if (codeOf(e) === 'ENOTDIR') throw underAFile(dir);
      // Node's recursive mkdir reports ENOENT, not EROFS, on a read-only file system: ask the parent
      const parent = nearestExisting(dir);
      const denied = [codeOf(e), accessError(parent)].find((c) => READ_ONLY.has(c));
      const why = denied ? `${parent} is ${readOnly(denied)}` : (e as Error).message;
      throw new CriaError('bad-argument', `--cache ${dir} cannot be created: ${why}. ${use}: give a folder you can write to.`, { cacheDir: dir, code: denied ?? codeOf(e) });
    }
    return;
  }
  if (!st.isDirectory()) {
    throw new CriaError('bad-argument', `--cache ${dir} is ${fileKind(st)}, not a folder: ${use}. Give the path of a folder (it is created if missing).`, { cacheDir: dir });
  }
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    const why = READ_ONLY.has(codeOf(e)) ? `is ${readOnly(codeOf(e))}` : `cannot be used: ${(e as Error).message}`;
    throw new CriaError('bad-argument', `--cache ${dir} ${why}: ${use}; give a folder you can write to.`, { cacheDir: dir, code: codeOf(e) });
  }
}

/** The error code of a write access check on `path` ('' when writable). */
function accessError(path: string): string {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return '';
  } catch (e) {
    return codeOf(e);
  }
}

/** The closest ancestor of `path` that exists. */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/** `dir` cannot exist because one of its ancestors is not a folder: name that one. */
function underAFile(dir: string): CriaError {
  const culprit = nearestExisting(dir);
  let kind = 'not a folder';
  try {
    kind = fileKind(statSync(culprit));
  } catch {
    // gone meanwhile: the generic words do
  }
  return new CriaError('bad-argument', `--cache ${dir}: ${culprit} is ${kind}, not a folder, so the folder cannot be created there. Give the path of a folder (it is created if missing).`, { cacheDir: dir });
}

/**
 * The folder's port (read, or chosen and recorded). Call it before a browser creates the profile in
 * `dir`. Throws a `bad-argument` CriaError when `dir` cannot hold a profile (checkCacheDir).
 */
export function cachePort(dir: string, user: CachePortUser): number {
  checkCacheDir(dir);
  const file = join(dir, FILE[user]);
  if (existsSync(file)) {
    let recorded = NaN;
    try {
      recorded = Number(readFileSync(file, 'utf8').trim());
    } catch {
      // unreadable (e.g. a folder by that name): not trusted, like a damaged one; writing it says why
    }
    if (inRange(recorded, RANGE[user]) || inRange(recorded, LEGACY[user])) return recorded;
  }
  const used = existsSync(dir) && readdirSync(dir).some((f) => !Object.values(FILE).includes(f));
  const [first, count] = used ? LEGACY[user] : RANGE[user];
  const port = first + (pathHash(dir) % count);
  try {
    writeFileSync(file, `${port}\n`);
  } catch (e) {
    // checked writable above: a full disk, or a folder changed meanwhile
    throw new CriaError('bad-argument', `--cache ${dir}: cannot record the port of its browser profile in ${file}: ${(e as Error).message}`, { cacheDir: dir });
  }
  return port;
}

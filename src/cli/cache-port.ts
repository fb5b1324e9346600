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
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

/** The folder's port (read, or chosen and recorded). Call it before a browser creates the profile in `dir`. */
export function cachePort(dir: string, user: CachePortUser): number {
  const file = join(dir, FILE[user]);
  if (existsSync(file)) {
    const recorded = Number(readFileSync(file, 'utf8').trim());
    if (inRange(recorded, RANGE[user]) || inRange(recorded, LEGACY[user])) return recorded;
  }
  const used = existsSync(dir) && readdirSync(dir).some((f) => !Object.values(FILE).includes(f));
  const [first, count] = used ? LEGACY[user] : RANGE[user];
  const port = first + (pathHash(dir) % count);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${port}\n`);
  } catch {
    // a read-only folder: the port is still the same next time (same path, same contents)
  }
  return port;
}

/**
 * The CLI's edges (issue 12, item 8), each against the real thing, with `cria` run as a process:
 * - a FIFO (mkfifo) or a directory as MODEL: a clear `bad-argument`, never a hang or a stack trace;
 * - `--cache` that cannot hold a browser profile (a file, a FIFO, a path under a file, a
 *   read-only folder): a `bad-argument` that says so, before Chromium starts; never exit 70, never
 *   "in use by another Chromium" or "set CHROME_PATH";
 * - an engine error names the user's model path, not the CLI's internal /__cria/model/ URL;
 * - the CLI's local server answers only its own engine page: a foreign Origin (or Host) gets 403
 *   and never `Access-Control-Allow-Origin: *`.
 *
 * Read-only folders: as root (CI, containers) chmod does not stop writes, so the folder is made
 * read-only for real with a read-only mount in a private mount namespace of the cria process
 * (`unshare --mount`), which vanishes with it. Not root: chmod 0555 does the job. When neither is
 * possible the case is skipped with a warning that says why.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cachePort } from '../../src/cli/cache-port.ts';
import { fixturePath } from './helpers/fixtures.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cria-edges-'));
/** folders made read-only with chmod (not root), given their mode back before the clean-up */
const chmodded: string[] = [];
afterAll(() => {
  for (const d of chmodded) chmodSync(d, 0o755);
  rmSync(tmp, { recursive: true, force: true });
});

const model = fixturePath('models/stories260K/stories260K-f32.gguf');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** killed after `hangAfterMs`: it hung */
  hung: boolean;
}

/**
 * Run `cria ARGS` (optionally behind `wrap`, e.g. unshare). A run still going after `hangAfterMs`
 * is killed and reported as hung: that bound only turns a hang into a failure, nothing is timed.
 */
function cria(args: string[], o: { wrap?: string[]; hangAfterMs?: number } = {}): Promise<Run> & { kill(): void } {
  const argv = [...(o.wrap ?? []), process.execPath, join(root, 'bin/cria.js'), ...args];
  const proc = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let hung = false;
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    hung = true;
    proc.kill('SIGKILL');
  }, o.hangAfterMs ?? 60_000);
  const done = new Promise<Run>((ok) =>
    proc.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr, hung });
    }),
  );
  return Object.assign(done, { kill: () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGTERM') });
}

function expectUsageError(r: Run, message: RegExp): void {
  expect(r.hung, 'cria hung (killed)').toBe(false);
  expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /); // no stack trace
  expect(r.stderr).toMatch(/^cria: error \[bad-argument\]: /);
  expect(r.stderr).toMatch(message);
  expect(r.code, r.stderr).toBe(2);
}

describe('a FIFO or a directory as MODEL', () => {
  const fifo = join(tmp, 'model.fifo');
  spawnSync('mkfifo', [fifo]);

  it('cria inspect FIFO: a clear error at once, no hang', async () => {
    expect(existsSync(fifo)).toBe(true);
    expectUsageError(await cria(['inspect', fifo], { hangAfterMs: 20_000 }), /model\.fifo is a FIFO \(named pipe\), not a regular file/);
  });

  it('cria tokenize --model FIFO: a clear error at once, no hang', async () => {
    expectUsageError(await cria(['tokenize', '--model', fifo, '--text', 'hi'], { hangAfterMs: 20_000 }), /is a FIFO \(named pipe\), not a regular file/);
  });

  it('cria generate --engine cpu --model FIFO and the webgpu engine (before Chromium starts) say the same', async () => {
    expectUsageError(await cria(['generate', '--engine', 'cpu', '--model', fifo, '--prompt', 'x'], { hangAfterMs: 20_000 }), /is a FIFO \(named pipe\), not a regular file/);
    expectUsageError(await cria(['generate', '--model', fifo, '--prompt', 'x'], { hangAfterMs: 20_000 }), /is a FIFO \(named pipe\), not a regular file/);
  });

  it('cria inspect DIR: "is a directory", not a stack trace (exit 70)', async () => {
    expectUsageError(await cria(['inspect', tmp]), /is a directory, not a regular file/);
    expectUsageError(await cria(['tokenize', '--model', tmp, '--text', 'hi']), /is a directory, not a regular file/);
  });
});

/** `cria generate` on the webgpu engine with `--cache DIR` (fails before Chromium once fixed). */
const generateWithCache = (dir: string, wrap?: string[]) => cria(['generate', '--model', model, '--prompt', 'hi', '--max-tokens', '1', '--cache', dir], { wrap });

describe('--cache that cannot hold a browser profile', () => {
  it('a file: says it is not a folder (was: a stack trace, exit 70)', async () => {
    const file = join(tmp, 'cache-file');
    writeFileSync(file, 'not a folder');
    expectUsageError(await generateWithCache(file), /--cache .*cache-file is a file, not a folder/);
  });

  it('a FIFO: says it is not a folder', async () => {
    const fifo = join(tmp, 'cache.fifo');
    spawnSync('mkfifo', [fifo]);
    expectUsageError(await generateWithCache(fifo), /--cache .*cache\.fifo is a FIFO \(named pipe\), not a folder/);
  });

  it('a path under a file: says which part is a file (was: "could not start chromium … set CHROME_PATH")', async () => {
    const file = join(tmp, 'plain-file');
    writeFileSync(file, 'x');
    const r = await generateWithCache(join(file, 'profile'));
    expectUsageError(r, /--cache .*plain-file\/profile: .*plain-file is a file, not a folder/);
    expect(r.stderr).not.toMatch(/CHROME_PATH|Chromium/);
  });

  /** How this machine can make a folder read-only for the cria process, or why it cannot. */
  const readOnly = ((): { wrap(dir: string, bindFrom?: string): string[] } | { skip: string } => {
    const uid = process.getuid?.();
    if (uid !== undefined && uid !== 0) {
      return {
        wrap: (dir, bindFrom) => {
          if (bindFrom) for (const f of ['cria-port']) if (existsSync(join(bindFrom, f))) copyFileSync(join(bindFrom, f), join(dir, f));
          chmodSync(dir, 0o555);
          chmodded.push(dir);
          return [];
        },
      };
    }
    const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']);
    if (probe.status !== 0) return { skip: `running as root, where chmod does not stop writes, and unshare --mount is not allowed here (${probe.stderr?.toString().trim() || probe.error?.message})` };
    return {
      // an empty read-only tmpfs, or a read-only bind of an existing folder, seen by the cria process only
      wrap: (dir, bindFrom) => [
        'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
        bindFrom ? 'mount --bind -o ro "$0" "$1" && shift 2 && exec "$@"' : 'mount -t tmpfs -o ro none "$1" && shift 2 && exec "$@"',
        bindFrom ?? 'unused', dir,
      ],
    };
  })();
  const roIt = 'skip' in readOnly ? it.skip : it;
  if ('skip' in readOnly) console.warn(`cli-edges: SKIPPING the read-only --cache cases: ${readOnly.skip}`);

  roIt('an empty read-only folder: says it is read-only (was: "in use by another Chromium")', async () => {
    if ('skip' in readOnly) return;
    const dir = join(tmp, 'ro-empty');
    mkdirSync(dir);
    const r = await generateWithCache(dir, readOnly.wrap(dir));
    expectUsageError(r, /--cache .*ro-empty is read-only .*give a folder you can write to/);
    expect(r.stderr).not.toMatch(/in use|CHROME_PATH/);
  });

  roIt('a profile folder used before, now read-only: says it is read-only (was: "in use by another Chromium")', async () => {
    if ('skip' in readOnly) return;
    const before = join(tmp, 'ro-profile-src');
    cachePort(before, 'engine'); // a folder a cria run has used: its port is recorded
    const dir = join(tmp, 'ro-profile');
    mkdirSync(dir);
    const r = await generateWithCache(dir, readOnly.wrap(dir, before));
    expectUsageError(r, /--cache .*ro-profile is read-only .*give a folder you can write to/);
    expect(r.stderr).not.toMatch(/in use|CHROME_PATH/);
  });

  roIt('a new folder inside a read-only one: says it cannot be created (was: "set CHROME_PATH")', async () => {
    if ('skip' in readOnly) return;
    const dir = join(tmp, 'ro-parent');
    mkdirSync(dir);
    const r = await generateWithCache(join(dir, 'profile'), readOnly.wrap(dir));
    expectUsageError(r, /--cache .*ro-parent\/profile cannot be created: .*read-only/);
    expect(r.stderr).not.toMatch(/in use|CHROME_PATH/);
  });
});

describe('the webgpu engine in headless Chromium', () => {
  it('an engine error names the model path the user gave, not the internal /__cria/model/ URL', async () => {
    const bad = join(tmp, 'truncated model.gguf');
    writeFileSync(bad, readFileSync(model).subarray(0, 5000));
    const r = await cria(['generate', '--model', bad, '--prompt', 'hi', '--max-tokens', '1'], { hangAfterMs: 170_000 });
    expect(r.stderr).toMatch(/^cria: error \[bad-file\]: /);
    expect(r.stderr).toContain(`${bad}: not a valid GGUF file`);
    expect(r.stderr).not.toMatch(/__cria|127\.0\.0\.1|%20/);
    expect(r.code).toBe(1);
  }, 180_000);

  it('its local server answers only the engine page: a foreign Origin or Host gets 403, never Access-Control-Allow-Origin: *', async () => {
    // The port is the one recorded in the --cache folder, known before the run. The run is held open
    // deterministically: --dump-logits writes to a FIFO that nobody reads until the requests are done
    // (opening a FIFO for writing waits for a reader), so the server is up the whole time.
    const cache = join(tmp, 'cors-profile');
    const port = cachePort(cache, 'engine');
    const origin = `http://127.0.0.1:${port}`;
    const fifo = join(tmp, 'logits.fifo');
    spawnSync('mkfifo', [fifo]);
    const run = cria(['generate', '--model', model, '--prompt', 'hi', '--max-tokens', '1', '--cache', cache, '--dump-logits', fifo, '--json'], { hangAfterMs: 170_000 });
    const route = `/__cria/model/${encodeURIComponent(basename(model))}`;

    try {
      await checkServer(port, origin, route, run, fifo);
    } finally {
      run.kill(); // a failed check leaves cria waiting on the FIFO: stop it (a run that ended is left alone)
    }
  }, 180_000);
});

/** The requests of the test above, against the server of `run`, which then finishes. */
async function checkServer(port: number, origin: string, route: string, run: Promise<Run>, fifo: string): Promise<void> {
  // wait for the server (connection refused until it listens; a run that ended early fails the test)
  let ended = false;
  void run.then(() => (ended = true));
  for (;;) {
    const r = await get(port, route, {}).catch(() => undefined);
    if (r) break;
    if (ended) throw new Error(`cria ended before its server answered: ${(await run).stderr}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }

  const foreign = await get(port, route, { Origin: 'http://evil.example', Range: 'bytes=0-3' });
  expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  expect(foreign.status).toBe(403);
  expect(foreign.body).not.toContain('GGUF');

  const otherLocal = await get(port, route, { Origin: 'http://127.0.0.1:1', Range: 'bytes=0-3' });
  expect(otherLocal.status, 'another local origin is foreign too').toBe(403);
  expect(otherLocal.headers['access-control-allow-origin']).toBeUndefined();

  const preflight = await get(port, route, { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'GET' }, 'OPTIONS');
  expect(preflight.status).toBe(403);
  expect(preflight.headers['access-control-allow-origin']).toBeUndefined();

  const page = await get(port, '/src/cli/browser/engine.html', { Origin: 'http://evil.example' });
  expect(page.status, 'the engine page and its modules too').toBe(403);
  expect(page.headers['access-control-allow-origin']).toBeUndefined();

  const embedded = await get(port, route, { 'Sec-Fetch-Site': 'cross-site', Range: 'bytes=0-3' });
  expect(embedded.status, 'a no-cors load by another site (<img>, <script>: no Origin, but Sec-Fetch-Site)').toBe(403);

  const rebound = await get(port, route, { Host: `evil.example:${port}`, Range: 'bytes=0-3' });
  expect(rebound.status, 'a DNS-rebound name for 127.0.0.1').toBe(403);

  const own = await get(port, route, { Origin: origin, Range: 'bytes=0-3' });
  expect(own.status).toBe(206);
  expect(own.body).toBe('GGUF');
  expect(own.headers['access-control-allow-origin']).toBe(origin);

  const noOrigin = await get(port, route, { Range: 'bytes=0-3' });
  expect(noOrigin.status, 'same-origin GETs carry no Origin').toBe(206);
  expect(noOrigin.headers['access-control-allow-origin']).not.toBe('*');

  // let the run finish: read the logits it is waiting to write
  const fh = await open(fifo, 'r');
  const logits = await fh.readFile();
  await fh.close();
  const r = await run;
  expect(r.code, r.stderr).toBe(0);
  expect(logits.byteLength).toBeGreaterThan(0);
}

function get(port: number, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

/**
 * `cria generate --model URL --cache DIR`: the model is downloaded into the
 * engine's IndexedDB cache inside a browser profile kept in DIR, so a second
 * run makes no request for it and gives the same output. Real processes, real
 * headless Chromium, a real HTTP server (test/server/model-server.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../server/model-server.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function cria(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer({ port: 0 });
});
afterAll(() => server.close());

describe('cria --cache DIR', () => {
  it('caches a URL model in the kept profile: the second run makes no request and gives the same tokens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cria-cache-'));
    const url = `${server.url}/models/models/stories260K/stories260K-f32.gguf`;
    const args = ['generate', '--model', url, '--prompt', 'Once upon a time', '--max-tokens', '12', '--cache', dir, '--json'];
    const first = await cria(args);
    expect(first.code, first.stderr).toBe(0);
    const served = server.log().requests.filter((r) => r.path.startsWith('/models/')).length;
    expect(served).toBeGreaterThan(0);
    server.reset();
    const second = await cria(args);
    expect(second.code, second.stderr).toBe(0);
    expect(server.log().requests, 'no request for the cached model').toEqual([]);
    expect(JSON.parse(second.stdout).tokens).toEqual(JSON.parse(first.stdout).tokens);
  }, 180_000);

  it('--cache does not apply to --engine cpu', async () => {
    const r = await cria(['generate', '--model', 'x.gguf', '--prompt', 'x', '--engine', 'cpu', '--cache', '/tmp/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cache .* does not apply to --engine cpu/);
  });
});

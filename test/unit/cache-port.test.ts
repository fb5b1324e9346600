/**
 * src/cli/cache-port.ts: the port a kept browser profile (`--cache DIR`) is served from, so that its
 * origin, and the IndexedDB that belongs to it, stay the same across runs.
 */
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachePort } from '../../src/cli/cache-port.ts';

const root = mkdtempSync(join(tmpdir(), 'cria-cache-port-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cachePort', () => {
  it('a new folder: a port below every OS ephemeral range, recorded in the folder, the same on every later run', () => {
    for (let i = 0; i < 200; i++) {
      const dir = join(root, `new-${i}`);
      const engine = cachePort(dir, 'engine');
      const bench = cachePort(dir, 'bench');
      expect(engine).toBeGreaterThanOrEqual(20000);
      expect(engine).toBeLessThan(26000);
      expect(bench).toBeGreaterThanOrEqual(26000);
      expect(bench, 'below Linux 32768–60999 and Windows/macOS 49152–65535').toBeLessThan(32768);
      expect(readFileSync(join(dir, 'cria-port'), 'utf8').trim()).toBe(String(engine));
      expect(cachePort(dir, 'engine')).toBe(engine);
      expect(cachePort(dir, 'bench')).toBe(bench);
    }
  });

  it('the recorded port wins, even once the folder holds a profile', () => {
    const dir = join(root, 'recorded');
    const p = cachePort(dir, 'engine');
    mkdirSync(join(dir, 'Default'));
    expect(cachePort(dir, 'engine')).toBe(p);
  });

  it('a folder used before ports were recorded keeps the port its cached models live at (the earlier formula)', () => {
    // the earlier formula: FNV-1a of the resolved path, engine 20000 + h % 20000, bench 40000 + h % 20000
    const fnv = (s: string) => {
      let h = 2166136261;
      for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
      return h;
    };
    const dir = join(root, 'legacy');
    mkdirSync(join(dir, 'Default'), { recursive: true });
    expect(cachePort(dir, 'engine')).toBe(20000 + (fnv(dir) % 20000));
    expect(cachePort(dir, 'bench')).toBe(40000 + (fnv(dir) % 20000));
    // and it is recorded from then on
    expect(readFileSync(join(dir, 'cria-bench-port'), 'utf8').trim()).toBe(String(40000 + (fnv(dir) % 20000)));
  });

  it('a damaged port file is not trusted', () => {
    const dir = join(root, 'damaged');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cria-port'), 'eighty\n');
    const p = cachePort(dir, 'engine');
    expect(p).toBeGreaterThanOrEqual(20000);
    expect(p).toBeLessThan(26000);
    expect(readFileSync(join(dir, 'cria-port'), 'utf8').trim()).toBe(String(p));
  });
});

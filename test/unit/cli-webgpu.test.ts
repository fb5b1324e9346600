/**
 * `cria generate` and `cria score` on their default engine, WebGPU: each run
 * is a real process that starts a Vite dev server on a free port, launches
 * the local Chromium headless (SwiftShader WebGPU, src/cli/chromium.ts) and
 * drives the engine's worker there. A run takes several seconds on a 2-core
 * machine, so the tests are few: golden greedy tokens, prompt logits and
 * scores against the CPU reference, streamed text, and errors that cross
 * the browser with their codes.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../../src/cli/chromium.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { maxAbsDiff, readJson } from './helpers/models.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cria-cli-webgpu-'));

function cria(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, maxBuffer: 64 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function criaJson(args: string[]): Promise<any> {
  const r = await cria(args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const f32 = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

const model = fixturePath('models/stories260K/stories260K-f32.gguf');
const golden = readJson('models/stories260K/expected_greedy.json');

describe('cria generate --engine webgpu (stories260K F32)', () => {
  it.each(golden.cases as any[])('greedy tokens equal expected_greedy.json for "$prompt"', async (c) => {
    const n = c.greedy_tokens.length - c.prompt_tokens.length;
    const out = await criaJson(['generate', '--model', model, '--prompt-tokens', c.prompt_tokens.join(','), '--max-tokens', String(n), '--engine', 'webgpu', '--ignore-eos', '--json']);
    expect(out.engine).toBe('webgpu');
    expect(out.prompt_tokens).toEqual(c.prompt_tokens);
    expect(out.tokens).toEqual(c.greedy_tokens.slice(c.prompt_tokens.length));
    expect(out.finish_reason).toBe('length');
    expect(out.timings.decode_tokens).toBe(n);
    expect(out.timings.prompt_tokens).toBe(c.prompt_tokens.length);
    for (const k of ['startup_ms', 'load_ms', 'prompt_ms', 'decode_ms', 'time_to_first_token_ms', 'prompt_tokens_per_s', 'decode_tokens_per_s']) expect(out.timings[k], k).toBeGreaterThan(0);
  });

  it('is the default engine; --prompt is tokenized in the engine and the text streams to stdout', async () => {
    const c = golden.cases.find((x: any) => x.prompt === 'Once upon a time');
    const n = c.greedy_tokens.length - c.prompt_tokens.length;
    const r = await cria(['generate', '--model', model, '--prompt', c.prompt, '--max-tokens', String(n), '--ignore-eos']);
    expect(r.code, r.stderr).toBe(0);
    expect(c.prompt + r.stdout).toBe(c.text + '\n');
    expect(r.stderr).toMatch(new RegExp(`^\\[webgpu: .+\\] prompt ${c.prompt_tokens.length} tok .* generated ${n} tok .*, length\\n$`));
  });

  it('--dump-logits writes the prompt logits, within 1e-4 of the CPU engine', async () => {
    const tf = golden.teacher_forced_logits;
    const gpuPath = join(tmp, 'webgpu.f32');
    const cpuPath = join(tmp, 'cpu.f32');
    const args = ['generate', '--model', model, '--prompt-tokens', tf.tokens.join(','), '--max-tokens', '4', '--json'];
    const gpu = await criaJson([...args, '--dump-logits', gpuPath, '--engine', 'webgpu']);
    const cpu = await criaJson([...args, '--dump-logits', cpuPath, '--engine', 'cpu']);
    expect(gpu.tokens).toEqual(cpu.tokens);
    const got = f32(gpuPath);
    expect(got.length).toBe(tf.tokens.length * 512);
    expect(maxAbsDiff(got, f32(cpuPath)).max).toBeLessThan(1e-4);
  });
});

describe('cria score --engine webgpu', () => {
  it('matches --engine cpu within 1e-4 per token', async () => {
    const args = ['score', '--model', model, '--text', 'Once upon a time, there was a little girl named Lily. She loved to play outside.', '--json'];
    const gpu = await criaJson([...args, '--engine', 'webgpu']);
    const cpu = await criaJson([...args, '--engine', 'cpu']);
    expect(gpu.tokens).toEqual(cpu.tokens);
    expect(gpu.count).toBe(cpu.tokens.length - 1);
    expect(gpu.logprobs).toHaveLength(gpu.count);
    expect(maxAbsDiff(Float32Array.from(gpu.logprobs), Float32Array.from(cpu.logprobs)).max).toBeLessThan(1e-4);
    expect(gpu.perplexity).toBeCloseTo(Math.exp(-gpu.sum / gpu.count), 10);
  });
});

describe('cria --engine webgpu errors', () => {
  it('a missing model file is a usage error, before any browser starts', async () => {
    const path = join(tmp, 'nope.gguf');
    const t0 = performance.now();
    for (const cmd of [['generate', '--prompt', 'x'], ['score', '--text', 'x y']]) {
      const r = await cria([cmd[0], '--model', path, ...cmd.slice(1)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^cria: error \[bad-argument\]: cannot open .*nope\.gguf: ENOENT/);
    }
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it("the engine's error codes cross the browser: an unsupported architecture is named", async () => {
    const r = await cria(['generate', '--model', fixturePath('quant/q8_0.gguf'), '--prompt-tokens', '1', '--engine', 'webgpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[unsupported-arch\].*"quanttest"/);
  });

  it.skipIf(process.platform === 'win32')('a browser without WebGPU gives webgpu-unavailable, saying what to do', async () => {
    // the same Chromium, minus the switches that turn WebGPU on
    const wrapper = join(tmp, 'chromium-without-webgpu');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nfor a in "$@"; do shift; case "$a" in --enable-unsafe-webgpu|--use-webgpu-adapter=*) ;; *) set -- "$@" "$a";; esac; done\nexec "${findChromium()}" "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const r = await cria(['generate', '--model', model, '--prompt', 'x', '--engine', 'webgpu'], { CHROME_PATH: wrapper });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cria: error \[webgpu-unavailable\]: /);
    expect(r.stderr).toContain('Point CHROME_PATH at another Chrome or Chromium, or use --engine cpu');
  });
});

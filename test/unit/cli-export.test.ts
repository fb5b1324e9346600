/**
 * `cria export onnx`, run as a real process: the files it writes (the Optimum layout, external data for
 * large tensors), the model they hold (loaded by onnxruntime-web from the written files, its logits
 * against Cria's CPU reference), and the errors a user sees (a non-empty folder, an unsupported
 * architecture, a wrong format). onnx-export.test.ts checks the numerics on every fixture.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, env } from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/engine/session.ts';
import { OnnxSequence } from '../../src/runtimes/onnx/sequence.ts';
import { startModelServer } from '../server/model-server.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { loadCpuModel, maxAbsDiff } from './helpers/models.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function cria(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const STORIES = 'models/stories260K/stories260K-f32.gguf';

describe('cria export onnx', () => {
  it('writes the Optimum layout, with the tensors of at least --external-data bytes in model.onnx_data, and onnxruntime runs what it wrote', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cria-export-'));
    const r = await cria(['export', 'onnx', fixturePath(STORIES), '--out', out, '--external-data', '65536']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report.files).sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'tokenizer.json', 'tokenizer_config.json']);
    for (const [path, bytes] of Object.entries(report.files)) expect(readFileSync(join(out, path)).byteLength, path).toBe(bytes);
    expect(report.weights['blk.0.attn_q.weight']).toBe('f32');
    expect(report.warnings).toEqual([]); // (a real vocabulary: every piece is reachable in tokenizer.json, onnx-tokenizer.test.ts)
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'llama', num_hidden_layers: 5, vocab_size: 512, bos_token_id: 1, eos_token_id: 2 });

    env.wasm.numThreads = 1;
    const session = await InferenceSession.create(join(out, 'onnx/model.onnx'), {
      executionProviders: ['wasm'],
      externalData: [{ path: 'model.onnx_data', data: readFileSync(join(out, 'onnx/model.onnx_data')) }],
    });
    const ort = new OnnxSequence(session, { nLayer: config.num_hidden_layers, nHeadKv: config.num_key_value_heads, headDim: config.head_dim, nVocab: config.vocab_size, nCtx: 64 });
    const ref = new Session(await loadCpuModel(STORIES), { nCtx: 64 });
    const prompt = [1, 400, 300, 200, 77];
    const a = await ref.appendAll(prompt);
    expect(maxAbsDiff(await ort.appendAll(prompt), a).max).toBeLessThanOrEqual(1e-4 * 20); // onnx-export.test.ts: 1e-4 · max |logit| (~17)
  });

  it('the exported folder is a MODEL for generate and score (--engine cpu): the same tokens and scores as the GGUF', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cria-export-'));
    expect((await cria(['export', 'onnx', fixturePath(STORIES), '--out', out])).code).toBe(0);
    const run = async (model: string, args: string[]) => {
      const r = await cria([...args, '--engine', 'cpu', '--threads', '1', '--model', model, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const gen = ['generate', '--prompt', 'Once upon a time', '--max-tokens', '24'];
    const [a, b] = [await run(fixturePath(STORIES), gen), await run(out, gen)];
    expect(b.tokens).toEqual(a.tokens);
    expect(b.text).toBe(a.text);
    const score = ['score', '--text', 'Once upon a time there was a little girl.'];
    const [sa, sb] = [await run(fixturePath(STORIES), score), await run(out, score)];
    expect(sb.tokens).toEqual(sa.tokens);
    sb.logprobs.forEach((l: number, i: number) => expect(Math.abs(l - sa.logprobs[i])).toBeLessThan(2e-3)); // onnx-runtime.test.ts
    // the browser engine (the default, --engine webgpu: onnxruntime-web's WebGPU EP in Cria's worker) serves the folder to its page
    const webgpu = await cria(['generate', '--model', out, '--prompt', 'Once upon a time', '--max-tokens', '24', '--json']);
    expect(webgpu.code, webgpu.stderr).toBe(0);
    const w = JSON.parse(webgpu.stdout);
    expect(w.tokens).toEqual(a.tokens);
    expect([a.runtime, w.runtime]).toEqual(['cria', 'onnx']);

    // a repository by URL (its base, ending in /): read over HTTP, on --engine cpu
    const server = await startModelServer({ port: 0, root: dirname(out) });
    try {
      const byUrl = await run(`${server.url}/models/${basename(out)}/`, gen);
      expect(byUrl.tokens).toEqual(a.tokens);
    } finally {
      await server.close();
    }
  });

  it('refuses a folder that is not empty, unless --force; nothing is overwritten', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cria-export-'));
    writeFileSync(join(out, 'config.json'), 'mine');
    const r = await cria(['export', 'onnx', fixturePath(STORIES), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not empty.*--force/);
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe('mine');
    expect(existsSync(join(out, 'onnx'))).toBe(false);
    const forced = await cria(['export', 'onnx', fixturePath(STORIES), '--out', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model_type).toBe('llama');
  });

  it('refuses an architecture it cannot write, and a format it does not know', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cria-export-'));
    const phi3 = await cria(['export', 'onnx', fixturePath('models/random/phi3-f32/phi3-f32.gguf'), '--out', out]);
    expect(phi3.code).toBe(1);
    expect(phi3.stderr).toMatch(/\[unsupported-arch\].*phi3.*supported: llama, qwen2/);
    const tflite = await cria(['export', 'tflite', fixturePath(STORIES), '--out', out]);
    expect(tflite.code).toBe(2);
    expect(tflite.stderr).toMatch(/format must be onnx/);
  });
});

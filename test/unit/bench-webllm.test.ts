/**
 * `cria bench --peers webllm` without a browser: the options (--webllm-lib, the engine's place), the
 * loud skip without a model library, the quantization taken from the library, the MLC export laid out
 * where WebLLM reads a model (base URL + resolve/main/) and served from the bench's export folder,
 * checked against the library's parameter list, and the table with WebLLM's column, Cria ÷ WebLLM
 * and a skipped WebLLM. The run in Chromium needs a real model library and is slow on SwiftShader
 * (~0.06 tok/s for a Qwen2-0.5B shape): it is not part of the suite (README, bench section).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planMlcExport } from '../../src/export/mlc.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { engineFigures, ratios, ratioTargets, type EngineRaw } from '../../src/cli/bench/figures.ts';
import { parseBenchOptions } from '../../src/cli/bench/options.ts';
import { formatTable, type BenchReport } from '../../src/cli/bench/report.ts';
import { serveFolder } from '../../src/cli/bench/serve-folder.ts';
import { exportForWebllm, WEBLLM_LIB_DIR, WEBLLM_MODEL_DIR, webllmNotes, webllmQuant, webllmSkipReason } from '../../src/cli/bench/webllm.ts';
import { syntheticModel } from '../../src/model/synthetic.ts';
import { mlcBaseUrl } from '../../src/runtimes/webllm/catalog.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cria-bench-webllm-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const log = () => {};

/** A model library's bytes as far as Cria reads them: somewhere in the file, a length-prefixed JSON of the model it was compiled for. */
function fakeLibrary(meta: Record<string, unknown>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const out = new Uint8Array(64 + 8 + json.length + 16);
  out.set([0x00, 0x61, 0x73, 0x6d]); // "\0asm"
  new DataView(out.buffer).setUint32(64, json.length, true);
  out.set(json, 72);
  return out;
}

/** A tiny qwen2 GGUF and a library whose parameter list is its q0f32 export's (what a library built for it would declare). */
function tinyModelAndLibrary(edit: (params: { name: string; shape: readonly number[]; dtype: string }[]) => void = () => {}) {
  const gguf = syntheticModel('tiny-qwen2', 'F32').toBytes();
  const model = join(tmp, `tiny-qwen2-${Math.random().toString(36).slice(2)}.gguf`);
  writeFileSync(model, gguf);
  return readGguf(bytesSource(gguf)).then((file) => {
    const params = planMlcExport(file, { quant: 'q0f32' }).params.map((p) => ({ name: p.name, shape: p.shape, dtype: p.dtype }));
    edit(params);
    const lib = join(tmp, `tiny-qwen2-q0f32-${Math.random().toString(36).slice(2)}-webgpu.wasm`);
    writeFileSync(lib, fakeLibrary({ model_type: 'qwen2', quantization: 'q0f32', context_window_size: 4096, prefill_chunk_size: 1024, kv_cache: { num_hidden_layers: 2, num_attention_heads: 3, num_key_value_heads: 1, head_dim: 64 }, params }));
    return { model, lib };
  });
}

describe('cria bench --peers webllm', () => {
  it('options: webllm only when asked for, after ORT and before llama.cpp; --webllm-lib belongs to it and must exist', () => {
    const lib = join(tmp, 'lib.wasm');
    writeFileSync(lib, 'x');
    expect(parseBenchOptions({ model: 'm' }, log).engines, 'not by default: it needs a model library').not.toContain('webllm');
    expect(parseBenchOptions({ model: 'm', peers: 'llamacpp,webllm,ort-webgpu,cria' }, log).engines).toEqual(['cria', 'ort-webgpu', 'webllm', 'llamacpp']);
    expect(parseBenchOptions({ model: 'm', peers: 'cria,webllm', 'webllm-lib': lib }, log)).toMatchObject({ engines: ['cria', 'webllm'], webllmLib: lib });
    expect(parseBenchOptions({ model: 'm', peers: 'webllm' }, log).webllmLib, 'no library: the peer is skipped at run time, saying why').toBeUndefined();
    expect(() => parseBenchOptions({ model: 'm', peers: 'cria', 'webllm-lib': lib }, log)).toThrow(/--webllm-lib is the webllm peer's model library: add webllm to --peers/);
    expect(() => parseBenchOptions({ model: 'm', peers: 'webllm', 'webllm-lib': join(tmp, 'nowhere.wasm') }, log)).toThrow(/--webllm-lib: no file .*nowhere\.wasm/);
    // Cria's engines are divided by WebLLM as by every peer
    expect(ratioTargets('cria')).toContain('webllm');
    expect(ratioTargets('cria-wasm')).toContain('webllm');
  });

  it('without a model library the peer is skipped with a reason that says where libraries come from and how to pass one', () => {
    const why = webllmSkipReason(undefined);
    expect(why).toMatch(/no --webllm-lib FILE/);
    expect(why).toMatch(/mlc-ai\/binary-mlc-llm-libs/);
    expect(why).toMatch(/v0_2_48/);
    expect(why).toMatch(/fetches nothing from the network/);
    expect(webllmSkipReason('lib.wasm')).toBeUndefined();
  });

  it('the export takes the library\'s quantization, when Cria writes it', () => {
    expect(webllmQuant('q4f32_1', 'a.wasm')).toBe('q4f32_1');
    expect(webllmQuant('q0f32', 'a.wasm')).toBe('q0f32');
    expect(() => webllmQuant('q4f16_1', 'Qwen2-0.5B-Instruct-q4f16_1-ctx4k_cs1k-webgpu.wasm')).toThrow(/compiled for q4f16_1 weights; cria export mlc writes q4f32_1 and q0f32/);
  });

  it('the MLC export is written where WebLLM reads the model (base URL + resolve/main/) beside the library, and served from the export folder', async () => {
    const { model, lib } = await tinyModelAndLibrary();
    const dir = mkdtempSync(join(tmp, 'export-'));
    const lines: string[] = [];
    const ex = await exportForWebllm(model, lib, dir, (s) => lines.push(s));
    expect(ex.quant).toBe('q0f32');
    expect(ex.contextWindowSize).toBe(256); // the GGUF's training context, under the library's 4096
    expect(lines[0]).toMatch(/^webllm: exporting the model to MLC q0f32 for tiny-qwen2-q0f32-/);
    const files = readdirSync(join(dir, WEBLLM_MODEL_DIR, 'resolve/main')).sort();
    expect(files).toEqual(expect.arrayContaining(['mlc-chat-config.json', 'ndarray-cache.json', 'tokenizer.json', 'params_shard_0.bin']));
    expect(readdirSync(join(dir, WEBLLM_LIB_DIR))).toEqual([ex.libName]);
    expect(new Uint8Array(readFileSync(join(dir, WEBLLM_LIB_DIR, ex.libName)))).toEqual(new Uint8Array(readFileSync(lib)));
    const notes = webllmNotes(ex, 256, 4096);
    expect(notes[0]).toMatch(/^weights as WebLLM ran them \(cria export mlc of the same GGUF, q0f32\): \d+ float32.*; model library tiny-qwen2-q0f32-/);
    expect(notes).toContain('context 256: the model library\'s window (the other engines got 4096)');

    // served as the bench serves its export folder; the URLs the page gives WebLLM resolve to the files
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path.startsWith('/export/')) return serveFolder(req, res, dir, path.slice('/export/'.length));
      res.statusCode = 418;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const exportUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/export/`;
    try {
      const base = mlcBaseUrl(exportUrl + WEBLLM_MODEL_DIR); // WebLLM's own rule for a model URL
      const index = (await (await fetch(base + 'ndarray-cache.json')).json()) as { records: { dataPath: string }[] };
      for (const r of index.records) expect((await fetch(base + r.dataPath)).status, r.dataPath).toBe(200);
      expect((await fetch(base + 'mlc-chat-config.json')).status).toBe(200);
      expect((await fetch(exportUrl + WEBLLM_LIB_DIR + encodeURIComponent(ex.libName))).status).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a library that does not fit the GGUF is refused before any weight is written, naming the difference', async () => {
    const { model, lib } = await tinyModelAndLibrary((params) => params.pop());
    const dir = mkdtempSync(join(tmp, 'export-'));
    await expect(exportForWebllm(model, lib, dir, log)).rejects.toThrow(/does not fit this GGUF: the export has .*, which the library does not declare/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the table puts WebLLM beside Cria (its column, Cria ÷ WebLLM, its notes), and a skipped WebLLM says so and why', () => {
    const raw = (decodeMs: number, ttft: number, extra: Partial<EngineRaw> = {}): EngineRaw => ({ version: 'x', loads: { coldMs: [900], warmMs: [300] }, runs: [{ prefill: [{ tokens: 4, ms: ttft }], decode: { tokens: 2, steps: 1, ms: decodeMs } }], ...extra });
    const c = engineFigures(raw(100, 200));
    const w = engineFigures(raw(16_000, 20_000, { version: '@mlc-ai/web-llm 0.2.79', notes: ['stepped with WebLLM\'s forwardTokensAndSample'] }));
    const report = (webllm: BenchReport['engines']['webllm']): BenchReport => ({
      cria_bench: 2,
      date: '2025-01-01T00:00:00.000Z',
      model: { source: 'q.gguf', name: 'q', architecture: 'qwen2', parameters: 494e6, file_bytes: 280e6, tensor_types: {}, n_layer: 24, n_vocab: 151936, weight_bytes_per_token: 280e6 },
      settings: { engines: ['cria', 'webllm'], runs: 1, load_runs: 1, prompt_tokens: [4], decode_tokens: 2, threads: 2, context: 4096, prompts: 'ids' },
      machine: { cpu: 'cpu', cores: 2, memory_bytes: 1, os: 'Linux', node: 'v20' },
      browser: null,
      adapter: null,
      roofline: null,
      engines: { cria: c, webllm },
      ratios: { cria: { webllm: webllm?.ok ? ratios(c, webllm) : null } },
    });
    const t = formatTable(report(w));
    expect(t).toMatch(/^\s+Cria \(WebGPU\)\s+WebLLM \(WebGPU\)\s+WebGPU\/WebLLM$/m);
    // decode: 1 step in 100 ms = 10 tok/s (Cria), in 16 s = 0.0625 (WebLLM, two significant digits): 160×
    expect(t).toMatch(/decode 2 \(tok\/s\)\s+10\.0\s+0\.063\s+160\.0$/m);
    expect(t).toMatch(/first token @4 \(ms\)\s+200\s+20000\s+0\.010$/m);
    expect(t).toContain("WebLLM (WebGPU): stepped with WebLLM's forwardTokensAndSample");
    expect(t).toContain('WebLLM on its MLC export');
    const skipped = formatTable(report({ ok: false, error: webllmSkipReason(undefined)!, code: 'bad-argument', skipped: true }));
    expect(skipped).toMatch(/decode 2 \(tok\/s\)\s+10\.0\s+skipped\s+—$/m);
    expect(skipped).not.toMatch(/WebLLM \(WebGPU\): error/);
    expect(skipped).toContain('WebLLM (WebGPU): skipped: no --webllm-lib FILE.');
  });
});

/**
 * `cria bench`: the figures' arithmetic, the prompts, the options and the
 * table (plain functions), then the command end to end as a real process on
 * a small generated model (SmolLM2-135M shape, Q4_0) with Cria on WebGPU and
 * on WebAssembly and both peers: every JSON field is there, the figures follow
 * from the raw runs, the ratios and the roofline from the figures, and Cria's
 * structure per decoded token on WebGPU is one submit, 4 bytes read back, no
 * buffer created. Timings are never
 * asserted (other work shares these 2 cores); only that they exist and are
 * positive.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { engineFigures, loadParts, median, ratios, ratioTargets, roofline, structurePerToken, type EngineFigures, type EngineRaw } from '../../src/cli/bench/figures.ts';
import { ortExportKind, ortWeightNotes, PROMPT_IDS_NOTE } from '../../src/cli/bench/ort.ts';
import { serveFolder } from '../../src/cli/bench/serve-folder.ts';
import { resultsMarkdown } from '../../bench/results-md.ts';
import { benchPlan } from '../../src/cli/bench/plan.ts';
import { benchPrompt } from '../../src/cli/bench/prompt.ts';
import { fileSource } from '../../src/formats/source-node.ts';
import { createTokenizer } from '../../src/tokenizer/index.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { parseBenchOptions } from '../../src/cli/bench/options.ts';
import { formatTable, type BenchReport } from '../../src/cli/bench/report.ts';
import { modelFacts } from '../../src/cli/bench/model-facts.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { syntheticModel } from '../../src/model/synthetic.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'cria-bench-test-'));

function cria(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, maxBuffer: 64 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const raw = (decodeMs: number[], ttft16: number[], extra: Partial<EngineRaw> = {}): EngineRaw => ({
  version: 'x',
  loads: { coldMs: [300, 100, 200], warmMs: [50, 40, 60] },
  runs: decodeMs.map((ms, i) => ({ prefill: [{ tokens: 16, ms: ttft16[i] }], decode: { tokens: 5, steps: 4, ms } })),
  ...extra,
});

describe('bench figures', () => {
  it('--schema: decode under the JSON Schema (median rate) and the grammar engine\'s share of the request', () => {
    const f = engineFigures(raw([400, 400, 400], [100, 100, 100], { schemaDecode: [{ steps: 4, ms: 500, constraintMs: 60, totalMs: 600 }, { steps: 4, ms: 400, constraintMs: 40, totalMs: 500 }, { steps: 4, ms: 800, constraintMs: 90, totalMs: 900 }] }));
    expect(f.decode_tokens_per_s).toBe(10);
    expect(f.decode_tokens_per_s_schema).toBe(8);
    expect(f.schema_constraint_share).toBe(0.1);
    expect(engineFigures(raw([400], [100])).decode_tokens_per_s_schema).toBeUndefined();
    const log = () => {};
    expect(parseBenchOptions({ model: 'm', schema: true }, log).schema).toBe(true);
    expect(parseBenchOptions({ model: 'm' }, log).schema).toBeUndefined();
  });

  it('medians of the runs; prefill and decode rates follow the definitions', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const f = engineFigures(raw([400, 200, 800], [100, 400, 200]));
    expect(f.load_cold_ms).toBe(200);
    expect(f.load_warm_ms).toBe(50);
    expect(f.time_to_first_token_ms['16']).toBe(200);
    expect(f.prefill_tokens_per_s['16']).toBe(80); // median of 160, 40, 80
    expect(f.decode_tokens_per_s).toBe(10); // 4 steps: median of 10, 20, 5
    expect(f.decode_tokens).toBe(5);
    expect(f.gpu_peak_bytes).toBeNull();
    expect(f.structure_per_token).toBeNull();
  });

  it('load parts: from the times the phases began; medians part by part; none for peers', () => {
    expect(loadParts({ open: 0, upload: 120, compile: 900, ready: 1500 }, 1510)).toEqual({ prepare: 120, upload: 780, warmup: 610 });
    expect(loadParts({ open: 0, download: 5, upload: 400, compile: 900 }, 1000)).toEqual({ prepare: 400, upload: 500, warmup: 100 });
    expect(loadParts({ open: 0 }, 10), 'a load that never uploaded has no parts').toBeUndefined();
    const parts = [
      { prepare: 1, upload: 30, warmup: 500 },
      { prepare: 3, upload: 10, warmup: 700 },
      { prepare: 2, upload: 20, warmup: 600 },
    ];
    const f = engineFigures(raw([400], [100], { loads: { coldMs: [1], warmMs: [1], coldParts: parts, warmParts: parts.slice(0, 2) } }));
    expect(f.load_cold_parts_ms).toEqual({ prepare: 2, upload: 20, warmup: 600 });
    expect(f.load_warm_parts_ms).toEqual({ prepare: 2, upload: 20, warmup: 600 });
    expect(engineFigures(raw([400], [100])).load_warm_parts_ms).toBeNull();
  });

  it('ratios are Cria ÷ peer for every figure', () => {
    const a = engineFigures(raw([400, 400, 400], [100, 100, 100]));
    const b = engineFigures(raw([200, 200, 200], [400, 400, 400]));
    const r = ratios(a, b);
    expect(r.decode_tokens_per_s).toBeCloseTo(0.5, 12);
    expect(r.prefill_tokens_per_s['16']).toBeCloseTo(4, 12);
    expect(r.time_to_first_token_ms['16']).toBeCloseTo(0.25, 12);
    expect(r.load_cold_ms).toBe(1);
  });

  it('roofline: ceiling = bandwidth ÷ weight bytes; efficiency = achieved ÷ bandwidth', () => {
    const f = roofline(2, 10, 'timestamp-query', 100e6, 5);
    expect(f.decode_ceiling_tokens_per_s).toBeCloseTo(20, 12);
    expect(f.cria_weight_gb_per_s).toBeCloseTo(0.5, 12);
    expect(f.efficiency).toBeCloseTo(0.25, 12);
    expect(roofline(2, 10, null, 100e6, null).efficiency).toBeNull();
  });

  it('structure per token: the difference of a 2-token and an N-token request, per step', () => {
    const s = structurePerToken({ dispatches: 1000, submits: 3, bytesReadBack: 8, buffersCreated: 7 }, { dispatches: 1000 + 10 * 452, submits: 13, bytesReadBack: 48, buffersCreated: 7 }, 10, 30);
    expect(s).toEqual({ dispatches: 452, submits: 1, bytes_read_back: 4, buffers_created: 0, dispatches_per_layer: 452 / 30 });
  });

  it.each(['synthetic (smollm2-135m)', 'llama-spm', 'gpt-2', 'phi-3'])('prompts (%s vocabulary): texts of exactly N tokens, deterministic, a different text per variant; a reset token no prompt starts with', async (name) => {
    const tok = name.startsWith('synthetic')
      ? createTokenizer((await readGguf(syntheticModel('smollm2-135m', 'Q4_0', 0).source())).metadata)
      : createTokenizer((await readGguf(await fileSource(fixturePath(`gguf-vocab/ggml-vocab-${name}.gguf`)))).metadata);
    for (const n of [2, 16, 128, 512]) {
      const p = benchPrompt(tok, n, 1);
      expect(p.ids).toHaveLength(n);
      expect(tok.encode(p.text)).toEqual(p.ids);
      expect(benchPrompt(tok, n, 1)).toEqual(p);
      if (tok.addBos) expect(p.ids[0]).toBe(tok.bos);
    }
    const plan = benchPlan(tok, 3, [16, 32], 8);
    const all = [plan.warmup.prompt, plan.structurePrime, ...plan.prompts.flatMap((p) => [...p.prefill, p.decode])];
    expect(new Set(all.map((p) => p.text)).size).toBe(all.length);
    expect(all.every((p) => p.ids[0] !== plan.resetToken)).toBe(true);
    expect(plan.prompts[0].decode.ids).toHaveLength(16);
    // tokens wllama may not generate: exactly those whose bytes alone are not UTF-8
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    const bad = new Set(plan.notUtf8);
    for (let id = 0; id < tok.vocabSize; id += name === 'gpt-2' ? 1 : 7) {
      let valid = true;
      try {
        utf8.decode(tok.decodeBytes([id]));
      } catch {
        valid = false;
      }
      expect(bad.has(id), `${id}`).toBe(!valid);
    }
    if (name.startsWith('synthetic')) expect(plan.notUtf8).toEqual(Array.from({ length: 128 }, (_, i) => 3 + 0x80 + i)); // <0x80>..<0xFF>
  });

  it('weight bytes per token: every tensor, the token embedding whole when tied (it is the output)', async () => {
    const m = syntheticModel('smollm2-135m', 'Q8_0', 0);
    const facts = modelFacts(await readGguf(m.source()));
    expect(facts.weightBytesPerToken).toBe(facts.tensorBytes); // tied: everything is read
    expect(facts.nLayer).toBe(30);
    expect(facts.nVocab).toBe(49152);
    expect(facts.context).toBe(4096);
  });

  it('options: defaults, order (Cria first), and clear errors', () => {
    const log = () => {};
    const o = parseBenchOptions({ model: 'm.gguf' }, log);
    expect(o).toMatchObject({ engines: ['cria', 'cria-wasm', 'wllama', 'llamacpp'], runs: 3, loadRuns: 3, prompts: [128, 512], decode: 128, threads: availableParallelism() });
    expect(parseBenchOptions({ model: 'm', peers: 'llamacpp,cria', prompt: '16, 32', runs: '1', decode: '4', threads: '1' }, log)).toMatchObject({ engines: ['cria', 'llamacpp'], prompts: [16, 32], runs: 1, loadRuns: 1, decode: 4, threads: 1 });
    expect(parseBenchOptions({ model: 'm', runs: '3', 'load-runs': '1' }, log)).toMatchObject({ runs: 3, loadRuns: 1 });
    expect(() => parseBenchOptions({}, log)).toThrow(/no model given/);
    expect(() => parseBenchOptions({ model: 'm', peers: 'cria,mlc' }, log)).toThrow(/"mlc" is not one of cria, cria-wasm, wllama, ort-wasm, ort-webgpu, webllm, llamacpp \(or ort: both ORT engines\)/);
    expect(parseBenchOptions({ model: 'm', peers: 'wllama,cria-wasm' }, log).engines).toEqual(['cria-wasm', 'wllama']);
    expect(() => parseBenchOptions({ model: 'm', prompt: '16,0' }, log)).toThrow(/--prompt must be whole numbers/);
    expect(() => parseBenchOptions({ model: 'm', decode: '1' }, log)).toThrow(/--decode must be at least 2/);
    expect(() => parseBenchOptions({ model: 'm', runs: '0' }, log)).toThrow(/--runs must be at least 1/);
  });

  it('options: the ORT engines only when asked for (ort = both), in their place among the engines, each once', () => {
    const log = () => {};
    expect(parseBenchOptions({ model: 'm' }, log).engines, 'the default: no ORT (it needs an export of the model)').toEqual(['cria', 'cria-wasm', 'wllama', 'llamacpp']);
    expect(parseBenchOptions({ model: 'm', peers: 'ort' }, log).engines).toEqual(['ort-wasm', 'ort-webgpu']);
    expect(parseBenchOptions({ model: 'm', peers: 'llamacpp,ort,cria-wasm' }, log).engines).toEqual(['cria-wasm', 'ort-wasm', 'ort-webgpu', 'llamacpp']);
    expect(parseBenchOptions({ model: 'm', peers: 'ort-wasm,wllama,cria-wasm,ort-wasm' }, log).engines).toEqual(['cria-wasm', 'wllama', 'ort-wasm']);
    expect(parseBenchOptions({ model: 'm', peers: 'ort,ort-webgpu' }, log).engines).toEqual(['ort-wasm', 'ort-webgpu']);
    // Cria's engines are divided by the ORT engines as by every peer
    expect(ratioTargets('cria-wasm')).toEqual(['wllama', 'ort-wasm', 'ort-webgpu', 'webllm', 'llamacpp', 'cria']);
    expect(ratioTargets('cria')).toEqual(['wllama', 'ort-wasm', 'ort-webgpu', 'webllm', 'llamacpp']);
  });

  it('ORT: Q8_0 weights exported as f32 for the WebGPU EP only (it computes 2- and 4-bit MatMulNBits), 8-bit MatMulNBits for the WASM EP', () => {
    expect(ortExportKind('ort-wasm', { Q8_0: 10, Q4_0: 20, F32: 1 })).toBe('nbits');
    expect(ortExportKind('ort-webgpu', { Q8_0: 10, Q4_0: 20, F32: 1 })).toBe('f32');
    expect(ortExportKind('ort-webgpu', { Q4_0: 20, F32: 1 })).toBe('nbits');
    expect(ortExportKind('ort-webgpu', { Q6_K: 20, F16: 1 })).toBe('nbits');
  });

  it('ORT: the notes say how the weights went in, and why when ORT computes on f32 weights', () => {
    const weights = new Map([
      ['blk.0.attn_q.weight', 'MatMulNBits 4-bit (from Q4_0)'],
      ['blk.0.attn_k.weight', 'MatMulNBits 4-bit (from Q4_0)'],
      ['blk.0.ffn_down.weight', 'f32 (from Q6_K)'],
      ['token_embd.weight', 'f32 (from Q8_0)'],
      ['blk.0.attn_v.weight', 'f32'],
    ]);
    const gpu = ortWeightNotes(weights, 'ort-webgpu');
    expect(gpu[0]).toBe('weights as onnxruntime-web ran them (cria export onnx of the same GGUF): 2 MatMulNBits 4-bit (from Q4_0), 1 f32 (from Q6_K), 1 f32 (from Q8_0), 1 f32');
    expect(gpu).toContain("Q8_0 weights exported as f32: onnxruntime-web's WebGPU EP computes MatMulNBits with 2 and 4 bits only (an 8-bit graph is refused there)");
    expect(gpu).toContain('Q6_K weights dequantized to f32 by the exporter: these figures are on f32 weights');
    const wasm = ortWeightNotes(new Map([['a', 'MatMulNBits 8-bit (from Q8_0)'], ['b', 'MatMulNBits 4-bit (from Q4_0)']]), 'ort-wasm');
    expect(wasm).toEqual(['weights as onnxruntime-web ran them (cria export onnx of the same GGUF): 1 MatMulNBits 8-bit (from Q8_0), 1 MatMulNBits 4-bit (from Q4_0)']);
  });

  it('the export folder is served file by file with Range requests, and nothing outside it', async () => {
    const dir = mkdtempSync(join(tmp, 'serve-'));
    mkdirSync(join(dir, 'nbits/onnx'), { recursive: true });
    writeFileSync(join(dir, 'nbits/onnx/model.onnx'), 'ONNX-BYTES');
    writeFileSync(join(dir, 'nbits/config.json'), '{}');
    writeFileSync(join(tmp, 'secret.txt'), 'SECRET');
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path.startsWith('/onnx/')) return serveFolder(req, res, dir, path.slice('/onnx/'.length));
      res.statusCode = 418;
      res.end('not served');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/onnx/`;
    try {
      const whole = await fetch(base + 'nbits/onnx/model.onnx');
      expect(whole.status).toBe(200);
      expect(await whole.text()).toBe('ONNX-BYTES');
      expect(whole.headers.get('cache-control')).toBe('no-store');
      const part = await fetch(base + 'nbits/onnx/model.onnx', { headers: { Range: 'bytes=5-9' } });
      expect(part.status).toBe(206);
      expect(await part.text()).toBe('BYTES');
      expect((await fetch(base + 'nbits/generation_config.json')).status, 'a missing file').toBe(404);
      // sent as written (fetch would resolve the dot segments before sending)
      const raw = (path: string) =>
        new Promise<{ status: number; body: string }>((ok, fail) => {
          const req = httpGet({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', fail);
        });
      expect((await raw('/onnx/nbits/config.json')).body).toBe('{}');
      for (const escape of ['../secret.txt', '..%2Fsecret.txt', 'nbits/../../secret.txt', 'nbits/..%2F..%2Fsecret.txt', '%2E%2E/secret.txt', 'nbits/onnx/', 'nbits', '', '%E0%A4%A']) {
        const r = await raw('/onnx/' + escape);
        expect(r.status, escape).toBe(404);
        expect(r.body).not.toContain('SECRET');
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('the table shows each figure, the ratios, and a failed peer as an error without losing the others', () => {
    const c = engineFigures(raw([400, 400, 400], [100, 100, 100], { gpuPeakBytes: 300 * 2 ** 20, structure: { dispatches: 452, submits: 1, bytes_read_back: 4, buffers_created: 0, dispatches_per_layer: 15.07 } }));
    const l = engineFigures(raw([40, 40, 40], [10, 10, 10], { threads: 2 }));
    const w = engineFigures(raw([200, 200, 200], [50, 50, 50], { threads: 2 }));
    const report: BenchReport = {
      cria_bench: 2,
      date: '2025-01-01T00:00:00.000Z',
      model: { source: 'm.gguf', name: 'm', architecture: 'llama', parameters: 134.5e6, file_bytes: 91e6, tensor_types: {}, n_layer: 30, n_vocab: 49152, weight_bytes_per_token: 90e6 },
      settings: { engines: ['cria', 'cria-wasm', 'wllama', 'llamacpp'], runs: 3, load_runs: 3, prompt_tokens: [16], decode_tokens: 5, threads: 2, context: 4096, prompts: 'ids' },
      machine: { cpu: 'cpu', cores: 2, memory_bytes: 1, os: 'Linux', node: 'v20' },
      browser: { executable: '/usr/bin/chromium', version: '140' },
      adapter: { name: 'google swiftshader (fallback adapter)', vendor: 'google', architecture: 'swiftshader', description: '', fallback: true, features: [] },
      roofline: roofline(2.5, 12, 'timestamp-query', 90e6, c.decode_tokens_per_s),
      engines: { cria: c, 'cria-wasm': w, wllama: { ok: false, error: 'the model failed to load', code: 'internal' }, llamacpp: l },
      ratios: { cria: { wllama: null, llamacpp: ratios(c, l) }, 'cria-wasm': { wllama: null, llamacpp: ratios(w, l), cria: ratios(w, c) } },
    };
    const t = formatTable(report);
    // columns: WebGPU, Wasm, Wasm/WebGPU, wllama, WebGPU/wllama, Wasm/wllama, llama.cpp, WebGPU/llama.cpp, Wasm/llama.cpp
    expect(t).toMatch(/^\s+Cria \(WebGPU\)\s+Cria \(Wasm, 2 thr\)\s+Wasm\/WebGPU\s+wllama \(Wasm\)\s+WebGPU\/wllama\s+Wasm\/wllama\s+llama\.cpp \(native, 2 thr\)\s+WebGPU\/llama\.cpp\s+Wasm\/llama\.cpp$/m);
    expect(t).toMatch(/decode 5 \(tok\/s\)\s+10\.0\s+20\.0\s+2\.00\s+error\s+—\s+—\s+100\s+0\.10\s+0\.20$/m);
    expect(t).toMatch(/first token @16 \(ms\)\s+100\s+50\s+0\.50\s+error\s+—\s+—\s+10\s+10\.0\s+5\.00$/m);
    expect(t).toMatch(/peak GPU memory \(MiB\)\s+300\.0/);
    expect(t).toContain('llama.cpp (native, 2 thr)');
    expect(t).toContain('wllama (Wasm): error [internal]: the model failed to load');
    expect(t).toContain('452.0 dispatches (15.1 per layer), 1.00 submits, 4.0 bytes read back, 0.00 buffers created');
    expect(t).toMatch(/Cria decodes 0\.90 GB\/s of weights = 36\.0% of it/);
  });

  it('the table puts ORT beside Cria: its columns, Cria ÷ ORT, its notes and its load parts', () => {
    const w = engineFigures(raw([200, 200, 200], [50, 50, 50], { threads: 2 }));
    const l = engineFigures(raw([100, 100, 100], [20, 20, 20], { threads: 2 }));
    const ow = engineFigures(raw([400, 400, 400], [100, 100, 100], { threads: 2, notes: ['weights as onnxruntime-web ran them (cria export onnx of the same GGUF): 2 MatMulNBits 4-bit (from Q4_0)'], loads: { coldMs: [900], warmMs: [600], warmParts: [{ prepare: 100, upload: 300, warmup: 200 }], startMs: [50] } }));
    const og = engineFigures(raw([800, 800, 800], [400, 400, 400], { gpuPeakBytes: 200 * 2 ** 20, notes: ['Q8_0 weights exported as f32: …'] }));
    const report: BenchReport = {
      cria_bench: 2,
      date: '2025-01-01T00:00:00.000Z',
      model: { source: 'm.gguf', name: 'm', architecture: 'llama', parameters: 134.5e6, file_bytes: 91e6, tensor_types: {}, n_layer: 30, n_vocab: 49152, weight_bytes_per_token: 90e6 },
      settings: { engines: ['cria-wasm', 'wllama', 'ort-wasm', 'ort-webgpu'], runs: 3, load_runs: 3, prompt_tokens: [16], decode_tokens: 5, threads: 2, context: 4096, prompts: 'ids' },
      machine: { cpu: 'cpu', cores: 2, memory_bytes: 1, os: 'Linux', node: 'v20' },
      browser: { executable: '/usr/bin/chromium', version: '140' },
      adapter: null,
      roofline: null,
      engines: { 'cria-wasm': w, wllama: l, 'ort-wasm': ow, 'ort-webgpu': og },
      ratios: { 'cria-wasm': { wllama: ratios(w, l), 'ort-wasm': ratios(w, ow), 'ort-webgpu': ratios(w, og) } },
    };
    const t = formatTable(report);
    expect(t).toMatch(/^\s+Cria \(Wasm, 2 thr\)\s+wllama \(Wasm, 2 thr\)\s+Wasm\/wllama\s+ORT \(Wasm EP, 2 thr\)\s+Wasm\/ORT-Wasm\s+ORT \(WebGPU EP\)\s+Wasm\/ORT-WebGPU$/m);
    // decode: 20 tok/s (Cria-Wasm), 40 (wllama), 0.50, 10 (ORT-Wasm), 2.00, 5 (ORT-WebGPU), 4.00
    expect(t).toMatch(/decode 5 \(tok\/s\)\s+20\.0\s+40\.0\s+0\.50\s+10\.0\s+2\.00\s+5\.00\s+4\.00$/m);
    expect(t).toMatch(/prefill @16 \(tok\/s\)\s+320\s+800\s+0\.40\s+160\s+2\.00\s+40\.0\s+8\.00$/m);
    expect(t).toMatch(/load, warm \(ms\)\s+50\s+50\s+1\.00\s+600\s+0\.083\s+50\s+1\.00$/m);
    expect(t).toMatch(/peak GPU memory \(MiB\)\s+—\s+—\s+—\s+—\s+—\s+200\.0\s+—$/m);
    expect(t).toContain('ORT (Wasm EP): weights as onnxruntime-web ran them (cria export onnx of the same GGUF): 2 MatMulNBits 4-bit (from Q4_0)');
    expect(t).toContain('ORT (WebGPU EP): Q8_0 weights exported as f32: …');
    expect(t).toContain('ORT (Wasm EP) load parts: warm 100 ms reading the files from the cache, 300 ms creating the session, 200 ms on its first step');
    expect(t).toContain('ORT (Wasm EP): its engine worker started in 50 ms before each load');
  });

  it('bench/RESULTS.md: a run with ORT gets its own section (side by side, same run) and stays out of the suite\'s tables', () => {
    const w = engineFigures(raw([200, 200, 200], [50, 50, 50], { threads: 2 }));
    const l = engineFigures(raw([100, 100, 100], [20, 20, 20], { threads: 2 }));
    const ow = engineFigures(raw([400, 400, 400], [100, 100, 100], { threads: 2, version: '1.31.1', notes: ['weights as onnxruntime-web ran them (cria export onnx of the same GGUF): 210 MatMulNBits 4-bit (from Q4_0), 1 MatMulNBits 8-bit (from Q8_0)'] }));
    const base = (engines: BenchReport['settings']['engines'], e: BenchReport['engines'], rt: BenchReport['ratios'], source: string): BenchReport => ({
      cria_bench: 2,
      date: '2025-01-02T00:00:00.000Z',
      model: { source, name: 'm', architecture: 'llama', parameters: 134.5e6, file_bytes: 91e6, tensor_types: {}, n_layer: 30, n_vocab: 49152, weight_bytes_per_token: 90e6 },
      settings: { engines, runs: 3, load_runs: 3, prompt_tokens: [16], decode_tokens: 5, threads: 2, context: 4096, prompts: 'ids' },
      machine: { cpu: 'cpu', cores: 2, memory_bytes: 2 ** 30, os: 'Linux', node: 'v20' },
      browser: { executable: '/usr/bin/chromium', version: '140' },
      adapter: null,
      roofline: null,
      engines: e,
      ratios: rt,
    });
    const suite = base(['cria-wasm', 'wllama'], { 'cria-wasm': w, wllama: l }, { 'cria-wasm': { wllama: ratios(w, l) } }, '/m/smollm2-135m-q4_0.gguf');
    const ort = base(['cria-wasm', 'wllama', 'ort-wasm', 'ort-webgpu'], { 'cria-wasm': w, wllama: l, 'ort-wasm': ow, 'ort-webgpu': { ok: false, error: 'took too long' } }, { 'cria-wasm': { wllama: ratios(w, l), 'ort-wasm': ratios(w, ow), 'ort-webgpu': null } }, '/m/smollm2-135m-q4_0.gguf');
    const md = resultsMarkdown([suite, ort], { shapes: ['smollm2-135m'], types: ['q4_0'], ortNote: 'Measured here.' });
    const decode = md.slice(md.indexOf('## Decode'), md.indexOf('## Prefill'));
    expect(decode.match(/^\| smollm2-135m \| Q4_0 \|/gm), 'one row in the suite\'s decode table').toHaveLength(1);
    const section = md.slice(md.indexOf('## onnxruntime-web'));
    expect(md.indexOf('## onnxruntime-web')).toBeGreaterThan(0);
    expect(section).toContain('same run, side by side');
    expect(section).toMatch(/^## onnxruntime-web on the same weights\n\n> Measured here\.\n/);
    expect(section).toContain('`cria bench --model smollm2-135m-q4_0.gguf --peers cria-wasm,wllama,ort-wasm,ort-webgpu --runs 3 --load-runs 3 --prompt 16 --decode 5 --threads 2`');
    // decode: Cria-Wasm 20, wllama 40, ORT-Wasm 10, ORT-WebGPU error; Wasm/ORT-Wasm 2.00
    expect(section).toMatch(/^\| smollm2-135m \| Q4_0 \| 5 \| 20\.0 \| 40\.0 \| 10\.0 \| error \| 2\.00 \| — \|/m);
    expect(section).toMatch(/^\| smollm2-135m \| Q4_0 \| 16 \| 320 \| 800 \| 160 \| error \| 2\.00 \| — \|/m);
    expect(section).toContain('210 MatMulNBits 4-bit (from Q4_0), 1 MatMulNBits 8-bit (from Q8_0)');
    expect(section).toContain('ORT (WebGPU EP): took too long');
  });
});

describe('cria bench (a real process)', () => {
  it('a missing model, an unknown peer, a CHROME_PATH that points nowhere and a prompt longer than the context are clear errors', async () => {
    const missing = await cria(['bench', '--model', join(tmp, 'nope.gguf')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cria: error \[bad-argument\]: cannot open .*nope\.gguf/);
    const peer = await cria(['bench', '--model', join(tmp, 'nope.gguf'), '--peers', 'cria,mlc']);
    expect(peer.code).toBe(2);
    expect(peer.stderr).toMatch(/"mlc" is not one of cria, cria-wasm, wllama, ort-wasm, ort-webgpu, webllm, llamacpp/);
    const repo = join(tmp, 'onnx-repo');
    mkdirSync(join(repo, 'onnx'), { recursive: true });
    writeFileSync(join(repo, 'config.json'), '{}');
    const onnx = await cria(['bench', '--model', repo, '--peers', 'cria-wasm']);
    expect(onnx.code).toBe(2);
    expect(onnx.stderr).toMatch(/onnx-repo is an ONNX repository; cria bench takes a GGUF file \(and runs onnxruntime-web on its ONNX export with --peers ort\)/);
    const model = join(tmp, 'tiny.gguf');
    expect((await cria(['make-bench-model', '--shape', 'smollm2-135m', '--type', 'q4_0', '--out', model])).code).toBe(0);
    const chrome = await cria(['bench', '--model', model, '--peers', 'cria', '--runs', '1'], { CHROME_PATH: join(tmp, 'no-chrome') });
    expect(chrome.code).toBe(2);
    expect(chrome.stderr).toMatch(/CHROME_PATH is set to ".*no-chrome", but no file is there/);
    const long = await cria(['bench', '--model', model, '--prompt', '4000', '--decode', '128']);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/needs 4128 positions; the engines' context for this model is 4096/);
  });

  it('ORT (WASM and WebGPU EPs) on the export of stories260K beside Cria on WebAssembly: same prompts and decode, figures, ratios, notes; the export is removed', { timeout: 600_000 }, async () => {
    const model = fixturePath('models/stories260K/stories260K-f32.gguf');
    const json = join(tmp, 'bench-ort.json');
    const work = mkdtempSync(join(tmp, 'ort-tmp-'));
    const r = await cria(['bench', '--model', model, '--peers', 'cria-wasm,ort', '--runs', '1', '--prompt', '16,32', '--decode', '3', '--threads', '2', '--json', json], { TMPDIR: work });
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(rep.settings.engines).toEqual(['cria-wasm', 'ort-wasm', 'ort-webgpu']);
    const w = rep.engines['cria-wasm'] as EngineFigures;
    expect(w.ok, (w as { error?: string }).error).toBe(true);
    for (const name of ['ort-wasm', 'ort-webgpu'] as const) {
      const e = rep.engines[name]!;
      expect(e.ok, `${name}: ${(e as { error?: string }).error}`).toBe(true);
      const f = e as EngineFigures;
      expect(f.version).toMatch(/^onnxruntime-web 1\.\d+\.\d+/);
      expect(f.load_cold_ms, name).toBeGreaterThan(0);
      expect(f.load_warm_ms, name).toBeGreaterThan(0);
      expect(f.raw.runs).toHaveLength(1);
      const run = f.raw.runs[0];
      expect(run.prefill.map((p) => p.tokens)).toEqual([16, 32]);
      expect(run.decode).toMatchObject({ tokens: 3, steps: 2 });
      for (const p of run.prefill) expect(p.ms, name).toBeGreaterThan(0);
      expect(f.decode_tokens_per_s).toBeCloseTo((1000 * 2) / run.decode.ms, 9);
      expect(f.structure_per_token).toBeNull();
      // stories260K is F32: every product on f32 weights, as exported
      expect(f.notes[0]).toMatch(/^weights as onnxruntime-web ran them \(cria export onnx of the same GGUF\): \d+ f32$/);
      expect(f.notes).toContain(PROMPT_IDS_NOTE);
      const x = rep.ratios['cria-wasm']![name]!;
      expect(x.decode_tokens_per_s).toBeCloseTo(w.decode_tokens_per_s / f.decode_tokens_per_s, 9);
      for (const p of ['16', '32']) expect(x.prefill_tokens_per_s[p]).toBeCloseTo(w.prefill_tokens_per_s[p] / f.prefill_tokens_per_s[p], 9);
    }
    expect((rep.engines['ort-wasm'] as EngineFigures).threads).toBe(2);
    expect((rep.engines['ort-wasm'] as EngineFigures).notes).toContainEqual(expect.stringMatching(/WASM EP.*2 threads/));
    expect((rep.engines['ort-webgpu'] as EngineFigures).gpu_peak_bytes).toBeGreaterThan(0);
    for (const col of ['ORT (Wasm EP, 2 thr)', 'ORT (WebGPU EP)', 'Wasm/ORT-Wasm', 'Wasm/ORT-WebGPU']) expect(r.stdout).toContain(col);
    expect(r.stderr).toMatch(/ort-wasm: run 1\/1: 3 tokens decoded/);
    expect(readdirSync(work).filter((f) => f.startsWith('cria-bench-onnx-')), 'the export is removed').toEqual([]);
  });

  it('Cria (WebGPU and WebAssembly), wllama and llama.cpp on a SmolLM2-135M-shaped Q4_0 file: every field, figures from the runs, ratios, roofline, structure', { timeout: 600_000 }, async () => {
    const model = join(tmp, 'smollm2-135m-q4_0.gguf');
    const json = join(tmp, 'bench.json');
    expect((await cria(['make-bench-model', '--shape', 'smollm2-135m', '--type', 'q4_0', '--out', model])).code).toBe(0);
    const r = await cria(['bench', '--model', model, '--runs', '1', '--prompt', '4,6', '--decode', '3', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;

    expect(rep.cria_bench).toBe(2);
    expect(rep.settings).toMatchObject({ engines: ['cria', 'cria-wasm', 'wllama', 'llamacpp'], runs: 1, load_runs: 1, prompt_tokens: [4, 6], decode_tokens: 3, threads: availableParallelism(), context: 4096 });
    expect(rep.model).toMatchObject({ architecture: 'llama', n_layer: 30, n_vocab: 49152 });
    expect(rep.model.weight_bytes_per_token).toBeGreaterThan(0.95 * rep.model.file_bytes);
    expect(rep.machine.cores).toBe(availableParallelism());
    expect(rep.browser?.version).toMatch(/^\d+\./);
    expect(rep.adapter?.name).toMatch(/swiftshader/i);

    for (const name of ['cria', 'cria-wasm', 'wllama', 'llamacpp'] as const) {
      const e = rep.engines[name]!;
      expect(e.ok, `${name}: ${(e as { error?: string }).error}`).toBe(true);
      const f = e as EngineFigures;
      expect(f.version, name).toBeTruthy();
      expect(f.load_cold_ms, name).toBeGreaterThan(0);
      expect(f.load_warm_ms, name).toBeGreaterThan(0);
      if (name === 'cria' || name === 'cria-wasm') {
        // the parts add up to the whole load, each a positive time
        for (const [p, total] of [[f.load_cold_parts_ms, f.load_cold_ms], [f.load_warm_parts_ms, f.load_warm_ms]] as const) {
          expect(p).not.toBeNull();
          expect(p!.prepare + p!.upload + p!.warmup).toBeCloseTo(total!, 6);
          for (const v of Object.values(p!)) expect(v).toBeGreaterThan(0);
        }
      } else expect(f.load_warm_parts_ms, name).toBeNull();
      expect(f.raw.runs).toHaveLength(1);
      const run = f.raw.runs[0];
      expect(run.prefill.map((p) => p.tokens)).toEqual([4, 6]);
      expect(run.decode).toMatchObject({ tokens: 3, steps: 2 });
      for (const p of run.prefill) {
        expect(p.ms, name).toBeGreaterThan(0);
        expect(f.time_to_first_token_ms[p.tokens]).toBe(p.ms);
        expect(f.prefill_tokens_per_s[p.tokens]).toBeCloseTo((1000 * p.tokens) / p.ms, 9);
      }
      expect(f.decode_tokens_per_s).toBeCloseTo((1000 * 2) / run.decode.ms, 9);
      expect(f.decode_tokens).toBe(3);
      if (name !== 'cria') expect(f.threads, name).toBe(availableParallelism());
      // each of Cria's engines ÷ the others: WebGPU ÷ the peers; WebAssembly ÷ the peers and WebGPU
      const subjects = name === 'cria' ? (['cria-wasm'] as const) : name === 'cria-wasm' ? [] : (['cria', 'cria-wasm'] as const);
      for (const subject of subjects) {
        const x = rep.ratios[subject]![name]!;
        const c = rep.engines[subject] as EngineFigures;
        expect(x.decode_tokens_per_s, `${subject}/${name}`).toBeCloseTo(c.decode_tokens_per_s / f.decode_tokens_per_s, 9);
        expect(x.load_cold_ms).toBeCloseTo(c.load_cold_ms! / f.load_cold_ms!, 9);
        expect(x.load_warm_ms).toBeCloseTo(c.load_warm_ms! / f.load_warm_ms!, 9);
        for (const p of ['4', '6']) {
          expect(x.prefill_tokens_per_s[p]).toBeCloseTo(c.prefill_tokens_per_s[p] / f.prefill_tokens_per_s[p], 9);
          expect(x.time_to_first_token_ms[p]).toBeCloseTo(c.time_to_first_token_ms[p] / f.time_to_first_token_ms[p], 9);
        }
      }
    }
    expect(Object.keys(rep.ratios.cria!).sort()).toEqual(['llamacpp', 'wllama']);
    expect(Object.keys(rep.ratios['cria-wasm']!).sort()).toEqual(['cria', 'llamacpp', 'wllama']);
    // Cria on WebAssembly: no GPU figures; which build ran, with how many threads (the page is isolated)
    const w = rep.engines['cria-wasm'] as EngineFigures;
    expect(w.gpu_peak_bytes).toBeNull();
    expect(w.structure_per_token).toBeNull();
    expect(w.notes).toEqual([expect.stringMatching(new RegExp(`^WebAssembly .*shared memory, ${availableParallelism()} threads?$`))]);
    expect((rep.engines.wllama as EngineFigures).version).toMatch(/^3\.8\.1 \(llama\.cpp /);
    // multi-threaded (the page is cross-origin isolated); the byte tokens ≥ 0x80 banned from its output
    expect((rep.engines.wllama as EngineFigures).notes).toEqual([expect.stringMatching(/^128 tokens that are not UTF-8 on their own were banned/)]);

    const c = rep.engines.cria as EngineFigures;
    expect(c.gpu_peak_bytes).toBeGreaterThan(rep.model.file_bytes * 0.9); // the weights at least
    expect(c.structure_per_token).toMatchObject({ submits: 1, bytes_read_back: 4, buffers_created: 0 });
    const s = c.structure_per_token!;
    expect(Number.isInteger(s.dispatches) && s.dispatches > 30).toBe(true);
    expect(s.dispatches_per_layer).toBeCloseTo(s.dispatches / 30, 12);

    const f = rep.roofline!;
    expect(f.read_gb_per_s).toBeGreaterThan(0);
    expect(f.fma_gflop_per_s).toBeGreaterThan(0);
    expect(f.weight_bytes_per_token).toBe(rep.model.weight_bytes_per_token);
    expect(f.decode_ceiling_tokens_per_s).toBeCloseTo((f.read_gb_per_s * 1e9) / f.weight_bytes_per_token, 9);
    expect(f.cria_weight_gb_per_s).toBeCloseTo((c.decode_tokens_per_s * f.weight_bytes_per_token) / 1e9, 9);
    expect(f.efficiency).toBeCloseTo(f.cria_weight_gb_per_s! / f.read_gb_per_s, 9);

    expect(r.stdout).toMatch(/decode 3 \(tok\/s\)/);
    for (const col of ['WebGPU/wllama', 'Wasm/wllama', 'WebGPU/llama.cpp', 'Wasm/llama.cpp', 'Wasm/WebGPU']) expect(r.stdout).toContain(col);
    expect(r.stdout).toMatch(/Cria per decoded token: \d+\.0 dispatches \([\d.]+ per layer\), 1\.00 submits, 4\.0 bytes read back, 0\.00 buffers created/);
    expect(r.stderr).toMatch(/wllama: run 1\/1: 3 tokens decoded/);
    expect(r.stderr).toMatch(/cria-wasm: run 1\/1: 3 tokens decoded/);
  });
});

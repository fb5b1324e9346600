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
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { engineFigures, loadParts, median, ratios, roofline, structurePerToken, type EngineFigures, type EngineRaw } from '../../src/cli/bench/figures.ts';
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
    expect(() => parseBenchOptions({ model: 'm', peers: 'cria,webllm' }, log)).toThrow(/"webllm" is not one of cria, cria-wasm, wllama, llamacpp/);
    expect(parseBenchOptions({ model: 'm', peers: 'wllama,cria-wasm' }, log).engines).toEqual(['cria-wasm', 'wllama']);
    expect(() => parseBenchOptions({ model: 'm', prompt: '16,0' }, log)).toThrow(/--prompt must be whole numbers/);
    expect(() => parseBenchOptions({ model: 'm', decode: '1' }, log)).toThrow(/--decode must be at least 2/);
    expect(() => parseBenchOptions({ model: 'm', runs: '0' }, log)).toThrow(/--runs must be at least 1/);
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
});

describe('cria bench (a real process)', () => {
  it('a missing model, an unknown peer, a CHROME_PATH that points nowhere and a prompt longer than the context are clear errors', async () => {
    const missing = await cria(['bench', '--model', join(tmp, 'nope.gguf')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cria: error \[bad-argument\]: cannot open .*nope\.gguf/);
    const peer = await cria(['bench', '--model', join(tmp, 'nope.gguf'), '--peers', 'cria,mlc']);
    expect(peer.code).toBe(2);
    expect(peer.stderr).toMatch(/"mlc" is not one of cria, cria-wasm, wllama, llamacpp/);
    const model = join(tmp, 'tiny.gguf');
    expect((await cria(['make-bench-model', '--shape', 'smollm2-135m', '--type', 'q4_0', '--out', model])).code).toBe(0);
    const chrome = await cria(['bench', '--model', model, '--peers', 'cria', '--runs', '1'], { CHROME_PATH: join(tmp, 'no-chrome') });
    expect(chrome.code).toBe(2);
    expect(chrome.stderr).toMatch(/CHROME_PATH is set to ".*no-chrome", but no file is there/);
    const long = await cria(['bench', '--model', model, '--prompt', '4000', '--decode', '128']);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/needs 4128 positions; the engines' context for this model is 4096/);
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

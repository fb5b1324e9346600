/**
 * The benchmark suite: generates the bench models (three shapes × Q8_0, Q4_0,
 * Q4_K_M, random weights, with `cria make-bench-model`) into a folder outside
 * the repository, runs `cria bench` on each with every engine (Cria on WebGPU
 * and on WebAssembly, wllama, llama.cpp; 2 threads each; each model in its
 * own process), writes bench/results/<shape>-<type>.json, then for the
 * SmolLM2 shape the CPU engines again with one thread each
 * (<shape>-<type>-1t.json), then for SmolLM2 Q8_0 and Q4_0 onnxruntime-web
 * beside Cria on the ONNX export of the same file (ORT_RUNS:
 * <shape>-<type>-ort.json, <shape>-<type>-ort-webgpu.json), then
 * bench/RESULTS.md (results-md.ts).
 *
 *   npm run bench                                  # everything (see SETTINGS for the time it takes)
 *   npm run bench -- --only smollm2-135m --types q8_0,q4_0
 *   npm run bench -- --report-only                 # RESULTS.md again from bench/results/*.json
 *   npm run bench -- --note "Preliminary: ..."     # a note at the top of RESULTS.md
 *   npm run bench -- --ort-note "..."              # a note at the top of its onnxruntime-web section
 *   npm run bench -- --models DIR                  # where the models go (default: $TMPDIR/cria-bench-models)
 *   npm run bench -- --quick                       # QUICK_SETTINGS: a smoke run of the whole suite on a busy machine
 *   npm run bench -- --parts ort                   # only some of the runs: suite (all engines), 1t (one thread), ort (ORT_RUNS)
 *
 * Models that already exist in the folder are reused (same shape, type and seed give the same bytes).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchReport } from '../src/cli/bench/report.ts';
import { resultsMarkdown } from './results-md.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const resultsDir = join(root, 'bench/results');

export const SHAPES = ['smollm2-135m', 'qwen2.5-0.5b', 'llama-3.2-1b'] as const;
export const TYPES = ['q8_0', 'q4_0', 'q4_k_m'] as const;

/**
 * `cria bench` settings per shape, chosen so the whole suite takes well under an hour on a 2-core
 * machine where WebGPU is SwiftShader (a CPU emulation of a GPU, ~1–3 GB/s). SmolLM2-135M gets the
 * issue's full measurement (`cria bench`'s defaults: 3 runs, prompts of 128 and 512 tokens, 128
 * decoded; and 3 loads, for a median warm load); the larger shapes, where a 1B decode step takes seconds and a 512-token prefill many
 * minutes here, get shorter prompts, fewer decoded tokens and one run. On a machine with a real GPU,
 * use the defaults for every shape. Each model's time is printed; on a quiet machine here (2026-11-22)
 * the SmolLM2 files took ~9–11 min each (30 min for the three), the six others ~13 min in all.
 */
export const SETTINGS: Record<(typeof SHAPES)[number], { runs: number; loadRuns: number; prompt: number[]; decode: number }> = {
  'smollm2-135m': { runs: 3, loadRuns: 3, prompt: [128, 512], decode: 128 },
  'qwen2.5-0.5b': { runs: 1, loadRuns: 1, prompt: [16], decode: 4 },
  'llama-3.2-1b': { runs: 1, loadRuns: 1, prompt: [8], decode: 4 },
};

/** Fewer runs and tokens: to check that the whole suite works, on a machine busy with other work. */
export const QUICK_SETTINGS: typeof SETTINGS = {
  'smollm2-135m': { runs: 3, loadRuns: 1, prompt: [16, 64], decode: 8 },
  'qwen2.5-0.5b': { runs: 1, loadRuns: 1, prompt: [8], decode: 3 },
  'llama-3.2-1b': { runs: 1, loadRuns: 1, prompt: [4], decode: 3 },
};

/** threads of every CPU engine (Cria on WebAssembly, wllama, llama.cpp): the issue's protocol, whatever the core count */
export const THREADS = 2;
/** the shapes also measured with one thread per CPU engine */
export const ONE_THREAD_SHAPES: readonly (typeof SHAPES)[number][] = ['smollm2-135m'];

/**
 * onnxruntime-web beside Cria on the same weights (`cria bench --peers ...,ort-wasm|ort-webgpu`: the
 * bench exports the GGUF to ONNX itself), each in a run of its own: its WASM EP beside Cria on
 * WebAssembly and wllama at the shape's settings; its WebGPU EP beside Cria on WebGPU at small
 * settings, because on SwiftShader it is slow: SmolLM2-135M Q4_0 measured here (2026-12-07) 0.20
 * tok/s decode and 25 s for a 16-token prompt, so the shape's settings would take hours.
 */
export const ORT_SHAPES: readonly (typeof SHAPES)[number][] = ['smollm2-135m'];
export const ORT_TYPES: readonly (typeof TYPES)[number][] = ['q8_0', 'q4_0'];
export const ORT_RUNS: { suffix: string; peers: string; settings?: (typeof SETTINGS)[(typeof SHAPES)[number]] }[] = [
  { suffix: 'ort', peers: 'cria-wasm,wllama,ort-wasm' },
  { suffix: 'ort-webgpu', peers: 'cria,ort-webgpu', settings: { runs: 1, loadRuns: 1, prompt: [16, 64], decode: 8 } },
];
export const PARTS = ['suite', '1t', 'ort'] as const;

export function settingsArgs(settings: typeof SETTINGS, shape: (typeof SHAPES)[number], threads = THREADS): string[] {
  const s = settings[shape];
  return ['--runs', String(s.runs), '--load-runs', String(s.loadRuns), '--prompt', s.prompt.join(','), '--decode', String(s.decode), '--threads', String(threads)];
}

function run(args: string[], log: string): Promise<number> {
  return new Promise((resolve) => {
    process.stderr.write(`\n$ cria ${args.join(' ')}\n`);
    const p = spawn(process.execPath, [join(root, 'bin/cria.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    p.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    p.on('exit', (code) => {
      if (log) writeFileSync(log, out);
      resolve(code ?? 1);
    });
  });
}

function readResults(): BenchReport[] {
  if (!existsSync(resultsDir)) return [];
  return readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as BenchReport);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' },
      only: { type: 'string' },
      types: { type: 'string' },
      note: { type: 'string' },
      'ort-note': { type: 'string' },
      'report-only': { type: 'boolean' },
      quick: { type: 'boolean' },
      parts: { type: 'string' },
    },
  });
  const parts = values.parts ? values.parts.split(',') : [...PARTS];
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--parts: unknown part ${p} (${PARTS.join(', ')})`);
  const shapes = values.only ? (values.only.split(',') as (typeof SHAPES)[number][]) : [...SHAPES];
  const types = values.types ? (values.types.split(',') as (typeof TYPES)[number][]) : [...TYPES];
  for (const s of shapes) if (!(SHAPES as readonly string[]).includes(s)) throw new Error(`--only: unknown shape ${s} (${SHAPES.join(', ')})`);
  for (const t of types) if (!(TYPES as readonly string[]).includes(t)) throw new Error(`--types: unknown type ${t} (${TYPES.join(', ')})`);

  const settings = values.quick ? QUICK_SETTINGS : SETTINGS;
  if (!values['report-only']) {
    const models = values.models ?? join(tmpdir(), 'cria-bench-models');
    mkdirSync(models, { recursive: true });
    mkdirSync(resultsDir, { recursive: true });
    const t0 = performance.now();
    const failed: string[] = [];
    for (const shape of shapes) {
      for (const type of types) {
        const name = `${shape}-${type}`;
        const file = join(models, `${name}.gguf`);
        if (!existsSync(file) && (await run(['make-bench-model', '--shape', shape, '--type', type, '--out', file], '')) !== 0) {
          failed.push(`${name} (make-bench-model)`);
          continue;
        }
        if (parts.includes('suite')) {
          const started = performance.now();
          const code = await run(['bench', '--model', file, ...settingsArgs(settings, shape), '--json', join(resultsDir, `${name}.json`)], join(resultsDir, `${name}.txt`));
          process.stderr.write(`${name}: ${((performance.now() - started) / 60000).toFixed(1)} min${code ? `, exit ${code}` : ''}\n`);
          if (code) failed.push(name);
        }
        if (parts.includes('1t') && ONE_THREAD_SHAPES.includes(shape)) {
          const t1 = performance.now();
          const args = ['bench', '--model', file, '--peers', 'cria-wasm,wllama,llamacpp', ...settingsArgs(settings, shape, 1), '--json', join(resultsDir, `${name}-1t.json`)];
          const c1 = await run(args, join(resultsDir, `${name}-1t.txt`));
          process.stderr.write(`${name}, one thread: ${((performance.now() - t1) / 60000).toFixed(1)} min${c1 ? `, exit ${c1}` : ''}\n`);
          if (c1) failed.push(`${name} (one thread)`);
        }
        if (parts.includes('ort') && ORT_SHAPES.includes(shape) && ORT_TYPES.includes(type)) {
          for (const o of ORT_RUNS) {
            const t1 = performance.now();
            const s = o.settings ? { ...settings, [shape]: o.settings } : settings;
            const args = ['bench', '--model', file, '--peers', o.peers, ...settingsArgs(s, shape), '--json', join(resultsDir, `${name}-${o.suffix}.json`)];
            const c = await run(args, join(resultsDir, `${name}-${o.suffix}.txt`));
            process.stderr.write(`${name}, ${o.peers}: ${((performance.now() - t1) / 60000).toFixed(1)} min${c ? `, exit ${c}` : ''}\n`);
            if (c) failed.push(`${name} (${o.suffix})`);
          }
        }
      }
    }
    process.stderr.write(`\nall done in ${((performance.now() - t0) / 60000).toFixed(1)} min${failed.length ? `; failed: ${failed.join(', ')}` : ''}\n`);
  }
  const md = resultsMarkdown(readResults(), { note: values.note, ortNote: values['ort-note'], shapes: [...SHAPES], types: [...TYPES] });
  writeFileSync(join(root, 'bench/RESULTS.md'), md);
  process.stderr.write('wrote bench/RESULTS.md\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error)?.stack ?? e}\n`);
  process.exitCode = 1;
});

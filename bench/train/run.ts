/**
 * The cost of LoRA training on a SmolLM2-135M-shaped model (random weights, `cria make-bench-model`) on
 * this machine: tokens/s and peak memory, on the CPU reference in Node and on WebGPU in headless
 * Chromium (SwiftShader here). There is no WebAssembly training backend.
 *
 *   npx tsx bench/train/run.ts [--model PATH] [--tokens 64] [--steps 3] [--ctx 512] [--rank 8] [--only cpu|gpu]
 *
 * Each part: a fresh LoRA adapter (rank 8, alpha 16, the default matrices: attn_q/k/v/output and
 * ffn_gate/up/down of every layer), then `--steps` optimizer steps of batch 1 on one example of
 * `--tokens` random tokens, every position learned (the next token); a step is forward + loss + backward
 * + clipping + AdamW + writing A and B back. The first step is reported apart (warm-up: SwiftShader
 * compiles its pipelines then); tokens/s is over the steps after it.
 * Memory: the Node process's peak RSS (process.resourceUsage().maxRSS) and the model's weight bytes
 * for the CPU; for WebGPU the GPU buffer bytes the engine allocated (src/gpu/recorder.ts stats) and the
 * Chromium processes' peak RSS (VmHWM per process, and the highest sum of VmRSS sampled every 250 ms).
 * `--only cpu` / `--only gpu` runs one part and updates that part of bench/train/results.json (the
 * browser part should hold the machine's browser lock: `flock /tmp/cria-browser.lock ...`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Plugin } from 'vite';
import { Session } from '../../src/engine/session.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { metaString } from '../../src/formats/gguf-meta.ts';
import { fileSource } from '../../src/formats/source-node.ts';
import { Model } from '../../src/model/model.ts';
import type { CpuAct, CpuWeight } from '../../src/reference/backend.ts';
import { Rng } from '../../src/shared/rng.ts';
import { LoraTrainer, LORA_DEFAULTS, type TrainExample } from '../../src/train/lora-train.ts';
import { TapeBackend } from '../../src/train/tape.ts';
import type { GpuBenchResult } from './page.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: join(root, 'bench/models/smollm2-q8_0.gguf') },
    tokens: { type: 'string', default: '64' },
    steps: { type: 'string', default: '3' },
    ctx: { type: 'string', default: '512' },
    rank: { type: 'string', default: String(LORA_DEFAULTS.rank) },
    only: { type: 'string' },
  },
});
const modelPath = resolve(args.model!);
const nTokens = Number(args.tokens);
const nSteps = Number(args.steps);
const nCtx = Math.max(Number(args.ctx), nTokens);
const rank = Number(args.rank);
const only = args.only;
if (only && only !== 'cpu' && only !== 'gpu') throw new Error(`--only cpu or --only gpu, not ${only}`);

const MB = 1024 * 1024;
const log = (s: string) => process.stderr.write(`${s}\n`);
const load = () => loadavg().map((v) => Number(v.toFixed(2)));

// ---- the model ----------------------------------------------------------------------------------
if (!existsSync(modelPath)) {
  const type = /f32/i.test(modelPath) ? 'f32' : 'q8_0';
  log(`making ${modelPath} (smollm2-135m, ${type}, random weights)`);
  execFileSync(process.execPath, [join(root, 'bin/cria.js'), 'make-bench-model', '--shape', 'smollm2-135m', '--type', type, '--out', modelPath], { stdio: 'inherit' });
}
const info = await (async () => {
  const src = await fileSource(modelPath);
  try {
    const f = await readGguf(src);
    const types: Record<string, number> = {};
    for (const t of f.tensors) types[t.type.name] = (types[t.type.name] ?? 0) + t.byteLength;
    return {
      path: relative(root, modelPath),
      name: metaString(f, 'general.name', ''),
      fileBytes: src.size,
      weightBytes: f.tensors.reduce((n, t) => n + t.byteLength, 0),
      parameters: f.tensors.reduce((n, t) => n + t.nElements, 0),
      bytesByType: types,
    };
  } finally {
    await src.close();
  }
})();

/** one example: `nTokens` seeded random tokens, each position learning the next one (all learned) */
function makeExample(nVocab: number): TrainExample {
  const rng = new Rng(17);
  const seq = Array.from({ length: nTokens + 1 }, () => Math.floor(rng.uniform() * nVocab));
  return { tokens: seq.slice(0, nTokens), targets: seq.slice(1) };
}

interface StepRow {
  ms: number;
  loss: number;
  submits?: number;
  dispatches?: number;
}
const summarize = (steps: StepRow[]) => {
  const rest = steps.slice(1);
  const restMs = rest.reduce((s, r) => s + r.ms, 0);
  return {
    warmupStepSeconds: steps[0]!.ms / 1000,
    warmupTokensPerSecond: nTokens / (steps[0]!.ms / 1000),
    stepSeconds: rest.length ? restMs / rest.length / 1000 : NaN,
    tokensPerSecond: rest.length ? (nTokens * rest.length) / (restMs / 1000) : NaN,
  };
};

// ---- CPU reference (Node) -----------------------------------------------------------------------
async function runCpu() {
  const loadBefore = load();
  const rssStart = process.memoryUsage().rss;
  const src = await fileSource(modelPath);
  const tape = new TapeBackend();
  const t0 = performance.now();
  const model = (await Model.load(await readGguf(src), tape)) as Model<CpuAct, CpuWeight>;
  new Session(model, { nCtx }); // the KV cache the training forward writes (as src/train/finetune.ts makes it)
  const loadMs = performance.now() - t0;
  const rssAfterLoad = process.memoryUsage().rss;
  const trainer = await LoraTrainer.create(model, tape, { rank, batchSize: 1, seed: 0 });
  const ex = makeExample(model.config.nVocab);
  const steps: StepRow[] = [];
  for (let s = 0; s < nSteps; s++) {
    const t = performance.now();
    const r = await trainer.step([ex], nSteps);
    steps.push({ ms: performance.now() - t, loss: r.loss });
    log(`cpu step ${s + 1}/${nSteps}: ${(steps[s]!.ms / 1000).toFixed(1)} s, loss ${r.loss.toFixed(4)}`);
  }
  await src.close();
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  return {
    backend: 'CPU reference (TypeScript, src/train/tape.ts), Node, one thread',
    node: process.version,
    loadSeconds: loadMs / 1000,
    trainableParams: trainer.trainableCount,
    steps,
    ...summarize(steps),
    memory: {
      maxRssBytes,
      rssAtStartBytes: rssStart,
      rssAfterLoadBytes: rssAfterLoad,
      note: 'maxRSS: the peak of the whole Node process (tsx, the model as loaded, KV cache, the tape\'s saved activations, transient dequantized weights in backward)',
    },
    load: { before: loadBefore, after: load() },
  };
}

// ---- WebGPU in headless Chromium --------------------------------------------------------------
interface ProcMem {
  pid: number;
  type: string;
  hwmBytes: number;
}
/** Chromium processes under this Node process (the browser Playwright started and its children) */
function chromiumProcs(): { pid: number; type: string; status: string }[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const out: { pid: number; type: string; status: string }[] = [];
  for (const pid of parent.keys()) {
    if (!mine(pid)) continue;
    try {
      // (Chromium's child processes rewrite their command line as one space-separated string)
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
      if (!/chrom|headless_shell/i.test(cmd[0] ?? '')) continue;
      const type = cmd.find((a) => a.startsWith('--type='))?.slice(7) ?? 'browser';
      const sub = cmd.find((a) => a.startsWith('--utility-sub-type='))?.slice(19);
      out.push({ pid, type: sub ? `${type}:${sub}` : type, status: readFileSync(`/proc/${pid}/status`, 'utf8') });
    } catch {
      /* gone */
    }
  }
  return out;
}
const kb = (status: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;

async function runGpu() {
  const loadBefore = load();
  // imported here, not at the top: Vite and Playwright add ~240 MB to the Node process's RSS, which the CPU part measures
  const { createServer } = await import('vite');
  const { launchChromium } = await import('../../src/cli/chromium.ts');
  const { serveFileWithRanges } = await import('../../src/cli/serve-range.ts');
  process.env.CRIA_NO_HMR = '1';
  const modelRoute: Plugin = {
    name: 'bench-train-model',
    configureServer(server) {
      server.middlewares.use('/bench-train-model.gguf', (req, res) => serveFileWithRanges(req, res, modelPath));
    },
  };
  // port 0: a free port the OS picks (never Playwright's fixed 5197–5199)
  const server = await createServer({ root, plugins: [modelRoute], server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false }, logLevel: 'error' });
  await server.listen();
  const port = (server.httpServer!.address() as { port: number }).port;
  const browser = await launchChromium();
  const hwm = new Map<number, ProcMem>();
  let peakSum = 0;
  const sample = () => {
    let sum = 0;
    for (const p of chromiumProcs()) {
      sum += kb(p.status, 'VmRSS');
      hwm.set(p.pid, { pid: p.pid, type: p.type, hwmBytes: kb(p.status, 'VmHWM') });
    }
    peakSum = Math.max(peakSum, sum);
  };
  const timer = setInterval(sample, 250);
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    page.on('console', (m) => log(`  [page] ${m.text()}`));
    page.on('response', (res) => res.status() >= 400 && log(`  [http ${res.status()}] ${res.url()}`));
    await page.goto(`http://127.0.0.1:${port}/bench/train/index.html`);
    await page.waitForFunction(() => window.criaTrainBench !== undefined, undefined, { timeout: 120_000 });
    const nVocab = 49152; // SmolLM2's; the page checks the ids against the model's vocabulary
    const example = makeExample(nVocab);
    const r: GpuBenchResult = await page.evaluate((c) => window.criaTrainBench!.run(c), { url: '/bench-train-model.gguf', example, steps: nSteps, nCtx, rank });
    sample();
    const procs = [...hwm.values()];
    const byType: Record<string, number> = {};
    for (const p of procs) byType[p.type] = (byType[p.type] ?? 0) + p.hwmBytes;
    return {
      backend: 'WebGPU (src/train/gpu-tape.ts + gpu-device.ts), headless Chromium',
      browser: browser.version(),
      adapter: r.adapter,
      isFallbackAdapter: r.isFallbackAdapter,
      loadSeconds: r.loadMs / 1000,
      trainableParams: r.trainableParams,
      steps: r.steps,
      ...summarize(r.steps),
      submitsPerStep: r.steps.map((s) => s.submits),
      memory: {
        gpuBuffersAfterLoadBytes: r.bytesAfterLoad,
        gpuBuffersAfterAdapterBytes: r.bytesAfterAdapter,
        gpuBuffersAfterStepsBytes: r.bytesAfterSteps,
        gpuBuffersPeakBytes: r.peakBytes,
        buffersCreated: r.buffersCreated,
        pageJsHeapUsedBytes: r.jsHeapUsed,
        chromiumPeakRssSumSampledBytes: peakSum,
        chromiumPeakRssByProcessType: byType,
        chromiumProcesses: procs,
        note: 'GPU buffers: the recorder\'s allocated sizes (weights, KV cache, rope tables, the temp pool holding the activations the backward pass needs, staging). On SwiftShader they live in the GPU process\'s memory. Chromium RSS: VmHWM (peak) per process, summed per process type; and the highest sum of VmRSS over all its processes, sampled every 250 ms.',
      },
      load: { before: loadBefore, after: load() },
    };
  } finally {
    clearInterval(timer);
    await browser.close();
    await server.close();
  }
}

// ---- run, report ------------------------------------------------------------------------------
const resultsPath = join(here, 'results.json');
const previous = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
const cpuModel = cpus()[0]?.model ?? 'unknown';
const common = {
  machine: { nproc: cpus().length, cpu: cpuModel, memTotalBytes: totalmem(), platform: `${process.platform} ${process.arch}` },
  model: { shape: 'smollm2-135m', ...info },
  config: { rank, alpha: LORA_DEFAULTS.alpha, matrices: LORA_DEFAULTS.matrices, batchSize: 1, tokens: nTokens, learnedTokens: nTokens, steps: nSteps, nCtx },
};
const report: Record<string, unknown> = { ...previous, ...common };
if (only !== 'gpu') {
  log(`CPU reference: ${nSteps} step(s) of ${nTokens} tokens (load ${load().join(' ')})`);
  report.cpu = { date: new Date().toISOString(), config: common.config, ...(await runCpu()) };
}
if (only !== 'cpu') {
  log(`WebGPU: ${nSteps} step(s) of ${nTokens} tokens (load ${load().join(' ')})`);
  report.webgpu = { date: new Date().toISOString(), config: common.config, ...(await runGpu()) };
}
report.wasm = 'none: there is no WebAssembly training backend (training runs on the CPU reference in Node or on WebGPU)';
writeFileSync(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));

type Part = { date: string; tokensPerSecond: number; warmupStepSeconds: number; stepSeconds: number; steps: unknown[]; load: { before: number[]; after: number[] } };
const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const mb = (v: number | undefined) => (v === undefined ? '–' : `${(v / MB).toFixed(0)} MiB`);
const rows: string[] = ['| backend | date (UTC) | tokens/s (after warm-up) | s/step | first step s | peak memory | load avg before → after |', '|---|---|---|---|---|---|---|'];
const cpu = report.cpu as (Part & { memory: { maxRssBytes: number } }) | undefined;
const gpu = report.webgpu as (Part & { submitsPerStep: number[]; memory: { gpuBuffersPeakBytes: number; chromiumPeakRssSumSampledBytes: number; chromiumPeakRssByProcessType: Record<string, number> } }) | undefined;
if (cpu) rows.push(`| CPU reference (Node, 1 thread) | ${cpu.date.slice(0, 16)} | ${f(cpu.tokensPerSecond)} | ${f(cpu.stepSeconds, 1)} | ${f(cpu.warmupStepSeconds, 1)} | Node max RSS ${mb(cpu.memory.maxRssBytes)}; weights ${mb(info.weightBytes)} | ${cpu.load.before.join(' ')} → ${cpu.load.after.join(' ')} |`);
if (gpu) rows.push(`| WebGPU (SwiftShader) | ${gpu.date.slice(0, 16)} | ${f(gpu.tokensPerSecond)} | ${f(gpu.stepSeconds, 1)} | ${f(gpu.warmupStepSeconds, 1)} | GPU buffers peak ${mb(gpu.memory.gpuBuffersPeakBytes)}; Chromium RSS peak ${mb(gpu.memory.chromiumPeakRssSumSampledBytes)} (GPU process ${mb(gpu.memory.chromiumPeakRssByProcessType['gpu-process'])}); ${gpu.submitsPerStep.join('/')} submit(s) per step | ${gpu.load.before.join(' ')} → ${gpu.load.after.join(' ')} |`);
rows.push(`| WebAssembly | – | no training backend | | | | |`);
console.log(`\nLoRA rank ${rank} on ${info.name} (${mb(info.weightBytes)} of weights), batch 1 × ${nTokens} tokens, nCtx ${nCtx}\n`);
console.log(rows.join('\n'));

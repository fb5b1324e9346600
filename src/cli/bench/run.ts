/**
 * `cria bench`, start to end: read the model's header, plan the requests,
 * run Cria on WebGPU, Cria on WebAssembly, wllama, onnxruntime-web's WASM
 * and WebGPU EPs (on the model's ONNX export: ort.ts) and WebLLM (on its MLC
 * export, with the model library given: webllm.ts) in one headless Chromium
 * (in that order, never at the same time; the exports are written into a
 * temporary folder removed at the end), then native llama.cpp in this
 * process, and put the report together. An engine that fails is reported
 * with its error, one that cannot run (WebLLM without a library) as skipped
 * with the reason; the others' figures are kept.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { CriaError, isCriaError } from '../../shared/errors.ts';
import { readGguf } from '../../formats/gguf.ts';
import { createTokenizer } from '../../tokenizer/index.ts';
import { deviceName } from '../engine.ts';
import { locateModel, openSource, type ModelLocation } from '../model-source.ts';
import { withBenchBrowser } from './browser.ts';
import { benchCria, unwrap } from './cria.ts';
import { CRIA_ENGINES, engineFigures, ORT_ENGINES, ratioTargets, ratios, roofline, type EngineName, type EngineRaw, type EngineReport, type OrtEngineName, type Ratios } from './figures.ts';
import { benchLlamaCpp } from './llamacpp.ts';
import { modelFacts } from './model-facts.ts';
import { benchOrt, ortExports } from './ort.ts';
import { BENCH_SCHEMA, benchPlan } from './plan.ts';
import type { BenchReport } from './report.ts';
import { benchWllama, wllamaVersion } from './wllama.ts';
import { benchWebllm, exportForWebllm, webllmSkipReason, webllmVersion, type WebllmExport } from './webllm.ts';

export interface BenchOptions {
  model: string;
  /** in this order: cria first, then the peers */
  engines: EngineName[];
  runs: number;
  /** cold + warm load pairs (default: runs) */
  loadRuns: number;
  prompts: number[];
  decode: number;
  threads: number;
  cacheDir?: string;
  /** the webllm peer's model library (.wasm), compiled for the model's shape (webllm.ts) */
  webllmLib?: string;
  /** Cria's engines also decode under a JSON Schema (structured output's cost: plan.ts BENCH_SCHEMA) */
  schema?: boolean;
  log: (line: string) => void;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

async function criaVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'kernels'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return `${pkg.version} (${commit}${dirty ? ', with uncommitted changes' : ''})`;
  } catch {
    return pkg.version;
  }
}

function failure(e: unknown): EngineReport {
  return isCriaError(e) ? { ok: false, error: e.message, code: e.code } : { ok: false, error: (e as Error)?.message ?? String(e) };
}

/** run one engine; its failure becomes its report */
async function attempt(name: string, log: (s: string) => void, f: () => Promise<EngineRaw>): Promise<EngineReport> {
  try {
    return engineFigures(await f());
  } catch (e) {
    const r = failure(e);
    log(`${name}: failed: ${(r as { error: string }).error}`);
    return r;
  }
}

/** A local file for the native peer: the MODEL path, or a URL model downloaded to a temporary folder. */
async function localFile(location: GgufLocation, log: (s: string) => void): Promise<{ path: string; cleanup: () => Promise<void> }> {
  if ('path' in location) return { path: location.path, cleanup: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'cria-bench-'));
  const path = join(dir, 'model.gguf');
  log(`llama.cpp: downloading ${location.url} for the native peer`);
  const res = await fetch(location.url);
  if (!res.ok || !res.body) throw new Error(`downloading ${location.url}: HTTP ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(path));
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A GGUF file, local or at a URL (what cria bench takes) */
type GgufLocation = Extract<ModelLocation, { url: string } | { path: string }>;
const isGguf = (l: ModelLocation): l is GgufLocation => 'path' in l || 'url' in l;

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const date = new Date().toISOString();
  const location = await locateModel(o.model); // a missing file is reported before anything starts
  if (!isGguf(location)) {
    const where = 'dir' in location ? location.dir : 'url' in location.onnx ? location.onnx.url : location.onnx.repo;
    throw new CriaError('bad-argument', `${where} is an ONNX repository; cria bench takes a GGUF file (and runs onnxruntime-web on its ONNX export with --peers ort)`);
  }
  const source = await openSource('path' in location ? location.path : location.url);
  let facts;
  let tokenizer;
  try {
    const file = await readGguf(source);
    facts = modelFacts(file);
    tokenizer = createTokenizer(file.metadata);
  } finally {
    await (source as { close?: () => Promise<void> }).close?.();
  }
  const longest = Math.max(...o.prompts) + o.decode;
  if (longest > facts.context) throw new CriaError('bad-argument', `a prompt of ${Math.max(...o.prompts)} tokens plus ${o.decode} decoded needs ${longest} positions; the engines' context for this model is ${facts.context}`);
  const plan = { ...benchPlan(tokenizer, o.runs, o.prompts, o.decode, o.loadRuns), ...(o.schema ? { schema: BENCH_SCHEMA } : {}) };
  const cpu = cpus();
  const report: BenchReport = {
    cria_bench: 2,
    date,
    model: {
      source: o.model,
      name: facts.name,
      architecture: facts.architecture,
      parameters: facts.parameters,
      file_bytes: facts.fileBytes,
      tensor_types: facts.tensorTypes,
      n_layer: facts.nLayer,
      n_vocab: facts.nVocab,
      weight_bytes_per_token: facts.weightBytesPerToken,
    },
    settings: {
      engines: o.engines,
      runs: o.runs,
      load_runs: o.loadRuns,
      prompt_tokens: o.prompts,
      decode_tokens: o.decode,
      threads: o.threads,
      context: facts.context,
      prompts: "texts of exactly the given number of tokens (decoded pseudo-random ordinary tokens), the same for every engine: Cria and wllama tokenize the text; llama.cpp, onnxruntime-web and WebLLM (on the exports) get Cria's tokens; every engine's evaluated count is checked; no cached prefix is reused",
    },
    machine: { cpu: cpu[0]?.model?.trim() ?? 'unknown', cores: cpu.length, memory_bytes: totalmem(), os: `${osType()} ${release()}`, node: process.version },
    browser: null,
    adapter: null,
    roofline: null,
    engines: {},
    ratios: {},
  };

  const isOrt = (e: EngineName): e is OrtEngineName => (ORT_ENGINES as readonly string[]).includes(e);
  const inBrowser = o.engines.filter((e) => e === 'cria' || e === 'cria-wasm' || e === 'wllama' || isOrt(e) || e === 'webllm');
  if (o.engines.includes('wllama')) {
    try {
      wllamaVersion();
    } catch (e) {
      report.engines.wllama = failure(e);
      inBrowser.splice(inBrowser.indexOf('wllama'), 1);
    }
  }
  if (o.engines.includes('webllm')) {
    const skip = webllmSkipReason(o.webllmLib);
    try {
      if (skip) {
        o.log(`webllm: SKIPPED: ${skip}`);
        report.engines.webllm = { ok: false, error: skip, code: 'bad-argument', skipped: true };
      } else webllmVersion();
    } catch (e) {
      report.engines.webllm = failure(e);
    }
    if (report.engines.webllm) inBrowser.splice(inBrowser.indexOf('webllm'), 1);
  }
  // the exports of the model (ONNX for ORT's engines, MLC for WebLLM): each written when the first engine that needs it runs, removed at the end
  // (named cria-bench-onnx-* since ORT came first: test/unit/cli-bench.test.ts checks that no such folder is left behind)
  const exportDir = inBrowser.some((e) => isOrt(e) || e === 'webllm') ? await mkdtemp(join(tmpdir(), 'cria-bench-onnx-')) : undefined;
  // Ctrl-C ends the process from browser.ts's handler, past the finally below
  const removeExport = () => exportDir && rmSync(exportDir, { recursive: true, force: true });
  process.on('exit', removeExport);
  try {
    if (inBrowser.length) {
      const version = await criaVersion();
      const exports = exportDir ? ortExports(o.model, exportDir, o.log) : undefined;
      let mlc: Promise<WebllmExport> | undefined;
      const mlcExport = () => (mlc ??= exportForWebllm(o.model, o.webllmLib!, exportDir!, o.log));
      await withBenchBrowser(
        location,
        async (b) => {
          report.browser = { executable: b.executable, version: b.version };
          o.log(`chromium ${b.version} (${b.executable}); model at ${b.modelUrl}`);
          if (inBrowser.includes('cria')) {
            let criaDecode: number | null = null;
            try {
              o.log('cria: measuring the adapter');
              const d = unwrap(await b.call('device'), 'the adapter');
              report.adapter = {
                name: deviceName(d.info),
                vendor: d.info.vendor,
                architecture: d.info.architecture,
                description: d.info.description,
                fallback: d.info.isFallbackAdapter,
                features: d.info.features,
              };
              o.log(`cria: ${report.adapter.name}: read ${d.measurement.readGBps.toFixed(2)} GB/s, ${d.measurement.fmaGflops.toFixed(1)} GFLOP/s`);
              report.engines.cria = await attempt('cria', o.log, () => benchCria(b, plan, facts.nLayer, version, o.log));
              if (report.engines.cria.ok) criaDecode = report.engines.cria.decode_tokens_per_s;
              report.roofline = roofline(d.measurement.readGBps, d.measurement.fmaGflops, d.measurement.timing ?? null, facts.weightBytesPerToken, criaDecode);
            } catch (e) {
              report.engines.cria ??= failure(e);
              o.log(`cria: failed: ${(e as Error).message}`);
            }
          }
          if (inBrowser.includes('cria-wasm')) {
            const threads = o.threads;
            report.engines['cria-wasm'] = await attempt('cria-wasm', o.log, () => benchCria(b, plan, facts.nLayer, version, o.log, { backend: 'wasm', threads }));
          }
          if (inBrowser.includes('wllama')) report.engines.wllama = await attempt('wllama', o.log, () => benchWllama(b, plan, o.threads, facts.context, o.log));
          for (const e of inBrowser.filter(isOrt)) report.engines[e] = await attempt(e, o.log, () => benchOrt(b, plan, facts.nLayer, e, exports!, facts.tensorTypes, o.threads, o.log));
          if (inBrowser.includes('webllm')) report.engines.webllm = await attempt('webllm', o.log, () => benchWebllm(b, plan, facts.context, mlcExport, o.log));
        },
        { cacheDir: o.cacheDir, exportDir },
      );
    }
  } finally {
    process.off('exit', removeExport);
    if (exportDir) await rm(exportDir, { recursive: true, force: true });
  }
  if (o.engines.includes('llamacpp')) {
    report.engines.llamacpp = await attempt('llama.cpp', o.log, async () => {
      const file = await localFile(location, o.log);
      try {
        return await benchLlamaCpp(file.path, plan, o.threads, facts.context, o.log);
      } finally {
        await file.cleanup();
      }
    });
  }
  for (const subject of CRIA_ENGINES) {
    const s = report.engines[subject];
    if (!o.engines.includes(subject)) continue;
    const row: Partial<Record<EngineName, Ratios | null>> = {};
    for (const other of ratioTargets(subject).filter((e) => o.engines.includes(e))) {
      const p = report.engines[other];
      row[other] = s?.ok && p?.ok ? ratios(s, p) : null;
    }
    report.ratios[subject] = row;
  }
  return report;
}

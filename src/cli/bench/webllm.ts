/**
 * WebLLM in `cria bench` (engine `webllm`): the GGUF is exported with `cria export mlc`'s exporter
 * (src/export/mlc.ts) into the bench's temporary export folder, laid out as WebLLM reads a model
 * (`webllm/resolve/main/` + mlc-chat-config.json, ndarray-cache.json, params_shard_*.bin,
 * tokenizer.json), beside the model library (`webllm-lib/<name>.wasm`); the bench's server serves the
 * folder (browser.ts, serve-folder.ts) and the page runs WebLLM's own MLCEngine on it
 * (page/webllm-peer.ts).
 *
 * The model library is WebLLM's compiled model (its kernels, for one architecture, shape and
 * quantization): `--webllm-lib FILE`, a .wasm of the v0_2_48 series that the pinned @mlc-ai/web-llm
 * runs (mlc-ai/binary-mlc-llm-libs, web-llm-models/v0_2_48/), built for the GGUF's shape. The bench
 * fetches nothing from the network, so without it the peer is skipped, and says why. The export is
 * checked against the library's parameter list (names, shapes, dtypes) before a weight is written,
 * and its quantization is the library's: q4f32_1 holds Q4_0 exactly (it needs a `--pure` Q4_0 GGUF),
 * q0f32 holds any type as float32.
 *
 * The measurement: the same loads (cold: from the server into WebLLM's emptied Cache API storage;
 * warm: from it, in a new MLCEngine), the same prompts given as Cria's token ids (PROMPT_IDS_NOTE),
 * greedy, end-of-generation ignored, from an empty KV cache; time to first token = the prompt's step
 * until its token is known, decode = the N − 1 one-token steps after it (page/webllm-peer.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MLC_QUANTS, mlcExportFiles, planMlcExport, type MlcQuant } from '../../export/mlc.ts';
import { readGguf } from '../../formats/gguf.ts';
import { readLibraryMetadata } from '../../formats/mlc/library.ts';
import { CriaError } from '../../shared/errors.ts';
import { openSource } from '../model-source.ts';
import type { BenchBrowser } from './browser.ts';
import { unwrap } from './cria.ts';
import type { EngineRaw, RawPrefill, RawRun } from './figures.ts';
import { PROMPT_IDS_NOTE } from './ort.ts';
import type { WebllmRunResult } from './page/api.ts';
import type { BenchPlan } from './plan.ts';
import type { BenchPrompt } from './prompt.ts';
import { packageVersion } from './versions.ts';

/** where the export and the library go in the bench's export folder (the model's URL is the folder's + MODEL_DIR) */
export const WEBLLM_MODEL_DIR = 'webllm/';
export const WEBLLM_LIB_DIR = 'webllm-lib/';

/** Why the webllm peer cannot run, or undefined when it can (a library was given). */
export function webllmSkipReason(lib: string | undefined): string | undefined {
  if (lib !== undefined) return undefined;
  return (
    'no --webllm-lib FILE. WebLLM runs a model with its model library, a .wasm compiled for the model\'s architecture, shape and quantization ' +
    '(for the pinned @mlc-ai/web-llm: the v0_2_48 series of mlc-ai/binary-mlc-llm-libs, e.g. web-llm-models/v0_2_48/Qwen2-0.5B-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm ' +
    'for a qwen2.5-0.5b-shaped --pure Q4_0 GGUF); cria bench fetches nothing from the network. Download one and pass it with --webllm-lib'
  );
}

/** The installed @mlc-ai/web-llm, as the report names it. */
export function webllmVersion(): string {
  const v = packageVersion('@mlc-ai/web-llm');
  if (!v) throw new CriaError('bad-argument', '@mlc-ai/web-llm is not installed (it is a dependency of Cria: run `npm install`), or leave webllm out of --peers');
  return `@mlc-ai/web-llm ${v}`;
}

/** The export's quantization: the library's, when Cria writes it. */
export function webllmQuant(quantization: string, libName: string): MlcQuant {
  if ((MLC_QUANTS as readonly string[]).includes(quantization)) return quantization as MlcQuant;
  throw new CriaError('bad-argument', `--webllm-lib ${libName} is compiled for ${quantization} weights; cria export mlc writes ${MLC_QUANTS.join(' and ')}: choose a library built for one of them`, { quantization });
}

/** The export as the peer runs it. */
export interface WebllmExport {
  /** the library's file name (served under WEBLLM_LIB_DIR) */
  libName: string;
  quant: MlcQuant;
  /** the library's context window (its KV cache is sized for at most this) */
  contextWindowSize: number;
  /** MLC weight → how it was made ("q4f32_1 from Q4_0 (exact)", "float32 from Q8_0") */
  how: ReadonlyMap<string, string>;
  warnings: readonly string[];
}

/** Export `model` for WebLLM with the library `libFile` into `dir` (WEBLLM_MODEL_DIR + resolve/main/, WEBLLM_LIB_DIR). */
export async function exportForWebllm(model: string, libFile: string, dir: string, log: (s: string) => void): Promise<WebllmExport> {
  const t0 = performance.now();
  const libName = basename(libFile);
  const library = new Uint8Array(await readFile(libFile));
  const quant = webllmQuant(readLibraryMetadata(library, libName).quantization, libName);
  log(`webllm: exporting the model to MLC ${quant} for ${libName}`);
  const source = await openSource(model);
  try {
    const file = await readGguf(source);
    const plan = planMlcExport(file, { quant, library, libraryName: libName });
    let bytes = 0;
    let files = 0;
    for await (const f of mlcExportFiles(file, plan)) {
      const at = join(dir, WEBLLM_MODEL_DIR, 'resolve', 'main', f.path);
      await mkdir(dirname(at), { recursive: true });
      await writeFile(at, f.bytes);
      bytes += f.bytes.byteLength;
      files++;
    }
    await mkdir(join(dir, WEBLLM_LIB_DIR), { recursive: true });
    await writeFile(join(dir, WEBLLM_LIB_DIR, libName), library);
    for (const w of plan.warnings) log(`webllm: export: ${w}`);
    log(`webllm: exported ${files} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { libName, quant, contextWindowSize: plan.contextWindowSize, how: plan.how, warnings: plan.warnings };
  } finally {
    await (source as { close?: () => Promise<void> }).close?.();
  }
}

/** The engine's notes: how its weights went in, with which library, and how it was stepped. */
export function webllmNotes(ex: WebllmExport, nCtx: number, context: number): string[] {
  const counts = new Map<string, number>();
  for (const how of ex.how.values()) counts.set(how, (counts.get(how) ?? 0) + 1);
  const notes = [
    `weights as WebLLM ran them (cria export mlc of the same GGUF, ${ex.quant}): ${[...counts].map(([how, n]) => `${n} ${how}`).join(', ')}; model library ${ex.libName}`,
    "stepped with WebLLM's forwardTokensAndSample (the call its chat API makes per step; greedy, every step's logits read back and sampled on the CPU, as WebLLM does)",
  ];
  if (nCtx < context) notes.push(`context ${nCtx}: the model library's window (the other engines got ${context})`);
  return notes;
}

/** WebLLM on the model's MLC export, measured as the other engines are (its prompts as token ids: PROMPT_IDS_NOTE). */
export async function benchWebllm(b: BenchBrowser, plan: BenchPlan, context: number, exported: () => Promise<WebllmExport>, log: (s: string) => void): Promise<EngineRaw> {
  const version = webllmVersion();
  if (!b.exportUrl) throw new CriaError('internal', 'the bench page serves no export folder');
  const ex = await exported();
  const modelUrl = b.exportUrl + WEBLLM_MODEL_DIR;
  const libUrl = b.exportUrl + WEBLLM_LIB_DIR + encodeURIComponent(ex.libName);
  const nCtx = Math.min(context, ex.contextWindowSize);
  const loads = { coldMs: [] as number[], warmMs: [] as number[] };
  for (let r = 0; r < plan.loadRuns; r++) {
    const cold = unwrap(await b.call('webllmLoad', modelUrl, libUrl, true, nCtx), 'cold load');
    loads.coldMs.push(cold.ms);
    const warm = unwrap(await b.call('webllmLoad', modelUrl, libUrl, false, nCtx), 'warm load');
    loads.warmMs.push(warm.ms);
    log(`webllm: load ${r + 1}/${plan.loadRuns}: cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms`);
  }
  const run = async (prompt: BenchPrompt, maxTokens: number, what: string): Promise<WebllmRunResult> => {
    const res = unwrap(await b.call('webllmRun', prompt.ids, maxTokens), what);
    if (res.promptTokens !== prompt.ids.length) throw new CriaError('internal', `${what}: WebLLM evaluated ${res.promptTokens} prompt tokens, not ${prompt.ids.length}`);
    if (res.tokens.length !== maxTokens) throw new CriaError('internal', `${what}: WebLLM generated ${res.tokens.length} tokens, not ${maxTokens}`);
    return res;
  };
  await run(plan.warmup.prompt, plan.warmup.maxTokens, 'warm-up');
  const runs: RawRun[] = [];
  for (let r = 0; r < plan.runs; r++) {
    const p = plan.prompts[r];
    const prefill: RawPrefill[] = [];
    for (const prompt of p.prefill) {
      const res = await run(prompt, 1, `prefill of ${prompt.ids.length}`);
      prefill.push({ tokens: prompt.ids.length, ms: res.prefillMs });
      log(`webllm: run ${r + 1}/${plan.runs}: first token after ${prompt.ids.length} prompt tokens in ${res.prefillMs.toFixed(0)} ms`);
    }
    const d = await run(p.decode, plan.decode, `decode of ${plan.decode}`);
    runs.push({ prefill, decode: { tokens: plan.decode, steps: plan.decode - 1, ms: d.decodeMs } });
    log(`webllm: run ${r + 1}/${plan.runs}: ${plan.decode} tokens decoded, ${((1000 * (plan.decode - 1)) / d.decodeMs).toFixed(3)} tok/s`);
  }
  unwrap(await b.call('webllmClose'), 'close');
  return { version, loads, runs, notes: [...webllmNotes(ex, nCtx, context), PROMPT_IDS_NOTE] };
}

/**
 * Cria in the bench page: cold and warm loads (a new engine worker each),
 * then the plan's requests on the last one, the structure per decoded token
 * and the peak GPU memory (page/gpu-memory.ts).
 *
 * Before every request the page evaluates the plan's reset token alone, so
 * the session shares no prefix with the prompt and evaluates all of it (the
 * engine reuses a cached prefix, as a chat needs); the evaluated count is
 * checked.
 *
 * Structure per decoded token: a request of the first prompt length that
 * generates 2 tokens (A), then the decode run (B, N tokens): B − A is N − 2
 * steady decode steps. In the last run A is preceded by one more request of
 * the same shape, so A and B start from the same state (the temporaries'
 * pool keeps only recently used sizes; a step after a differently shaped
 * request may create buffers that a steady step never does).
 */
import type { ModelInfo } from '../../protocol/api.ts';
import { CriaError } from '../../shared/errors.ts';
import type { BenchBrowser } from './browser.ts';
import { loadParts, structurePerToken, type EngineRaw, type LoadParts, type RawPrefill, type RawRun } from './figures.ts';
import type { BenchResult, CriaBenchEngine, CriaRunResult } from './page/api.ts';
import type { BenchPlan } from './plan.ts';
import type { BenchPrompt } from './prompt.ts';

export function unwrap<T>(r: BenchResult<T>, what: string): T {
  if ('error' in r) throw new CriaError((r.error.code as never) ?? 'internal', `${what}: ${r.error.message}`);
  return r.ok;
}

/**
 * Cria on one backend: WebGPU (with the GPU memory probe and the structure per token), or WebAssembly
 * with `engine.threads` threads (`log` lines start with `cria` or `cria-wasm`).
 */
export async function benchCria(b: BenchBrowser, plan: BenchPlan, nLayer: number, version: string, log: (s: string) => void, engine: CriaBenchEngine = { backend: 'webgpu' }): Promise<EngineRaw> {
  return benchInPage(b, plan, nLayer, version, log, { name: engine.backend === 'webgpu' ? 'cria' : 'cria-wasm', url: b.modelUrl, engine });
}

/** One engine the page runs through Cria's client: Cria's own on the GGUF, or onnxruntime-web (`engine.runtime: 'onnx'`) on its export. */
export interface PageEngine {
  /** the engine's name in `log` lines: cria, cria-wasm, ort-wasm, ort-webgpu */
  name: string;
  /** the GGUF's URL, or the base URL of the ONNX export */
  url: string;
  engine: CriaBenchEngine;
  /**
   * give the engine the prompts' token ids (Cria's tokenization, as llama.cpp gets them) instead of
   * their texts: the same tokens evaluated whatever the model's own tokenizer makes of the text
   * (tokenizing is outside the engine's timers either way)
   */
  promptIds?: boolean;
}

/**
 * The measurement of Cria's engines, for any engine behind Cria's client: the same loads (cold: into
 * an emptied cache; warm: from it, in a new worker already up), the same requests and the same timers
 * (the engine's usage: time to the first token, decode time of the N − 1 steps after it), so that
 * Cria's figures and onnxruntime-web's compare as measured. Structure per token: Cria on WebGPU only
 * (onnxruntime-web has no such counters); peak GPU memory: every buffer the worker's device made, so
 * for onnxruntime-web's WebGPU EP too.
 */
export async function benchInPage(b: BenchBrowser, plan: BenchPlan, nLayer: number, version: string, log: (s: string) => void, pe: PageEngine): Promise<EngineRaw> {
  const { engine } = pe;
  const gpu = engine.backend === 'webgpu';
  const ort = engine.runtime === 'onnx';
  const who = ort ? 'onnxruntime-web' : 'Cria';
  const say = (s: string) => log(`${pe.name}: ${s}`);
  const loads = { coldMs: [] as number[], warmMs: [] as number[], coldParts: [] as LoadParts[], warmParts: [] as LoadParts[], startMs: [] as number[] };
  let activations: string | undefined;
  let backend: ModelInfo['backend'] | undefined;
  const parts = (p?: LoadParts) => (p ? ` (${p.prepare.toFixed(0)} + ${p.upload.toFixed(0)} uploading + ${p.warmup.toFixed(0)} compiling and warming up)` : '');
  for (let r = 0; r < plan.loadRuns; r++) {
    const cold = unwrap(await b.call('criaLoad', pe.url, true, engine), 'cold load');
    loads.coldMs.push(cold.ms);
    activations = cold.info.activations;
    backend = cold.info.backend;
    const coldParts = loadParts(cold.phaseStartMs, cold.ms);
    if (coldParts) loads.coldParts.push(coldParts);
    const warm = unwrap(await b.call('criaLoad', pe.url, false, engine), 'warm load');
    loads.warmMs.push(warm.ms);
    loads.startMs.push(cold.startMs, warm.startMs);
    const warmParts = loadParts(warm.phaseStartMs, warm.ms);
    if (warmParts) loads.warmParts.push(warmParts);
    say(`load ${r + 1}/${plan.loadRuns}: cold ${cold.ms.toFixed(0)} ms${parts(coldParts)}, warm ${warm.ms.toFixed(0)} ms${parts(warmParts)}; engine start ${cold.startMs.toFixed(0)} / ${warm.startMs.toFixed(0)} ms before them`);
  }
  const run = async (prompt: BenchPrompt, maxTokens: number, what: string, schema?: Record<string, unknown>): Promise<CriaRunResult> => {
    const res = unwrap(await b.call('criaRun', pe.promptIds ? prompt.ids : prompt.text, maxTokens, plan.resetToken, schema), what);
    const n = prompt.ids.length;
    if (res.usage.prompt_tokens !== n) throw new CriaError('internal', `${what}: ${who} tokenized the prompt into ${res.usage.prompt_tokens} tokens, not ${n}`);
    if (res.usage.prefill_tokens !== n) throw new CriaError('internal', `${what}: ${who} evaluated ${res.usage.prefill_tokens} of the ${n} prompt tokens (a reused prefix?)`);
    if (res.completionTokens !== maxTokens) throw new CriaError('internal', `${what}: ${who} generated ${res.completionTokens} tokens, not ${maxTokens} (${res.finishReason})`);
    return res;
  };
  await run(plan.warmup.prompt, plan.warmup.maxTokens, 'warm-up');

  const runs: RawRun[] = [];
  const schemaRuns: NonNullable<EngineRaw['schemaDecode']> = [];
  let structure: EngineRaw['structure'];
  const steps = plan.decode > 2;
  for (let r = 0; r < plan.runs; r++) {
    const p = plan.prompts[r];
    const last = r === plan.runs - 1;
    const prefill: RawPrefill[] = [];
    const measure = async (prompt: BenchPrompt, maxTokens: number) => {
      const res = await run(prompt, maxTokens, `prefill of ${prompt.ids.length}`);
      prefill.push({ tokens: prompt.ids.length, ms: res.usage.time_to_first_token_ms });
      say(`run ${r + 1}/${plan.runs}: first token after ${prompt.ids.length} prompt tokens in ${res.usage.time_to_first_token_ms.toFixed(0)} ms`);
      return res;
    };
    // the other lengths first, then the first length (A) right before the decode run (B)
    for (const prompt of p.prefill.slice(1)) await measure(prompt, 1);
    if (last && steps) await run(plan.structurePrime, 2, 'structure (priming request)');
    const a = await measure(p.prefill[0], steps ? 2 : 1);
    prefill.unshift(prefill.pop()!); // in the order of the lengths
    const d = await run(p.decode, plan.decode, `decode of ${plan.decode}`);
    const u = d.usage;
    const decodeMs = u.decode_tokens_per_s > 0 ? (1000 * u.completion_tokens) / u.decode_tokens_per_s : NaN; // the engine's decode time: N − 1 steps
    runs.push({ prefill, decode: { tokens: plan.decode, steps: plan.decode - 1, ms: decodeMs } });
    say(`run ${r + 1}/${plan.runs}: ${plan.decode} tokens decoded, ${((1000 * (plan.decode - 1)) / decodeMs).toFixed(2)} tok/s`);
    if (plan.schema && !ort) {
      // the same decode under a JSON Schema (the grammar engine's mask at every step)
      const s = await run(p.decode, plan.decode, `decode of ${plan.decode} under a JSON Schema`, plan.schema);
      const su = s.usage;
      const ms = su.decode_tokens_per_s > 0 ? (1000 * su.completion_tokens) / su.decode_tokens_per_s : NaN;
      schemaRuns.push({ steps: plan.decode - 1, ms, constraintMs: su.constraint_ms ?? NaN, totalMs: ms + su.time_to_first_token_ms });
      say(`run ${r + 1}/${plan.runs}: ${plan.decode} tokens decoded under a JSON Schema, ${((1000 * (plan.decode - 1)) / ms).toFixed(2)} tok/s (the grammar engine ${(su.constraint_ms ?? NaN).toFixed(0)} ms of it)`);
    }
    if (gpu && !ort && last && steps) structure = structurePerToken(a.stats, d.stats, plan.decode - 2, nLayer);
  }
  const memory = gpu ? unwrap(await b.call('criaMemory'), 'GPU memory') : undefined;
  unwrap(await b.call('criaClose'), 'close');
  const notes: string[] = [];
  if (backend && !gpu) notes.push(`${backend.detail}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}`);
  if (backend && gpu && ort) notes.push(backend.detail);
  if (!gpu && engine.threads > 1 && backend && backend.threads < engine.threads) notes.push(`asked for ${engine.threads} threads, ran ${backend.threads}: ${backend.reason}`);
  // which products ran: int8 activations (CPU adapters' default for Q8_0/Q4_0) or f32
  if (gpu && !ort && activations) notes.push(`Q8_0/Q4_0 products with ${activations} activations${activations === 'int8' ? ' (x quantized per block of 32, integer dot products, as llama.cpp on the CPU)' : ''}`);
  return { version, threads: gpu ? undefined : backend?.threads, loads, runs, gpuPeakBytes: memory?.peakBytes, structure, notes, ...(schemaRuns.length ? { schemaDecode: schemaRuns } : {}) };
}

/**
 * onnxruntime-web in `cria bench` (engines `ort-wasm` and `ort-webgpu`): the GGUF is exported with
 * `cria export onnx`'s exporter (src/export/onnx.ts) into a temporary folder that the bench's server
 * serves (browser.ts, serve-folder.ts), and the page loads that repository by URL in Cria's engine
 * worker, whose ONNX runtime runs it on onnxruntime-web's WASM or WebGPU execution provider. The
 * measurement is Cria's own (cria.ts `benchInPage`): same loads, same prompts, same requests, same
 * timers, so Cria ÷ ORT compares the two runtimes on the same weights.
 *
 * Weights: Q4_0 go in as 4-bit MatMulNBits (the same codes and scales), Q8_0 as 8-bit MatMulNBits
 * for the WASM EP; the WebGPU EP computes MatMulNBits with 2 and 4 bits only (an 8-bit graph is
 * refused there), so for it a model with Q8_0 tensors is exported again with those as f32. Every
 * other type (K-quants, F16) is dequantized to f32 by the exporter: ORT's figures are then on f32
 * weights. The engine's notes say which (`ortWeightNotes`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportOnnx } from '../../export/onnx.ts';
import { readGguf } from '../../formats/gguf.ts';
import { CriaError } from '../../shared/errors.ts';
import { openSource } from '../model-source.ts';
import type { BenchBrowser } from './browser.ts';
import { benchInPage } from './cria.ts';
import type { EngineRaw, OrtEngineName } from './figures.ts';
import type { BenchPlan } from './plan.ts';
import { packageVersion } from './versions.ts';

/** How Q8_0 weights are exported: 8-bit MatMulNBits, or f32 */
export type OrtExportKind = 'nbits' | 'f32';

/** The export an ORT engine runs: Q8_0 as f32 for the WebGPU EP (it computes 2- and 4-bit MatMulNBits only), as 8-bit MatMulNBits otherwise. */
export function ortExportKind(engine: OrtEngineName, tensorTypes: Record<string, number>): OrtExportKind {
  return engine === 'ort-webgpu' && (tensorTypes.Q8_0 ?? 0) > 0 ? 'f32' : 'nbits';
}

/** The engine's notes on its weights, from the exporter's account of each (`MatMulNBits 4-bit (from Q4_0)`, `f32 (from Q6_K)`, …). */
export function ortWeightNotes(weights: ReadonlyMap<string, string>, engine: OrtEngineName): string[] {
  const counts = new Map<string, number>();
  for (const how of weights.values()) counts.set(how, (counts.get(how) ?? 0) + 1);
  const notes = [`weights as onnxruntime-web ran them (cria export onnx of the same GGUF): ${[...counts].map(([how, n]) => `${n} ${how}`).join(', ')}`];
  const dequantized = new Set([...weights.values()].map((how) => /^f32 \(from (\w+)\)$/.exec(how)?.[1]).filter((t): t is string => t !== undefined));
  for (const t of dequantized) {
    if (t === 'Q8_0' && engine === 'ort-webgpu') notes.push("Q8_0 weights exported as f32: onnxruntime-web's WebGPU EP computes MatMulNBits with 2 and 4 bits only (an 8-bit graph is refused there)");
    else notes.push(`${t} weights dequantized to f32 by the exporter: these figures are on f32 weights`);
  }
  return notes;
}

/** The installed onnxruntime-web, as the report names it. */
export function ortVersion(): string {
  const v = packageVersion('onnxruntime-web');
  if (!v) throw new CriaError('bad-argument', 'onnxruntime-web is not installed (it is a dependency of Cria: run `npm install`), or leave ort-wasm and ort-webgpu out of --peers');
  return `onnxruntime-web ${v}`;
}

/** The model's exports, each written into `dir/<kind>/` when an engine first needs it. */
export interface OrtExports {
  get(kind: OrtExportKind): Promise<ReadonlyMap<string, string>>;
}

export function ortExports(model: string, dir: string, log: (s: string) => void): OrtExports {
  const made = new Map<OrtExportKind, Promise<ReadonlyMap<string, string>>>();
  const make = async (kind: OrtExportKind): Promise<ReadonlyMap<string, string>> => {
    const t0 = performance.now();
    log(`ort: exporting the model to ONNX (Q8_0 weights as ${kind === 'f32' ? 'f32' : '8-bit MatMulNBits'})`);
    const source = await openSource(model);
    try {
      const ex = await exportOnnx(await readGguf(source), { q8: kind });
      let bytes = 0;
      for (const [path, data] of ex.files) {
        const at = join(dir, kind, path);
        await mkdir(dirname(at), { recursive: true });
        await writeFile(at, data);
        bytes += data.byteLength;
      }
      for (const w of ex.warnings) log(`ort: export: ${w}`);
      log(`ort: exported ${ex.files.size} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return ex.weights;
    } finally {
      await (source as { close?: () => Promise<void> }).close?.();
    }
  };
  return {
    get(kind) {
      let p = made.get(kind);
      if (!p) made.set(kind, (p = make(kind)));
      return p;
    },
  };
}

/**
 * The prompts go in as token ids: what the export's tokenizer.json makes of a text is the exporter's
 * business (test/unit/onnx-tokenizer.test.ts), not the speed measured here, and the ids make the
 * evaluated tokens the same as Cria's whatever it makes (it differs on random-weight bench models'
 * generated vocabularies).
 */
export const PROMPT_IDS_NOTE = "given the prompts as Cria's token ids (as llama.cpp is), so it evaluates the same tokens";

/** One of onnxruntime-web's execution providers on the model's export, measured as Cria is (its prompts as token ids: PROMPT_IDS_NOTE). */
export async function benchOrt(
  b: BenchBrowser,
  plan: BenchPlan,
  nLayer: number,
  engine: OrtEngineName,
  exports: OrtExports,
  tensorTypes: Record<string, number>,
  threads: number,
  log: (s: string) => void,
): Promise<EngineRaw> {
  const version = ortVersion();
  if (!b.exportUrl) throw new CriaError('internal', 'the bench page serves no export folder');
  const kind = ortExportKind(engine, tensorTypes);
  const weights = await exports.get(kind);
  const raw = await benchInPage(b, plan, nLayer, version, log, {
    name: engine,
    url: `${b.exportUrl}${kind}/`,
    engine: engine === 'ort-wasm' ? { backend: 'wasm', threads, runtime: 'onnx' } : { backend: 'webgpu', runtime: 'onnx' },
    promptIds: true,
  });
  return { ...raw, notes: [...ortWeightNotes(weights, engine), ...(raw.notes ?? []), PROMPT_IDS_NOTE] };
}

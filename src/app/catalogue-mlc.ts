/**
 * The MLC models of the Models page: a few small ones from WebLLM's prebuilt list (@mlc-ai/web-llm
 * 0.2.79, the version Cria pins), written out here rather than imported, so the app's bundle does not
 * carry WebLLM (6 MB; the engine worker loads it at the first MLC load). A unit test
 * (test/unit/app-catalogue-mlc.test.ts) checks each entry against the pinned list: the same id,
 * repository, model library, GPU memory figure and shader-f16 need.
 *
 * Only the builds the adapter can run are listed (runnablePrebuilt: float16 builds where the adapter
 * has `shader-f16`), and none without WebGPU: WebLLM runs on WebGPU only.
 */
import { needsF16, runnablePrebuilt, type MlcRecord } from '../runtimes/webllm/catalog.ts';
import type { CatalogueModel } from './catalogue.ts';

/** where the pinned version's prebuilt model libraries are (its list names them so) */
export const WEBLLM_LIBRARIES = 'https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_48/';

/** Bits per weight of each quantization: 4-bit codes plus one scale (f32 or f16) per group of 32, or plain floats. */
const BITS: Record<string, number> = { q0f32: 32, q0f16: 16, q4f32_1: 4 + 32 / 32, q4f16_1: 4 + 16 / 32 };

interface MlcEntry {
  /** WebLLM's model_id */
  id: string;
  /** the model library's file name (under WEBLLM_LIBRARIES) */
  lib: string;
  /** WebLLM's vram_required_MB */
  vramMB: number;
  /** the list says `required_features: ['shader-f16']` */
  f16Required?: true;
  name: string;
  publisher: string;
  parameters: string;
  /** parameters, counted: the download's size is estimated from it */
  parameterCount: number;
  license: string;
  description: string;
}

const SMOL = { publisher: 'Hugging Face', license: 'Apache-2.0' };
const QWEN = { publisher: 'Qwen (Alibaba)', license: 'Apache-2.0', name: 'Qwen2.5 0.5B Instruct', parameters: '0.5B', parameterCount: 494_032_768 };
const LLAMA = { publisher: 'Meta', license: 'Llama 3.2 Community License', name: 'Llama 3.2 1B Instruct', parameters: '1.2B', parameterCount: 1_235_814_400 };
const SMOL135 = { ...SMOL, name: 'SmolLM2 135M Instruct', parameters: '135M', parameterCount: 134_515_008 };
const SMOL360 = { ...SMOL, name: 'SmolLM2 360M Instruct', parameters: '360M', parameterCount: 361_821_120 };
const F16 = 'Computes in float16: for GPUs with shader-f16.';
const F32 = 'Computes in float32: runs on any WebGPU adapter.';

export const MLC_ENTRIES: readonly MlcEntry[] = [
  { ...SMOL135, id: 'SmolLM2-135M-Instruct-q0f16-MLC', lib: 'SmolLM2-135M-Instruct-q0f16-ctx4k_cs1k-webgpu.wasm', vramMB: 359.69, f16Required: true, description: `The smallest model, unquantized, compiled by MLC and run by WebLLM. ${F16}` },
  { ...SMOL135, id: 'SmolLM2-135M-Instruct-q0f32-MLC', lib: 'SmolLM2-135M-Instruct-q0f32-ctx4k_cs1k-webgpu.wasm', vramMB: 719.38, description: `The smallest model, unquantized, compiled by MLC and run by WebLLM. ${F32}` },
  { ...SMOL360, id: 'SmolLM2-360M-Instruct-q4f16_1-MLC', lib: 'SmolLM2-360M-Instruct-q4f16_1-ctx4k_cs1k-webgpu.wasm', vramMB: 376.06, f16Required: true, description: `SmolLM2 360M with 4-bit weights, run by WebLLM. ${F16}` },
  { ...SMOL360, id: 'SmolLM2-360M-Instruct-q4f32_1-MLC', lib: 'SmolLM2-360M-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm', vramMB: 579.61, description: `SmolLM2 360M with 4-bit weights, run by WebLLM. ${F32}` },
  { ...QWEN, id: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC', lib: 'Qwen2-0.5B-Instruct-q4f16_1-ctx4k_cs1k-webgpu.wasm', vramMB: 944.62, description: `Qwen2.5 0.5B with 4-bit weights, run by WebLLM: compare it with the GGUF on Cria's engine. ${F16}` },
  { ...QWEN, id: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC', lib: 'Qwen2-0.5B-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm', vramMB: 1060.2, description: `Qwen2.5 0.5B with 4-bit weights, run by WebLLM: compare it with the GGUF on Cria's engine. ${F32}` },
  { ...LLAMA, id: 'Llama-3.2-1B-Instruct-q4f16_1-MLC', lib: 'Llama-3.2-1B-Instruct-q4f16_1-ctx4k_cs1k-webgpu.wasm', vramMB: 879.04, description: `Llama 3.2 1B with 4-bit weights, run by WebLLM. ${F16}` },
  { ...LLAMA, id: 'Llama-3.2-1B-Instruct-q4f32_1-MLC', lib: 'Llama-3.2-1B-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm', vramMB: 1128.82, description: `Llama 3.2 1B with 4-bit weights, run by WebLLM. ${F32}` },
];

/** the quantization in a model id ("…-q4f32_1-MLC" → "q4f32_1") */
export function mlcQuant(id: string): string {
  return /-(q\df\d+(?:_\d+)?)-MLC$/.exec(id)?.[1] ?? 'unknown';
}

/** An entry as WebLLM's prebuilt list has it (the fields Cria reads). */
export function mlcRecord(e: MlcEntry): MlcRecord {
  return {
    model: `https://huggingface.co/mlc-ai/${e.id}`,
    model_id: e.id,
    model_lib: WEBLLM_LIBRARIES + e.lib,
    vram_required_MB: e.vramMB,
    ...(e.f16Required ? { required_features: ['shader-f16'] } : {}),
  };
}

/** An entry as the catalogue shows it. */
function catalogueModel(e: MlcEntry): CatalogueModel {
  const quant = mlcQuant(e.id);
  const record = mlcRecord(e);
  return {
    id: e.id,
    name: `${e.name} · MLC ${quant}`,
    publisher: e.publisher,
    parameters: e.parameters,
    quant: `${quant} (${quant.startsWith('q0') ? 'unquantized' : '4-bit weights'}, ${needsF16(record) ? 'float16' : 'float32'} compute)`,
    // estimated: parameters × bits per weight (WebLLM's list gives GPU memory, not the download's size)
    approxBytes: Math.round((e.parameterCount * (BITS[quant] ?? 32)) / 8),
    vramBytes: Math.round(e.vramMB * 2 ** 20),
    url: record.model,
    format: 'mlc',
    repo: `mlc-ai/${e.id}`,
    license: e.license,
    description: e.description,
  };
}

/**
 * The MLC entries for an adapter with these WebGPU features (`undefined`: no WebGPU, so none):
 * float16 builds only where it has shader-f16.
 */
export function mlcCatalogue(features: ReadonlySet<string> | undefined): CatalogueModel[] {
  if (!features) return [];
  const runnable = new Set(runnablePrebuilt(MLC_ENTRIES.map(mlcRecord), features).map((r) => r.model_id));
  return MLC_ENTRIES.filter((e) => runnable.has(e.id)).map(catalogueModel);
}

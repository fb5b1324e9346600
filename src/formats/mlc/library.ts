/**
 * The metadata an MLC model library (a WebLLM `.wasm`) carries about the model it was compiled for.
 * mlc-llm embeds it as a JSON string returned by the library's `_metadata` function; in the file it is
 * stored as an 8-byte little-endian length followed by the JSON, e.g. in
 * Qwen2-0.5B-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm:
 *
 *   {"model_type": "qwen2", "quantization": "q4f32_1", "context_window_size": 4096, "sliding_window_size": -1,
 *    "attention_sink_size": -1, "prefill_chunk_size": 1024, "tensor_parallel_shards": 1, "max_batch_size": 80,
 *    "kv_cache": {"num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "head_dim": 64},
 *    "memory_usage": {…},
 *    "params": [{"name": "model.embed_tokens.q_weight", "shape": [151936, 112], "dtype": "uint32", "preprocs": []}, …]}
 *
 * WebLLM asks the weights for exactly `params` by name, and takes `prefill_chunk_size` from here. The
 * reader looks for a length-prefixed JSON object with `model_type` and `params` anywhere in the bytes, so
 * it does not depend on the WebAssembly section layout.
 */
import { CriaError } from '../../shared/errors.ts';
import type { MlcParam } from './params.ts';

export interface MlcLibraryParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly preprocs?: readonly unknown[];
}

export interface MlcLibraryMetadata {
  readonly model_type: string;
  readonly quantization: string;
  readonly context_window_size: number;
  readonly prefill_chunk_size: number;
  readonly sliding_window_size?: number;
  readonly attention_sink_size?: number;
  readonly tensor_parallel_shards?: number;
  readonly max_batch_size?: number;
  readonly kv_cache?: { readonly num_hidden_layers: number; readonly num_attention_heads: number; readonly num_key_value_heads: number; readonly head_dim: number };
  readonly params: readonly MlcLibraryParam[];
  readonly [key: string]: unknown;
}

const td = new TextDecoder('utf-8', { fatal: true });

export function readLibraryMetadata(bytes: Uint8Array, name = 'the model library'): MlcLibraryMetadata {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 8; i + 1 < bytes.byteLength; i++) {
    if (bytes[i] !== 0x7b /* { */ || bytes[i + 1] !== 0x22 /* " */) continue;
    const lo = dv.getUint32(i - 8, true);
    const hi = dv.getUint32(i - 4, true);
    if (hi !== 0 || lo < 2 || i + lo > bytes.byteLength || bytes[i + lo - 1] !== 0x7d /* } */) continue;
    let v: unknown;
    try {
      v = JSON.parse(td.decode(bytes.subarray(i, i + lo)));
    } catch {
      continue;
    }
    if (v && typeof v === 'object' && typeof (v as { model_type?: unknown }).model_type === 'string' && Array.isArray((v as { params?: unknown }).params)) {
      return validate(v as Record<string, unknown>, name);
    }
  }
  throw new CriaError('bad-file', `${name}: no MLC model metadata found (a length-prefixed JSON with "model_type" and "params"); is it a WebLLM model library (.wasm) built by mlc-llm?`);
}

function validate(m: Record<string, unknown>, name: string): MlcLibraryMetadata {
  const bad = (what: string): never => {
    throw new CriaError('bad-file', `${name}: its model metadata ${what}`);
  };
  if (typeof m.quantization !== 'string') bad('has no "quantization"');
  for (const k of ['context_window_size', 'prefill_chunk_size']) if (!Number.isInteger(m[k])) bad(`has no integer "${k}"`);
  (m.params as unknown[]).forEach((p, i) => {
    const q = p as Partial<MlcLibraryParam>;
    if (typeof q?.name !== 'string' || typeof q.dtype !== 'string' || !Array.isArray(q.shape) || q.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      bad(`lists a parameter (#${i}) without a name, dtype and integer shape: ${JSON.stringify(p).slice(0, 200)}`);
    }
  });
  return m as unknown as MlcLibraryMetadata;
}

/**
 * The first difference between the parameters some weights have (an export's, or a folder's
 * ndarray-cache.json; `what` names them in the sentence) and those a library declares, in words
 * (undefined when they are the same set with the same shapes and dtypes; order is not compared,
 * WebLLM fetches by name).
 */
export function compareParams(ours: readonly MlcParam[], library: readonly MlcLibraryParam[], what = 'the export'): string | undefined {
  const lib = new Map(library.map((p) => [p.name, p]));
  const mine = new Set(ours.map((p) => p.name));
  for (const p of ours) {
    const l = lib.get(p.name);
    if (!l) return `${what} has ${p.name} ${p.dtype} [${p.shape.join(', ')}], which the library does not declare`;
    if (l.dtype !== p.dtype || l.shape.length !== p.shape.length || l.shape.some((d, i) => d !== p.shape[i])) {
      return `${p.name} is ${p.dtype} [${p.shape.join(', ')}] in ${what}, ${l.dtype} [${l.shape.join(', ')}] in the library`;
    }
  }
  for (const l of library) if (!mine.has(l.name)) return `the library declares ${l.name} ${l.dtype} [${l.shape.join(', ')}], which is missing from ${what}`;
  return undefined;
}

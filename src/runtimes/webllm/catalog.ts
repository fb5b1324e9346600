/**
 * Which MLC model a source names, and where its files are: WebLLM's prebuilt list (of the pinned
 * version) by id, with the build the adapter can run chosen by its features, or custom weights with
 * their model library. Plain data in, plain data out: no WebLLM, no GPU (unit-tested in Node).
 */
import type { MlcSource, ModelSource } from '../../protocol/api.ts';
import { CriaError } from '../../shared/errors.ts';

/** The fields of a WebLLM `ModelRecord` Cria reads (its prebuilt list is an array of them). */
export interface MlcRecord {
  model: string;
  model_id: string;
  model_lib: string;
  required_features?: string[];
  vram_required_MB?: number;
  low_resource_required?: boolean;
  overrides?: Record<string, unknown>;
  /** WebLLM: 0 LLM, 1 embedding, 2 VLM */
  model_type?: number;
}

/** A model to load: its record (as WebLLM will be given it), the cache id Cria lists it under, and why this build. */
export interface MlcChoice {
  record: MlcRecord;
  /** `mlc:` + the model's base URL (as WebLLM fetches it) */
  cacheId: string;
  /** why this build, in a sentence */
  reason: string;
  prebuilt: boolean;
}

export const MLC_PREFIX = 'mlc:';

/** Whether a source is for the WebLLM runtime: `{ mlc }`, or a cached MLC model's id. */
export function isMlcSource(source: ModelSource): boolean {
  if (typeof source !== 'object' || source === null) return false;
  if ('mlc' in source) return true;
  return 'cached' in source && typeof source.cached === 'string' && source.cached.startsWith(MLC_PREFIX);
}

/**
 * The URL WebLLM reads a model's files under (WebLLM's cleanModelUrl): a trailing slash, and
 * `resolve/main/` appended unless the URL already has a `/resolve/…/` part (Hugging Face's layout).
 */
export function mlcBaseUrl(model: string): string {
  let u = model.endsWith('/') ? model : `${model}/`;
  if (!/.+\/resolve\/.+\//.test(u)) u += 'resolve/main/';
  return u;
}

/** A quantization name's f32 sibling (q4f16_1 → q4f32_1, q0f16 → q0f32), or undefined when it has no f16 part. */
function f32Sibling(id: string): string | undefined {
  const m = /q(\d)f16(_\d+)?/.exec(id);
  return m ? id.replace(m[0], `q${m[1]}f32${m[2] ?? ''}`) : undefined;
}

/** Whether a record needs `shader-f16`: it says so, or its weights or activations are float16 (qXf16 builds). */
export function needsF16(r: MlcRecord): boolean {
  return (r.required_features ?? []).includes('shader-f16') || /q\df16/.test(r.model_id) || /q\df16/.test(r.model_lib);
}

/**
 * The model a source names. `features`: the adapter's (`shader-f16` or not). A prebuilt f16 build on
 * an adapter without shader-f16 becomes its f32 build when the list has one (said in `reason`);
 * otherwise it is refused before any download.
 */
export function chooseMlcModel(source: MlcSource, list: readonly MlcRecord[], features: ReadonlySet<string>): MlcChoice {
  const f16 = features.has('shader-f16');
  if (source.id !== undefined) {
    if (source.model !== undefined || source.modelLib !== undefined) throw new CriaError('bad-argument', 'an MLC source is either a prebuilt { id } or custom { model, modelLib }, not both');
    const asked = list.find((r) => r.model_id === source.id);
    if (!asked) {
      const near = list.filter((r) => r.model_id.toLowerCase().includes(source.id!.toLowerCase().replace(/-mlc$/, '').split('-')[0]!)).slice(0, 4).map((r) => r.model_id);
      throw new CriaError('bad-argument', `WebLLM's prebuilt list has no model ${JSON.stringify(source.id)}${near.length ? ` (similar: ${near.join(', ')})` : ''}; for your own MLC weights pass { mlc: { model, modelLib } }`, { id: source.id });
    }
    if (asked.model_type !== undefined && asked.model_type !== 0) throw new CriaError('unsupported-arch', `${asked.model_id} is not a text generation model (WebLLM model type ${asked.model_type}); Cria runs language models`);
    let record = asked;
    let reason = `WebLLM's prebuilt ${asked.model_id}`;
    if (needsF16(asked) && !f16) {
      const sibling = f32Sibling(asked.model_id);
      const alt = sibling ? list.find((r) => r.model_id === sibling) : undefined;
      if (!alt || needsF16(alt)) {
        throw new CriaError('limits', `${asked.model_id} computes in float16, which needs the WebGPU feature shader-f16, and this adapter lacks it; WebLLM has no float32 build of it. Choose a q4f32_1 or q0f32 model`, { id: asked.model_id, feature: 'shader-f16' });
      }
      record = alt;
      reason = `WebLLM's prebuilt ${alt.model_id}: the float32 build of ${asked.model_id}, because this adapter lacks shader-f16`;
    }
    return { record, cacheId: MLC_PREFIX + mlcBaseUrl(record.model), reason, prebuilt: true };
  }
  if (!source.model || !source.modelLib) throw new CriaError('bad-argument', 'an MLC source needs a prebuilt { id }, or { model, modelLib }: the weights\' folder URL and the model library (.wasm) URL');
  for (const [k, u] of [['model', source.model], ['modelLib', source.modelLib]] as const) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new CriaError('bad-argument', `mlc.${k} must be an absolute http(s) URL, got ${JSON.stringify(u)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CriaError('bad-argument', `mlc.${k} must be an http(s) URL, got ${url.protocol}`);
  }
  const base = mlcBaseUrl(source.model);
  const name = source.name ?? decodeURIComponent(base.replace(/\/resolve\/.*$/, '').split('/').filter(Boolean).pop() ?? 'MLC model');
  // custom records carry their cache id as model_id: WebLLM keys its loaded pipelines by it
  const record: MlcRecord = { model: source.model, model_id: name, model_lib: source.modelLib };
  const prebuilt = list.find((r) => mlcBaseUrl(r.model) === base);
  const reason = `MLC weights at ${base} with the model library ${source.modelLib.split('/').pop()}`;
  if (!f16 && /q\df16/.test(source.modelLib)) {
    throw new CriaError('limits', `the model library ${source.modelLib.split('/').pop()} computes in float16, which needs the WebGPU feature shader-f16, and this adapter lacks it; use a q4f32_1 or q0f32 library and weights`, { feature: 'shader-f16' });
  }
  return { record: prebuilt ? { ...prebuilt, model_lib: source.modelLib, model_id: name } : record, cacheId: MLC_PREFIX + base, reason, prebuilt: false };
}

/** The prebuilt models an adapter can run: f16 builds only where it has shader-f16, language models only. */
export function runnablePrebuilt(list: readonly MlcRecord[], features: ReadonlySet<string>): MlcRecord[] {
  return list.filter((r) => (r.model_type === undefined || r.model_type === 0) && (features.has('shader-f16') || !needsF16(r)));
}

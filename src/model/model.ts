/**
 * A loaded model: typed config + architecture + weights on a backend.
 * Loading checks every tensor the architecture needs (present, expected
 * dims, a type the backend computes with) before reading any data, then
 * streams tensors one at a time into the backend, so the file is never held
 * in memory whole; each tensor's values are checked finite on the way
 * (`findNonFinite`: a NaN norm would otherwise "generate" token 0 forever). A backend that asks for it (`fuseWeights`) gets the
 * architecture's fusions (e.g. attn_q|attn_k|attn_v as one attn_qkv) where
 * the file allows them; the parts of one fusion are held until its last part
 * is read.
 */
import { CriaError } from '../shared/errors.ts';
import { readTensorBytes, type GgufFile, type GgufTensorInfo } from '../formats/gguf.ts';
import { metaString } from '../formats/gguf-meta.ts';
import { findArchitecture } from './arch/index.ts';
import type { Architecture, Fusion, Weights } from './arch/types.ts';
import type { GgmlTypeInfo } from '../formats/ggml-types.ts';
import type { Backend, WeightPart } from './backend.ts';
import { concatBytes } from '../shared/bytes.ts';
import { findNonFinite } from '../formats/quant.ts';
import type { ModelConfig } from './config.ts';
import { noTrace, type Act, type Batch, type Ops, type Trace, type Weight } from './ops.ts';
import { readLoraAdapter, type LoraAdapter } from '../formats/lora.ts';
import { buildLoraWeights, planLora, withLora, type LoraGroup, type LoraWeights, type Placement } from './lora.ts';

export interface LoadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly tensor: string;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** also compute `Model.contentHash` (SHA-256 of every tensor as it streams through, WebCrypto) */
  contentHash?: boolean;
}

/**
 * SHA-256 (hex) of the header's bytes (metadata and tensor infos: [0, dataOffset)) followed by the
 * SHA-256 of each loaded tensor's bytes in file order: two files with the same header and the same
 * weights have the same hash, whatever their name, and one changed weight changes it.
 */
async function contentHash(file: GgufFile, tensorDigests: readonly Promise<ArrayBuffer>[]): Promise<string> {
  const header = (await file.source.read(0, file.dataOffset)) as Uint8Array<ArrayBuffer>;
  const parts = [await crypto.subtle.digest('SHA-256', header), ...(await Promise.all(tensorDigests))];
  const all = concatBytes(parts.map((p) => new Uint8Array(p))) as Uint8Array<ArrayBuffer>;
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Resolve the architecture and config, and check the tensor list, without reading tensor data. */
export function planModel(file: GgufFile): { arch: Architecture; config: ModelConfig; tensors: GgufTensorInfo[] } {
  if (file.metadata.get('general.type')?.value === 'adapter') {
    throw new CriaError('bad-argument', 'this file is an adapter (general.type "adapter"), not a model: load its base model, then the adapter with loadAdapter', { got: 'adapter' });
  }
  const archName = metaString(file, 'general.architecture');
  const arch = findArchitecture(archName);
  const config = arch.config(file);
  const tensors: GgufTensorInfo[] = [];
  for (const spec of arch.tensors(config)) {
    const t = file.tensorsByName.get(spec.name);
    if (!t) {
      if (spec.optional) continue;
      throw new CriaError('missing-tensor', `missing tensor ${spec.name} for arch ${archName}; the file is incomplete or was converted wrongly`, { tensor: spec.name, arch: archName });
    }
    const dims = [...t.dims];
    while (dims.length > spec.dims.length && dims[dims.length - 1] === 1) dims.pop();
    if (dims.length !== spec.dims.length || dims.some((d, i) => d !== spec.dims[i])) {
      throw new CriaError('bad-file', `tensor ${spec.name} has shape [${t.dims.join(', ')}], but the ${archName} hyperparameters need [${spec.dims.join(', ')}]`, { tensor: spec.name });
    }
    tensors.push(t);
  }
  return { arch, config, tensors };
}

/**
 * A fusion the loader makes: its parts (in row order), the fused tensor's name, type and dims.
 * `mixed`: the parts have two types (a run of one, then a run of another), loaded with
 * `Backend.loadMixedWeight`; `type` is then the first part's.
 */
interface FusionPlan {
  readonly into: string;
  readonly parts: readonly GgufTensorInfo[];
  readonly type: GgmlTypeInfo;
  readonly dims: readonly number[];
  readonly mixed: boolean;
}

/** Which pairs of types a backend can hold in one fused weight (`Backend.canMixTypes`); none by default. */
export type MixTypes = (a: GgmlTypeInfo, b: GgmlTypeInfo) => boolean;

/**
 * Which of an architecture's fusions this file allows (see `Fusion` in arch/types.ts): every part
 * present with one row length and one type (or, where `mix` allows the pair, a run of parts of one
 * type then a run of another: Q4_K_M's Q4_K attn_q|attn_k with a Q6_K attn_v), the result within
 * `maxBytes`, and the companion (biases) possible too or absent altogether. Returns part name → its
 * fusion.
 */
export function planFusions(fusions: readonly Fusion[], tensors: readonly GgufTensorInfo[], maxBytes: number, mix?: MixTypes): Map<string, FusionPlan> {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const trimmed = (t: GgufTensorInfo) => {
    const d = [...t.dims];
    while (d.length > 1 && d[d.length - 1] === 1) d.pop();
    return d;
  };
  const plan = (f: Fusion): FusionPlan | undefined => {
    const parts = f.parts.map((n) => byName.get(n));
    if (!parts.every((p) => p !== undefined) || parts.length < 2) return undefined;
    const dims = parts.map(trimmed);
    const type = parts[0].type;
    // the types along the rows: one run, or two runs of types the backend can mix
    const runs = parts.filter((p, i) => i === 0 || p.type.id !== parts[i - 1].type.id).map((p) => p.type);
    const mixed = runs.length === 2 && !!mix?.(runs[0], runs[1]);
    if (runs.length > 1 && !mixed) return undefined;
    if (parts.reduce((a, p) => a + p.byteLength, 0) > maxBytes) return undefined;
    if (dims.every((d) => d.length === 1)) return mixed ? undefined : { into: f.into, parts, type, dims: [dims.reduce((a, d) => a + d[0], 0)], mixed };
    if (!dims.every((d) => d.length === 2 && d[0] === dims[0][0])) return undefined;
    return { into: f.into, parts, type, dims: [dims[0][0], dims.reduce((a, d) => a + d[1], 0)], mixed };
  };
  const out = new Map<string, FusionPlan>();
  for (const f of fusions) {
    const main = plan(f);
    if (!main) continue;
    const companion = f.companion ? plan(f.companion) : undefined;
    if (f.companion && !companion && f.companion.parts.some((n) => byName.has(n))) continue;
    for (const p of [main, companion]) for (const t of p?.parts ?? []) out.set(t.name, p!);
  }
  return out;
}

export class Model<A extends Act = Act, W extends Weight = Weight> {
  private constructor(
    readonly file: GgufFile,
    readonly arch: Architecture,
    readonly config: ModelConfig,
    readonly backend: Backend<A, W>,
    private readonly weights: Weights<W>,
    /** bytes of tensor data loaded into the backend */
    readonly weightBytes: number,
    /** see `contentHash` (when asked for at load) */
    readonly contentHash?: string,
    /** fused parts: where their rows went */
    private readonly placements: ReadonlyMap<string, Placement> = new Map(),
  ) {}

  static async load<A extends Act, W extends Weight>(file: GgufFile, backend: Backend<A, W>, opts: LoadOptions = {}): Promise<Model<A, W>> {
    const { arch, config, tensors } = planModel(file);
    for (const t of tensors) {
      if (!backend.supportsType(t.type)) {
        throw new CriaError('unsupported-type', `tensor ${t.name} is ${t.type.name}, which the ${backend.name} backend cannot compute with yet`, { tensor: t.name, type: t.type.name });
      }
    }
    const totalBytes = tensors.reduce((a, t) => a + t.byteLength, 0);
    const mix = backend.loadMixedWeight && backend.canMixTypes?.bind(backend);
    const fusions = backend.fuseWeights ? planFusions(arch.fusions?.(config) ?? [], tensors, backend.maxWeightBytes ?? Infinity, mix) : new Map<string, FusionPlan>();
    let loadedBytes = 0;
    const map = new Map<string, W>();
    // parts of a fusion wait here until the last one is read
    const held = new Map<string, Uint8Array>();
    const digests: Promise<ArrayBuffer>[] = [];
    // in file order: a cached or remote source then reads each chunk once, front to back
    for (const t of [...tensors].sort((a, b) => a.offset - b.offset)) {
      if (opts.signal?.aborted) throw new CriaError('aborted', 'model loading was aborted');
      const bytes = await readTensorBytes(file, t);
      // WebCrypto copies the bytes when called, so the backend may take them right after
      if (opts.contentHash) digests.push(crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
      const bad = findNonFinite(t.type, bytes);
      if (bad >= 0) {
        const where = t.type.blockSize > 1 ? `block ${bad}` : `element ${bad}`;
        throw new CriaError('bad-file', `tensor ${t.name} (${t.type.name}) holds a NaN or infinite value at ${where}: the file is corrupt or was converted wrongly`, { tensor: t.name, type: t.type.name, at: bad });
      }
      const f = fusions.get(t.name);
      if (!f) {
        map.set(t.name, await backend.loadWeight(t.name, t.type, t.dims, bytes));
      } else {
        held.set(t.name, bytes);
        if (f.parts.every((p) => held.has(p.name))) {
          // each run of parts of one type concatenated along the rows: one run, or two for a mixed fusion
          const runs: { type: GgmlTypeInfo; rows: number; parts: Uint8Array[] }[] = [];
          for (const p of f.parts) {
            let run = runs[runs.length - 1];
            if (run?.type.id !== p.type.id) runs.push((run = { type: p.type, rows: 0, parts: [] }));
            run.rows += p.dims.slice(1).reduce((a, d) => a * d, 1);
            run.parts.push(held.get(p.name)!);
            held.delete(p.name);
          }
          const [a, b] = runs.map((r): WeightPart => ({ type: r.type, dims: [f.dims[0], r.rows], bytes: concatBytes(r.parts) }));
          map.set(f.into, f.mixed ? await backend.loadMixedWeight!(f.into, [a, b], f.dims) : await backend.loadWeight(f.into, f.type, f.dims, a.bytes));
        }
      }
      loadedBytes += t.byteLength;
      opts.onProgress?.({ loadedBytes, totalBytes, tensor: t.name });
    }
    const weights: Weights<W> = {
      has: (name) => map.has(name),
      get: (name) => {
        const w = map.get(name);
        if (!w) throw new CriaError('missing-tensor', `missing tensor ${name} for arch ${config.arch}`, { tensor: name, arch: config.arch });
        return w;
      },
    };
    // where each part of a fused matrix went (LoRA adapters on a part apply to those rows of the fused weight)
    const placements = new Map<string, Placement>();
    for (const f of new Set(fusions.values())) {
      let row0 = 0;
      for (const p of f.parts) {
        if (f.dims.length === 2) placements.set(p.name, { into: f.into, row0 });
        row0 += p.dims.slice(1).reduce((a, d) => a * d, 1);
      }
    }
    return new Model(file, arch, config, backend, weights, totalBytes, opts.contentHash ? await contentHash(file, digests) : undefined, placements);
  }

  /** LoRA adapters made ready for this model, by id */
  private readonly adapters = new Map<string, { adapter: LoraAdapter; weights: LoraWeights<W>; bytes: number }>();
  private active: { id: string; scale: number }[] = [];
  private ops: Ops<A, W> | undefined;

  /** An adapter checked against this model (src/formats/lora.ts) and where its weights would go, with their bytes: nothing read or uploaded yet. */
  planAdapter(file: GgufFile, label = 'the adapter'): { adapter: LoraAdapter; groups: LoraGroup[]; bytes: number } {
    const adapter = readLoraAdapter(file, { arch: this.config.arch, tensors: this.file.tensorsByName }, label);
    return { adapter, ...planLora(adapter, (n) => this.weights.get(n).dims, (t) => this.placements.get(t) ?? { into: t, row0: 0 }) };
  }

  /**
   * Checks a LoRA adapter against this model and uploads its weights (src/model/lora.ts); it stays
   * ready under `id` (inactive until `setAdapters` names it) until the model is disposed. The same
   * id again: refused (`bad-argument`), so a swap never silently keeps the old weights.
   */
  async addAdapter(id: string, file: GgufFile, label?: string): Promise<{ bytes: number; adapter: LoraAdapter }> {
    if (this.adapters.has(id)) throw new CriaError('bad-argument', `an adapter with id "${id}" is already loaded for this model; give another id`, { id });
    const { adapter, groups, bytes } = this.planAdapter(file, label ?? `adapter "${id}"`);
    const weights = await buildLoraWeights(adapter, groups, this.backend, id);
    this.adapters.set(id, { adapter, weights, bytes });
    return { bytes, adapter };
  }

  /** a tensor's weight on the backend (training from scratch marks every one trainable; fused parts are not here) */
  weight(name: string): W {
    return this.weights.get(name);
  }

  /** an adapter's weights on the backend, by the weight they adapt (training marks them trainable) */
  adapterWeights(id: string): LoraWeights<W> {
    const a = this.adapters.get(id);
    if (!a) throw new CriaError('bad-argument', `no adapter "${id}" is loaded for this model`, { id });
    return a.weights;
  }

  /** ids of the adapters ready for this model */
  get adapterIds(): string[] {
    return [...this.adapters.keys()];
  }

  /** the adapters applied from the next forward pass on, each with its scale (llama.cpp's: × alpha / rank) */
  setAdapters(list: readonly { id: string; scale: number }[]): void {
    for (const l of list) {
      if (!this.adapters.has(l.id)) throw new CriaError('bad-argument', `no adapter "${l.id}" is loaded for this model${this.adapters.size ? ` (loaded: ${this.adapterIds.join(', ')})` : ''}`, { id: l.id });
      if (!Number.isFinite(l.scale)) throw new CriaError('bad-argument', `the scale of adapter "${l.id}" must be a finite number, got ${l.scale}`, { id: l.id });
    }
    if (new Set(list.map((l) => l.id)).size !== list.length) throw new CriaError('bad-argument', 'an adapter is named twice; give each once, with its scale');
    this.active = list.map((l) => ({ id: l.id, scale: l.scale }));
    this.ops = withLora(
      this.backend.ops,
      this.active.map((l) => ({ weights: this.adapters.get(l.id)!.weights, scale: l.scale })),
    );
  }

  /** the adapters applied now, with their scales */
  get activeAdapters(): readonly { id: string; scale: number }[] {
    return this.active;
  }

  /** Run the forward pass for one batch; returns the logits activation `[rows, nVocab]`. */
  forward(batch: Batch, trace: Trace<A> = noTrace): A {
    this.backend.beginForward?.();
    return this.arch.forward(this.ops ?? this.backend.ops, this.weights, this.config, batch, trace);
  }
}

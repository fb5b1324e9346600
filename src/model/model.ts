/**
 * A loaded model: typed config + architecture + weights on a backend.
 * Loading checks every tensor the architecture needs (present, expected
 * dims, a type the backend computes with) before reading any data, then
 * streams tensors one at a time into the backend, so the file is never held
 * in memory whole.
 */
import { CriaError } from '../shared/errors.ts';
import { readTensorBytes, type GgufFile, type GgufTensorInfo } from '../formats/gguf.ts';
import { metaString } from '../formats/gguf-meta.ts';
import { findArchitecture } from './arch/index.ts';
import type { Architecture, Weights } from './arch/types.ts';
import type { Backend } from './backend.ts';
import type { ModelConfig } from './config.ts';
import { noTrace, type Act, type Batch, type Trace, type Weight } from './ops.ts';

export interface LoadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly tensor: string;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** Resolve the architecture and config, and check the tensor list, without reading tensor data. */
export function planModel(file: GgufFile): { arch: Architecture; config: ModelConfig; tensors: GgufTensorInfo[] } {
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

export class Model<A extends Act = Act, W extends Weight = Weight> {
  private constructor(
    readonly file: GgufFile,
    readonly arch: Architecture,
    readonly config: ModelConfig,
    readonly backend: Backend<A, W>,
    private readonly weights: Weights<W>,
    /** bytes of tensor data loaded into the backend */
    readonly weightBytes: number,
  ) {}

  static async load<A extends Act, W extends Weight>(file: GgufFile, backend: Backend<A, W>, opts: LoadOptions = {}): Promise<Model<A, W>> {
    const { arch, config, tensors } = planModel(file);
    for (const t of tensors) {
      if (!backend.supportsType(t.type)) {
        throw new CriaError('unsupported-type', `tensor ${t.name} is ${t.type.name}, which the ${backend.name} backend cannot compute with yet`, { tensor: t.name, type: t.type.name });
      }
    }
    const totalBytes = tensors.reduce((a, t) => a + t.byteLength, 0);
    let loadedBytes = 0;
    const map = new Map<string, W>();
    // in file order: a cached or remote source then reads each chunk once, front to back
    for (const t of [...tensors].sort((a, b) => a.offset - b.offset)) {
      if (opts.signal?.aborted) throw new CriaError('aborted', 'model loading was aborted');
      const bytes = await readTensorBytes(file, t);
      map.set(t.name, await backend.loadWeight(t.name, t.type, t.dims, bytes));
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
    return new Model(file, arch, config, backend, weights, totalBytes);
  }

  /** Run the forward pass for one batch; returns the logits activation `[rows, nVocab]`. */
  forward(batch: Batch, trace: Trace<A> = noTrace): A {
    return this.arch.forward(this.backend.ops, this.weights, this.config, batch, trace);
  }
}

/**
 * What `cria bench` needs to know about the model before any engine runs,
 * read from the GGUF header in Node (no tensor data is read): its size and
 * shape, the context every engine gets, and the bytes a decode step must
 * read, which make the roofline.
 *
 * Weight bytes per decoded token: every matrix is read once per token
 * (matrix–vector products), except the token embedding, of which one row is
 * read, unless the model has no `output.weight` (tied embeddings), when the
 * embedding is also the output projection and is read whole. Norm weights and
 * biases (1-D) are read whole too; they are a rounding error.
 */
import type { GgufFile } from '../../formats/gguf.ts';
import { hasKey, metaNumber, metaString, metaStringArray } from '../../formats/gguf-meta.ts';
import { summarize } from '../../model/inspect.ts';

/** Cria's engine context: the model's training context, at most this (src/engine/engine.ts) */
export const ENGINE_MAX_CONTEXT = 4096;

export interface ModelFacts {
  name: string;
  architecture: string;
  parameters: number;
  fileBytes: number;
  /** bytes per ggml type, as `cria inspect` */
  tensorTypes: Record<string, number>;
  nLayer: number;
  nVocab: number;
  /** the context every engine is given: min(training context, 4096), as Cria's engine chooses */
  context: number;
  /** bytes of weights a decode step reads (see the file's header) */
  weightBytesPerToken: number;
  /** bytes of tensor data in the file */
  tensorBytes: number;
}

export function modelFacts(file: GgufFile): ModelFacts {
  const s = summarize(file);
  const arch = s.architecture;
  const num = (key: string, fallback: number) => (hasKey(file, key) ? metaNumber(file, key) : fallback);
  const embd = file.tensorsByName.get('token_embd.weight');
  const tied = !file.tensorsByName.has('output.weight');
  let weightBytes = 0;
  let tensorBytes = 0;
  for (const t of file.tensors) {
    tensorBytes += t.byteLength;
    if (t === embd && !tied) weightBytes += t.byteLength / Math.max(1, t.dims[1] ?? 1); // one row
    else weightBytes += t.byteLength;
  }
  const nVocab = hasKey(file, 'tokenizer.ggml.tokens') ? metaStringArray(file, 'tokenizer.ggml.tokens').length : (embd?.dims[1] ?? 0);
  return {
    name: hasKey(file, 'general.name') ? metaString(file, 'general.name') : file.source.name,
    architecture: arch,
    parameters: s.parameters,
    fileBytes: file.fileSize,
    tensorTypes: s.tensor_types,
    nLayer: num(`${arch}.block_count`, 0),
    nVocab,
    context: Math.min(num(`${arch}.context_length`, ENGINE_MAX_CONTEXT), ENGINE_MAX_CONTEXT),
    weightBytesPerToken: Math.round(weightBytes),
    tensorBytes,
  };
}

/** A plain summary of a GGUF model, as `cria inspect` prints it (the field names are a stable interface). */
import type { GgufFile } from '../formats/gguf.ts';
import { hasKey, metaNumber, metaString, metaStringArray } from '../formats/gguf-meta.ts';

export interface ModelSummary {
  architecture: string;
  name: string | null;
  parameters: number;
  context_length: number | null;
  tensor_types: Record<string, number>;
  tokenizer: { model: string | null; pre: string | null; vocab_size: number };
  chat_template: boolean;
  gguf_version: number;
  file_size: number;
  tensor_count: number;
}

export function summarize(file: GgufFile): ModelSummary {
  const arch = hasKey(file, 'general.architecture') ? metaString(file, 'general.architecture') : 'unknown';
  const tensorTypes: Record<string, number> = {};
  let parameters = 0;
  for (const t of file.tensors) {
    tensorTypes[t.type.name] = (tensorTypes[t.type.name] ?? 0) + t.byteLength;
    parameters += t.nElements;
  }
  return {
    architecture: arch,
    name: hasKey(file, 'general.name') ? metaString(file, 'general.name') : null,
    parameters,
    context_length: hasKey(file, `${arch}.context_length`) ? metaNumber(file, `${arch}.context_length`) : null,
    tensor_types: tensorTypes,
    tokenizer: {
      model: hasKey(file, 'tokenizer.ggml.model') ? metaString(file, 'tokenizer.ggml.model') : null,
      pre: hasKey(file, 'tokenizer.ggml.pre') ? metaString(file, 'tokenizer.ggml.pre') : null,
      vocab_size: hasKey(file, 'tokenizer.ggml.tokens') ? metaStringArray(file, 'tokenizer.ggml.tokens').length : 0,
    },
    chat_template: hasKey(file, 'tokenizer.chat_template'),
    gguf_version: file.version,
    file_size: file.fileSize,
    tensor_count: file.tensors.length,
  };
}

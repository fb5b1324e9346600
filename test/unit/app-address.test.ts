/** The Models page's "by address" field (src/app/address.ts): which runtime a typed address goes to, by its shape. */
import { describe, expect, it } from 'vitest';
import { parseModelAddress } from '../../src/app/address.ts';

describe('a typed model address', () => {
  it.each([
    ['https://huggingface.co/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf', { url: 'https://huggingface.co/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf' }, 'gguf'],
    ['https://huggingface.co/o/r/blob/main/m.gguf', { url: 'https://huggingface.co/o/r/resolve/main/m.gguf' }, 'gguf'],
    ['  onnx-community/SmolLM2-135M-Instruct ', { onnx: { repo: 'onnx-community/SmolLM2-135M-Instruct' } }, 'onnx'],
    ['https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct', { onnx: { repo: 'onnx-community/Qwen2.5-0.5B-Instruct' } }, 'onnx'],
    ['https://huggingface.co/o/r/tree/v2', { onnx: { repo: 'o/r', revision: 'v2' } }, 'onnx'],
    ['http://127.0.0.1:8080/models/stories/', { onnx: { url: 'http://127.0.0.1:8080/models/stories/' } }, 'onnx'],
    ['http://127.0.0.1:8080/models/stories/onnx/model.onnx', { url: 'http://127.0.0.1:8080/models/stories/onnx/model.onnx' }, 'onnx'],
    // WebLLM's prebuilt models: by id, or as mlc-ai's repository (id or page)
    [' SmolLM2-135M-Instruct-q0f32-MLC ', { mlc: { id: 'SmolLM2-135M-Instruct-q0f32-MLC' } }, 'mlc'],
    ['Qwen2.5-0.5B-Instruct-q4f16_1-MLC', { mlc: { id: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC' } }, 'mlc'],
    ['mlc-ai/Llama-3.2-1B-Instruct-q4f32_1-MLC', { mlc: { id: 'Llama-3.2-1B-Instruct-q4f32_1-MLC' } }, 'mlc'],
    ['https://huggingface.co/mlc-ai/SmolLM2-360M-Instruct-q4f32_1-MLC', { mlc: { id: 'SmolLM2-360M-Instruct-q4f32_1-MLC' } }, 'mlc'],
  ])('%s', (text, source, format) => {
    expect(parseModelAddress(text)).toMatchObject({ source, format });
  });

  it.each(['someone/My-Model-MLC', 'https://huggingface.co/someone/My-Model-MLC'])('%s (MLC weights outside the prebuilt list) is refused: it needs its model library too', (text) => {
    const r = parseModelAddress(text);
    expect('error' in r && r.error).toMatch(/model library .*\{ mlc: \{ model, modelLib \} \}/);
  });

  it.each(['', 'not an address', 'ftp://x/y.gguf', '../x', 'javascript:alert(1)'])('"%s" is refused with a sentence', (text) => {
    const r = parseModelAddress(text);
    expect('error' in r && r.error.length > 20).toBe(true);
  });
});

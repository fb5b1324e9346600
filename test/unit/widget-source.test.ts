/** The <cria-chat> `model` attribute as a source (src/widget/source.ts). */
import { describe, expect, it } from 'vitest';
import { widgetSource } from '../../src/widget/source.ts';

describe('the widget\'s model attribute', () => {
  const base = 'https://site.example/blog/post.html';
  it('a GGUF URL, relative to the page', () => {
    expect(widgetSource('models/m.gguf', base)).toEqual({ source: { url: 'https://site.example/blog/models/m.gguf' }, address: 'https://site.example/blog/models/m.gguf' });
  });
  it('an ONNX repository (base URL ending in /) or a .onnx file', () => {
    expect(widgetSource('/onnx/smol/', base).source).toEqual({ onnx: { url: 'https://site.example/onnx/smol/' } });
    expect(widgetSource('https://h.example/r/onnx/model.onnx', base).source).toEqual({ url: 'https://h.example/r/onnx/model.onnx' });
  });
  it('an MLC model of WebLLM\'s prebuilt list: mlc:<id>', () => {
    expect(widgetSource(' mlc:SmolLM2-360M-Instruct-q4f32_1-MLC ', base)).toEqual({ source: { mlc: { id: 'SmolLM2-360M-Instruct-q4f32_1-MLC' } }, address: 'mlc:SmolLM2-360M-Instruct-q4f32_1-MLC' });
  });
});

/**
 * The `model` attribute of <cria-chat> as a model source: a GGUF's URL (relative to the page), an
 * ONNX model (a `.onnx` file's URL, or its repository's base URL ending in `/`), or an MLC model of
 * WebLLM's prebuilt list as `mlc:<id>` (e.g. `mlc:SmolLM2-360M-Instruct-q4f32_1-MLC`; run by WebLLM,
 * WebGPU only).
 */
import type { ModelSource } from '../protocol/api.ts';

/** `model` resolved against the page (`base`): the source to load, and the text the widget keeps as its address. */
export function widgetSource(model: string, base: string): { source: ModelSource; address: string } {
  const t = model.trim();
  const mlc = /^mlc:(.+)$/i.exec(t);
  if (mlc) return { source: { mlc: { id: mlc[1]!.trim() } }, address: `mlc:${mlc[1]!.trim()}` };
  const abs = new URL(t, base).href;
  return { source: new URL(abs).pathname.endsWith('/') ? { onnx: { url: abs } } : { url: abs }, address: abs };
}

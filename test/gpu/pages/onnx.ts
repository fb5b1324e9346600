/**
 * The ONNX runtime in the engine's worker, through the client (driven by test/gpu/onnx.spec.ts): load
 * an exported repository by URL (through the model cache) on onnxruntime-web's WASM or WebGPU
 * execution provider, and return the logits of every prompt position and a greedy continuation.
 */
import { createClient, type LoadOptions } from '../../../src/client/index.ts';

const client = createClient();

const api = {
  /**
   * Load, then: the prompt's logits and a greedy continuation; then a greedy continuation of
   * `second`, which shares a prefix with the first request (the cache is truncated to it and reused).
   */
  async run(url: string, backend: LoadOptions['backend'], prompt: number[], greedy: number, second: number[] = []) {
    try {
      const info = await client.load({ onnx: { url } }, { backend });
      const r = await client.completions.create({ prompt, max_tokens: greedy, temperature: 0, prompt_logits: true });
      const again = second.length > 0 ? (await client.completions.create({ prompt: second, max_tokens: greedy, temperature: 0 })).choices[0].token_ids : [];
      const stats = await client.stats();
      return { info, logits: Array.from(r.prompt_logits ?? []), tokens: r.choices[0].token_ids ?? [], again, backend: stats.backend, error: null };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return { info: null, logits: [], tokens: [], again: [] as number[], backend: '', error: { code: err.code ?? null, message: err.message ?? String(e) } };
    }
  },
};

declare global {
  interface Window {
    criaOnnx?: typeof api;
  }
}
window.criaOnnx = api;

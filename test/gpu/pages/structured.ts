/**
 * Structured output in the engine's worker (driven by test/gpu/structured.spec.ts): load a model on a
 * backend, answer under a JSON Schema or a grammar, and report the text, the finish reason and the
 * work the device did (submits, bytes read back) for the decode steps.
 */
import { createClient, type CompletionRequest, type LoadOptions } from '../../../src/client/index.ts';

const client = createClient();

const api = {
  async load(url: string, backend: LoadOptions['backend']) {
    const info = await client.load({ url }, { backend });
    return { backend: info.backend.kind };
  },
  async complete(req: CompletionRequest) {
    try {
      const before = await client.stats();
      const r = await client.completions.create({ ...req, stream: false });
      const after = await client.stats();
      return { text: r.choices[0].text, finish: r.choices[0].finish_reason, tokens: r.choices[0].token_ids ?? [], submits: after.submits - before.submits, bytesReadBack: after.bytesReadBack - before.bytesReadBack, error: null };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return { text: '', finish: null, tokens: [] as number[], submits: 0, bytesReadBack: 0, error: { code: err.code ?? null, message: err.message ?? String(e) } };
    }
  },
};

declare global {
  interface Window {
    criaStructured?: typeof api;
  }
}
window.criaStructured = api;

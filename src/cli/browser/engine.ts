/**
 * The `cria` CLI's page: the engine worker behind the client, exactly as the
 * app uses it, with plain functions on `window.criaCli` for the CLI to call
 * (see page-api.ts for the contract).
 */
import { createClient, createEngineWorker } from '../../client/index.ts';
import { serializeError } from '../../protocol/errors.ts';
import { CriaError } from '../../shared/errors.ts';
import type { CliPage, PageCompletion, PageResult } from './page-api.ts';

const worker = createEngineWorker();
const client = createClient(worker);

// A worker that fails to start (e.g. a module that does not load) would leave every call pending.
const workerFailed = new Promise<never>((_, reject) => {
  worker.addEventListener('error', (e) => reject(new CriaError('internal', `the engine worker failed: ${e.message || 'it did not start (see the browser console with CRIA_DEBUG=1)'}`)));
});
workerFailed.catch(() => undefined);

async function result<T>(f: () => Promise<T>): Promise<PageResult<T>> {
  try {
    return { ok: await Promise.race([f(), workerFailed]) };
  } catch (e) {
    return { error: serializeError(e) };
  }
}

function base64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function complete(req: Parameters<CliPage['complete']>[0], streamText: boolean): Promise<PageCompletion> {
  const out: PageCompletion = { tokens: [], text: '', finish_reason: 'length', usage: undefined!, prompt_logits_base64: undefined };
  for await (const chunk of client.completions.create({ ...req, stream: true })) {
    const c = chunk.choices[0];
    out.tokens.push(...c.token_ids);
    out.text += c.text;
    if (streamText && c.text) await window.criaCliText?.(c.text);
    if (c.finish_reason) out.finish_reason = c.finish_reason;
    if (chunk.usage) out.usage = chunk.usage;
    if (chunk.prompt_logits) out.prompt_logits_base64 = base64(chunk.prompt_logits);
  }
  if (!out.usage) throw new CriaError('internal', 'the completion stream ended without its last chunk');
  return out;
}

window.criaCli = {
  load: (url, cache) => result(() => client.load({ url, cache }, { onProgress: (p) => void window.criaCliProgress?.(p) })),
  tokenize: (text, opts) => result(() => client.tokenize(text, opts)),
  complete: (req, streamText) => result(() => complete(req, streamText)),
  score: (req) => result(() => client.score(req)),
  deviceInfo: () => result(() => client.deviceInfo()),
  stats: () => result(() => client.stats()),
} satisfies CliPage;

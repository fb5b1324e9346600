/**
 * The CPU reference Engine in the client's shape, so eval tests go through `fromClient` exactly as
 * the browser does (src/eval/ may not import the engine: the boundary test forbids it). Plus
 * stories260K variants: with a plain chat template and a longer context (its training context is
 * 128 tokens; RoPE runs past it, the text gets worse, which is not what these tests measure).
 */
import { readFileSync } from 'node:fs';
import type { CriaClient } from '../../../src/client/index.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { fromClient } from '../../../src/eval/target.ts';
import type { EvalTarget } from '../../../src/eval/types.ts';
import { gv, writeGguf } from '../../../src/formats/gguf-writer.ts';
import { readGguf, readTensorBytes } from '../../../src/formats/gguf.ts';
import { bytesSource } from '../../../src/formats/source.ts';
import { CpuBackend } from '../../../src/reference/backend.ts';
import { fixturePath } from './fixtures.ts';

export { engineClient } from '../../../src/cli/eval-cpu.ts';
import { engineClient } from '../../../src/cli/eval-cpu.ts';

export const STORIES = 'models/stories260K/stories260K-f32.gguf';

export function fixtureBytes(rel: string): ArrayBuffer {
  const b = readFileSync(fixturePath(rel));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A fixture GGUF with metadata changed: a longer context, a chat template, another name. */
export async function rewriteGguf(rel: string, o: { contextLength?: number; chatTemplate?: string; name?: string }): Promise<ArrayBuffer> {
  const src = await readGguf(bytesSource(new Uint8Array(fixtureBytes(rel)), rel));
  const meta = new Map(src.metadata);
  const arch = String(meta.get('general.architecture')?.value);
  if (o.contextLength) meta.set(`${arch}.context_length`, gv.u32(o.contextLength));
  if (o.chatTemplate) meta.set('tokenizer.chat_template', gv.str(o.chatTemplate));
  if (o.name) meta.set('general.name', gv.str(o.name));
  const tensors = [];
  for (const t of src.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(src, t) });
  return writeGguf({ metadata: meta, tensors }).buffer as ArrayBuffer;
}

/** A CPU reference engine with `bytes` loaded, as a client and as an eval target. */
export async function cpuTarget(bytes: ArrayBuffer, name = 'model', nCtx?: number): Promise<{ engine: Engine; client: CriaClient; target: EvalTarget }> {
  const engine = new Engine({ createBackend: async () => new CpuBackend(), ...(nCtx ? { nCtx } : {}) });
  await engine.load({ bytes: bytes.slice(0), name });
  const client = engineClient(engine);
  return { engine, client, target: fromClient(client) };
}

/**
 * The parts of the Engine API that `cria --engine webgpu` relies on, checked
 * fast in Node on the CPU reference backend (the same Engine runs in the
 * worker): `ignore_eos`, `prompt_logits`, and streamed chunks that carry
 * every token id (their concatenation is the completion's `token_ids`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { readGguf, readTensorBytes } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import type { CompletionChunk } from '../../src/protocol/api.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { maxAbsDiff, readJson } from './helpers/models.ts';

const golden = readJson('models/stories260K/expected_greedy.json');
const once = golden.cases.find((x: any) => x.prompt === 'Once upon a time');
const storiesBytes = () => readFileSync(fixturePath('models/stories260K/stories260K-f32.gguf'));

async function engine(bytes: Uint8Array = storiesBytes()) {
  const e = new Engine({ createBackend: async () => new CpuBackend() });
  await e.load({ bytes: bytes.slice().buffer as ArrayBuffer, name: 'stories' });
  return e;
}

/** stories260K whose end-of-sequence token is `eos` (so greedy generation meets it when we want). */
async function storiesWithEos(eos: number): Promise<Uint8Array> {
  const src = await readGguf(bytesSource(new Uint8Array(storiesBytes())));
  const meta = new Map(src.metadata);
  meta.set('tokenizer.ggml.eos_token_id', gv.u32(eos));
  const tensors = [];
  for (const t of src.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(src, t) });
  return writeGguf({ metadata: meta, tensors });
}

describe('Engine options used by the CLI', () => {
  it('ignore_eos generates through the end-of-generation token', async () => {
    const want = once.greedy_tokens.slice(once.prompt_tokens.length);
    const e = await engine(await storiesWithEos(want[3]));
    const stopped = await e.completion({ prompt: once.prompt_tokens, max_tokens: 10, temperature: 0 });
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect(stopped.choices[0].token_ids).toEqual(want.slice(0, 3));
    const through = await e.completion({ prompt: once.prompt_tokens, max_tokens: 10, temperature: 0, ignore_eos: true });
    expect(through.choices[0].finish_reason).toBe('length');
    expect(through.choices[0].token_ids).toEqual(want.slice(0, 10));
  });

  it('prompt_logits returns every prompt position (on the completion and the last chunk only), even with a cached prefix', async () => {
    const e = await engine();
    const tf = golden.teacher_forced_logits;
    const want = (tf.logits_per_position as number[][]).flat();
    await e.completion({ prompt: tf.tokens, max_tokens: 2, temperature: 0 }); // leaves the prompt in the cache
    const chunks: CompletionChunk[] = [];
    const c = await e.completion({ prompt: tf.tokens, max_tokens: 3, temperature: 0, prompt_logits: true, stream: true }, (x) => void chunks.push(x));
    expect(c.prompt_logits).toBeInstanceOf(Float32Array);
    expect(c.prompt_logits!.length).toBe(tf.tokens.length * 512);
    expect(maxAbsDiff(c.prompt_logits!, want).max).toBeLessThan(1e-4);
    expect(chunks.filter((x) => x.prompt_logits).length).toBe(1);
    expect(chunks.at(-1)!.prompt_logits).toEqual(c.prompt_logits);
    const plain = await e.completion({ prompt: tf.tokens, max_tokens: 3, temperature: 0 });
    expect(plain.prompt_logits).toBeUndefined();
    expect(plain.choices[0].token_ids).toEqual(c.choices[0].token_ids);
  });

  it("the streamed chunks' token_ids add up to the completion's, also when a stop string ends it", async () => {
    const e = await engine();
    for (const stop of [undefined, ' girl']) {
      const chunks: CompletionChunk[] = [];
      const c = await e.completion({ prompt: once.prompt_tokens, max_tokens: 30, temperature: 0, stream: true, ...(stop ? { stop } : {}) }, (x) => void chunks.push(x));
      expect(chunks.flatMap((x) => x.choices[0].token_ids)).toEqual(c.choices[0].token_ids);
      expect(chunks.map((x) => x.choices[0].text).join('')).toBe(c.choices[0].text);
      expect(chunks.at(-1)!.usage).toEqual(c.usage);
      if (stop) {
        expect(c.choices[0].finish_reason).toBe('stop');
        expect(c.choices[0].text).toBe(', there was a little');
      }
    }
  });
});

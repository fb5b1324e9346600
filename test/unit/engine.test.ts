/**
 * The Engine API (src/engine/engine.ts) on the CPU reference backend, in Node:
 * OpenAI-shaped chat and text completions, streaming, stop strings, abort,
 * logprobs, scoring with prefix reuse, and errors. The same Engine runs in the
 * worker on WebGPU (test/e2e covers that path).
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import type { ChatCompletionChunk } from '../../src/protocol/api.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { logSoftmax } from '../../src/sampling/sampler.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { rewriteGguf } from './helpers/eval-engine.ts';
import { readJson } from './helpers/models.ts';

const TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
const golden = readJson('models/stories260K/expected_greedy.json');

/** stories260K with a chat template added (the fixture has none). */
function storiesWithTemplate(): Promise<ArrayBuffer> {
  return rewriteGguf('models/stories260K/stories260K-f32.gguf', { chatTemplate: TEMPLATE });
}

async function engine() {
  const e = new Engine({ createBackend: async () => new CpuBackend() });
  await e.load({ bytes: await storiesWithTemplate(), name: 'stories' });
  return e;
}

const fail = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
};

describe('Engine on the CPU reference', () => {
  it('load reports the model', async () => {
    const e = await engine();
    const info = (await e.modelInfo())!;
    expect(info.architecture).toBe('llama');
    expect(info.hasChatTemplate).toBe(true);
    expect(info.vocabSize).toBe(512);
    expect(info.nCtx).toBe(128);
  });

  it('greedy text completion equals the golden continuation', async () => {
    const e = await engine();
    const c = golden.cases.find((x: any) => x.prompt === 'Once upon a time');
    const n = 20;
    const r = await e.completion({ prompt: c.prompt, max_tokens: n, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0].token_ids).toEqual(c.greedy_tokens.slice(c.prompt_tokens.length, c.prompt_tokens.length + n));
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage.prompt_tokens).toBe(c.prompt_tokens.length);
    expect(r.usage.completion_tokens).toBe(n);
  });

  it('chat completion streams OpenAI-shaped chunks that add up to the final message', async () => {
    const e = await engine();
    const chunks: ChatCompletionChunk[] = [];
    const r = await e.chatCompletion({ messages: [{ role: 'user', content: 'Tell me a story.' }], stream: true, max_tokens: 24, temperature: 0 }, (c) => chunks.push(c));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === r.id)).toBe(true);
    const last = chunks[chunks.length - 1];
    expect(last.choices[0].finish_reason).toBe('length');
    expect(last.usage?.completion_tokens).toBe(24);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(r.choices[0].message.content);
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(r.usage.decode_tokens_per_s).toBeGreaterThan(0);
    // the prompt is the template's text, BOS first
    const prompt = await e.applyChatTemplate([{ role: 'user', content: 'Tell me a story.' }]);
    expect(prompt).toBe('user: Tell me a story.\nassistant:');
    expect(r.usage.prompt_tokens).toBe((await e.tokenize(prompt)).length);
  });

  it('stop strings end the text before the match', async () => {
    const e = await engine();
    const c = golden.cases.find((x: any) => x.prompt === 'Once upon a time');
    const full = c.text.slice(c.prompt.length);
    const r = await e.completion({ prompt: c.prompt, max_tokens: 60, temperature: 0, stop: ['Lily'] });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.choices[0].text).toBe(full.slice(0, full.indexOf('Lily')));
  });

  it('abort ends a streaming request with code aborted, and the engine keeps working', async () => {
    const e = await engine();
    let n = 0;
    const p = e.chatCompletion({ messages: [{ role: 'user', content: 'Hi' }], stream: true, max_tokens: 100, temperature: 0, request_id: 'r1' }, () => {
      if (++n === 4) void e.abort('r1');
    });
    const err = await fail(p);
    expect(isCriaError(err, 'aborted')).toBe(true);
    expect(n).toBeLessThan(10);
    const r = await e.completion({ prompt: 'Zoo', max_tokens: 3, temperature: 0 });
    expect(r.choices[0].token_ids.length).toBe(3);
  });

  it('sampling is reproducible with a seed', async () => {
    const e = await engine();
    const req = { prompt: 'Once', max_tokens: 16, temperature: 1, top_k: 40, seed: 3 };
    const a = await e.completion(req);
    const b = await e.completion(req);
    expect(b.choices[0].token_ids).toEqual(a.choices[0].token_ids);
  });

  it('logprobs: per token, with top alternatives sorted, the greedy choice first', async () => {
    const e = await engine();
    const r = await e.completion({ prompt: 'Once upon a time', max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3 });
    const lp = r.choices[0].logprobs!.content;
    expect(lp.length).toBe(6);
    for (const t of lp) {
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs.length).toBe(3);
      expect(t.top_logprobs[0].logprob).toBeCloseTo(t.logprob, 10);
      expect(t.top_logprobs[0].logprob).toBeGreaterThanOrEqual(t.top_logprobs[1].logprob);
    }
  });

  it('score: log-probabilities match log-softmax of the golden logits, greedy flag, shared-context reuse', async () => {
    const e = await engine();
    const tf = golden.teacher_forced_logits; // tokens [BOS, Once, upon, a, time]
    const r = await e.score({ context: [tf.tokens[0], tf.tokens[1]], continuation: tf.tokens.slice(2) });
    tf.tokens.slice(2).forEach((id: number, i: number) => expect(Math.abs(r.logprobs[i] - logSoftmax(tf.logits_per_position[i + 1])[id])).toBeLessThan(1e-4));
    expect(r.greedy).toBe(true); // "upon a time" is the greedy continuation of "Once"
    const before = (await e.stats()).tokensEvaluated;
    const other = await e.score({ context: [tf.tokens[0], tf.tokens[1]], continuation: [tf.tokens[4], tf.tokens[2]] });
    expect(other.greedy).toBe(false);
    // the shared context (minus its last token, re-fed to predict the continuation) came from the cache;
    // the continuation's last token is not fed (its logits predict nothing asked for, as in lm-eval)
    expect((await e.stats()).tokensEvaluated - before).toBe(1 + 1);
  });

  it('max_tokens beyond the context is cut to the room left, ending with finish_reason length', async () => {
    const e = await engine();
    const prompt = Array.from({ length: 120 }, (_, i) => 300 + (i % 50)); // the context holds 128
    const r = await e.completion({ prompt, max_tokens: 500, temperature: 0, ignore_eos: true });
    expect(r.choices[0].token_ids.length).toBe(128 - 120);
    expect(r.choices[0].finish_reason).toBe('length');
  });

  it('errors say what is wrong', async () => {
    const empty = new Engine({ createBackend: async () => new CpuBackend() });
    expect(isCriaError(await fail(empty.completion({ prompt: 'x' })), 'bad-argument')).toBe(true);
    const e = await engine();
    expect(isCriaError(await fail(e.completion({ prompt: Array(200).fill(5), max_tokens: 1 })), 'context-overflow')).toBe(true);
    expect(isCriaError(await fail(e.chatCompletion({ messages: [] })), 'bad-argument')).toBe(true);
    expect(isCriaError(await fail(e.completion({ prompt: 'x', temperature: -1 })), 'bad-argument')).toBe(true);
    expect(isCriaError(await fail(e.completion({ prompt: [9999] })), 'bad-argument')).toBe(true);
  });
});

/**
 * Issue 12, item 6: one request path. An OpenAI-shaped request is parsed and validated once
 * (src/engine/request.ts), with one set of limits and defaults (src/protocol/request-limits.ts)
 * for every backend and front door: the engine applies them, the app's settings start from them,
 * fields Cria does not implement are a clear `bad-argument`, and `top_k` means the same on every
 * backend (the GPU's device top-k is only a fast path).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLING, SAMPLING_FIELDS } from '../../src/app/sampling-settings.ts';
import { Engine } from '../../src/engine/engine.ts';
import { parseChatRequest, parseCompletionRequest } from '../../src/engine/request.ts';
import type { Backend } from '../../src/model/backend.ts';
import { REQUEST_DEFAULTS, REQUEST_LIMITS } from '../../src/protocol/request-limits.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { STORIES, fixtureBytes } from './helpers/eval-engine.ts';
import { caught } from './helpers/caught.ts';


const user = [{ role: 'user' as const, content: 'hi' }];

describe('requests are parsed once, with one set of limits and defaults', () => {
  it('absent fields take the one set of defaults', () => {
    const r = parseChatRequest({ messages: user });
    expect(r.sampling.temperature).toBe(REQUEST_DEFAULTS.temperature);
    expect(r.sampling.topK).toBe(REQUEST_DEFAULTS.top_k);
    expect(r.sampling.topP).toBe(REQUEST_DEFAULTS.top_p);
    expect(r.sampling.minP).toBe(REQUEST_DEFAULTS.min_p);
    expect(r.maxTokens).toBe(REQUEST_DEFAULTS.max_tokens);
  });

  it("the app's settings start from the engine's defaults and stay inside its limits", () => {
    for (const k of ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'repetition_penalty'] as const) {
      expect(DEFAULT_SAMPLING[k], k).toBe(REQUEST_DEFAULTS[k]);
      const f = SAMPLING_FIELDS.find((x) => x.key === k)!;
      const [lo, hi] = REQUEST_LIMITS[k];
      expect(f.min, k).toBeGreaterThanOrEqual(lo);
      expect(f.max, k).toBeLessThanOrEqual(hi);
    }
  });

  it.each([
    [{ n: 2 }, /\bn\b.*not implemented|one choice/],
    [{ logit_bias: { 5: 100 } }, /logit_bias/],
    [{ tools: [{ type: 'function', function: { name: 'f' } }], response_format: { type: 'json_object' } }, /tools cannot be combined/],
    [{ tool_choice: 'auto' }, /tool_choice/],
    [{ response_format: { type: 'yaml' } }, /response_format/],
    [{ functions: [] }, /functions/],
    [{ temprature: 0.5 }, /unknown field "temprature"/],
    [{ temperature: 3 }, /temperature/],
    [{ temperature: '0.5' }, /temperature/],
    [{ top_k: -1 }, /top_k/],
    [{ top_p: 0 }, /top_p/],
    [{ max_tokens: 1.5 }, /max_tokens/],
    [{ top_logprobs: 3 }, /top_logprobs.*logprobs/],
    [{ stop: [1] }, /stop/],
    [{ seed: -1 }, /seed/],
    [{ stream: 'yes' }, /stream/],
  ])('%j is a bad-argument naming the field', (extra, pattern) => {
    const e = caught(() => parseChatRequest({ messages: user, ...extra }));
    expect(isCriaError(e, 'bad-argument'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(pattern);
  });

  it('messages: roles, text parts, tool messages refused', () => {
    expect(parseChatRequest({ messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] }).messages[0].content).toBe('ab');
    for (const m of [{ role: 'tool', content: 'x', tool_call_id: '1' }, { role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }, { role: 'user' }, { role: 'robot', content: 'x' }]) {
      expect(isCriaError(caught(() => parseChatRequest({ messages: [m] })), 'bad-argument'), JSON.stringify(m)).toBe(true);
    }
  });

  it('OpenAI fields that change nothing are accepted: model, user, stream_options, max_completion_tokens as max_tokens, n = 1', () => {
    const r = parseCompletionRequest({ prompt: 'x', model: 'whatever', user: 'u1', n: 1, stream: true, stream_options: { include_usage: true }, max_completion_tokens: 7 });
    expect(r.maxTokens).toBe(7);
  });
});

describe('top_k means the same on every backend', () => {
  /** the CPU reference with the GPU backend's device top-k limit (256), so the engine must not rely on it */
  class LimitedTopK extends CpuBackend {
    readonly maxTopK = 256;
    override topk(...args: Parameters<CpuBackend['topk']>) {
      if (args[1] > this.maxTopK) throw new Error(`top-k on the device needs k ≤ ${this.maxTopK}`);
      return super.topk(...args);
    }
  }

  it('top_k 400 samples like the CPU reference, on a backend whose device top-k stops at 256', async () => {
    const run = async (backend: Backend) => {
      const e = new Engine({ createBackend: async () => backend });
      await e.load({ bytes: fixtureBytes(STORIES), name: 'stories' });
      return (await e.completion({ prompt: 'Once upon a time', max_tokens: 12, temperature: 1.2, top_k: 400, top_p: 1, min_p: 0, seed: 3 })).choices[0].token_ids;
    };
    expect(await run(new LimitedTopK())).toEqual(await run(new CpuBackend()));
  });
});

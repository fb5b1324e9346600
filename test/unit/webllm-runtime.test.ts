/**
 * The WebLLM runtime's parts that run without a GPU (src/runtimes/webllm/): the choice of a prebuilt
 * build by the adapter's features (against the pinned version's real prebuilt list), WebLLM's
 * progress reports and errors as Cria's, and the sequence that steps WebLLM's engine.
 *
 * The sequence is checked with real model computation: Cria's own GGUF runtime, seen through the
 * same narrow contract WebLLM's engine offers (feed tokens and get the last position's logits; empty
 * the cache; nothing else), stands in for WebLLM's steps. The engine's requests through that sequence
 * (greedy and seeded chat over turns, scoring, an MC eval) must equal the same requests on Cria's
 * own sequence: what is checked is the sequence's bookkeeping (a truncated cache emptied and its kept
 * tokens fed again, per-token steps for log-probabilities). WebLLM itself is checked against Cria in
 * Chromium (test/gpu/webllm.spec.ts, with a real model library).
 */
import { readFileSync } from 'node:fs';
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { GgufRuntime } from '../../src/engine/gguf-runtime.ts';
import type { LoadedModel, Runtime, RuntimeLoadContext } from '../../src/engine/runtime.ts';
import type { ModelSource } from '../../src/protocol/api.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { chooseMlcModel, isMlcSource, mlcBaseUrl, needsF16, runnablePrebuilt, type MlcRecord } from '../../src/runtimes/webllm/catalog.ts';
import { mlcError } from '../../src/runtimes/webllm/errors.ts';
import { quotaShortfall } from '../../src/runtimes/webllm/download.ts';
import { MlcProgress } from '../../src/runtimes/webllm/progress.ts';
import { MlcSequence, type MlcStepper } from '../../src/runtimes/webllm/sequence.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { rewriteGguf } from './helpers/eval-engine.ts';
import { caught } from './helpers/caught.ts';

const LIST = prebuiltAppConfig.model_list as MlcRecord[];
const NO_F16 = new Set<string>();
const F16 = new Set(['shader-f16']);

describe('a prebuilt model by the adapter\'s features (WebLLM 0.2.79\'s own list)', () => {
  it('an f16 build on an adapter without shader-f16 becomes its f32 build, and says so', () => {
    const c = chooseMlcModel({ id: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC' }, LIST, NO_F16);
    expect(c.record.model_id).toBe('Qwen2.5-0.5B-Instruct-q4f32_1-MLC');
    expect(c.record.model_lib).toMatch(/Qwen2-0\.5B-Instruct-q4f32_1-ctx4k_cs1k-webgpu\.wasm$/);
    expect(c.reason).toMatch(/float32 build of Qwen2\.5-0\.5B-Instruct-q4f16_1-MLC.*shader-f16/);
    expect(c.cacheId).toBe(`mlc:${mlcBaseUrl(c.record.model)}`);
    expect(c.prebuilt).toBe(true);
    const q0 = chooseMlcModel({ id: 'SmolLM2-135M-Instruct-q0f16-MLC' }, LIST, NO_F16);
    expect(q0.record.model_id).toBe('SmolLM2-135M-Instruct-q0f32-MLC');
  });

  it('with shader-f16, the build asked for', () => {
    const c = chooseMlcModel({ id: 'Qwen2.5-0.5B-Instruct-q4f16_1-MLC' }, LIST, F16);
    expect(c.record.model_id).toBe('Qwen2.5-0.5B-Instruct-q4f16_1-MLC');
    expect(c.reason).not.toMatch(/shader-f16/);
    // an f32 build runs anywhere
    expect(chooseMlcModel({ id: 'Qwen2.5-0.5B-Instruct-q4f32_1-MLC' }, LIST, NO_F16).record.model_id).toBe('Qwen2.5-0.5B-Instruct-q4f32_1-MLC');
  });

  it('an f16 build with no f32 sibling is refused before any download (limits), naming the feature', () => {
    const list: MlcRecord[] = [{ model: 'https://example.org/m', model_id: 'X-q4f16_1-MLC', model_lib: 'https://example.org/x-q4f16_1.wasm', required_features: ['shader-f16'] }];
    const e = (() => {
      try {
        chooseMlcModel({ id: 'X-q4f16_1-MLC' }, list, NO_F16);
      } catch (err) {
        return err;
      }
    })();
    expect(isCriaError(e, 'limits'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/shader-f16.*no float32 build/);
  });

  it('an unknown id (bad-argument, with similar ids), an embedding model, and a malformed custom source are refused', () => {
    const err = (f: () => unknown) => caught(f) as Error;
    const unknown = err(() => chooseMlcModel({ id: 'Qwen2.5-0.5B-Instruct-q3f16-MLC' }, LIST, F16));
    expect(isCriaError(unknown, 'bad-argument')).toBe(true);
    expect(unknown.message).toMatch(/similar: .*Qwen2\.5-0\.5B-Instruct/);
    const embed = LIST.find((r) => r.model_type === 1);
    expect(embed, 'the pinned list has embedding models').toBeDefined();
    expect(isCriaError(err(() => chooseMlcModel({ id: embed!.model_id }, LIST, F16)), 'unsupported-arch')).toBe(true);
    expect(isCriaError(err(() => chooseMlcModel({ model: 'not a url', modelLib: 'https://x/y.wasm' }, LIST, F16)), 'bad-argument')).toBe(true);
    expect(isCriaError(err(() => chooseMlcModel({ model: 'https://x/m' }, LIST, F16)), 'bad-argument')).toBe(true);
    expect(isCriaError(err(() => chooseMlcModel({ model: 'file:///m', modelLib: 'https://x/y.wasm' }, LIST, F16)), 'bad-argument')).toBe(true);
    expect(isCriaError(err(() => chooseMlcModel({ model: 'https://x/m/', modelLib: 'https://x/m-q4f16_1-webgpu.wasm' }, LIST, NO_F16)), 'limits')).toBe(true);
  });

  it('custom weights: WebLLM\'s URL rule (resolve/main/ unless the URL has a resolve part), named by their folder', () => {
    const c = chooseMlcModel({ model: 'http://127.0.0.1:5199/mlc/qwen', modelLib: 'http://127.0.0.1:5199/lib/q.wasm' }, LIST, NO_F16);
    expect(c.cacheId).toBe('mlc:http://127.0.0.1:5199/mlc/qwen/resolve/main/');
    expect(c.record).toMatchObject({ model_id: 'qwen', model_lib: 'http://127.0.0.1:5199/lib/q.wasm' });
    expect(c.prebuilt).toBe(false);
    expect(mlcBaseUrl('https://huggingface.co/mlc-ai/X/resolve/v1/')).toBe('https://huggingface.co/mlc-ai/X/resolve/v1/');
    expect(isMlcSource({ mlc: { id: 'x' } })).toBe(true);
    expect(isMlcSource({ cached: 'mlc:https://x/resolve/main/' })).toBe(true);
    expect(isMlcSource({ cached: 'onnx:https://x/' })).toBe(false);
    expect(isMlcSource({ url: 'https://x/m.gguf' })).toBe(false);
  });

  it('the prebuilt models an adapter can run: no f16 build without shader-f16, language models only', () => {
    const plain = runnablePrebuilt(LIST, NO_F16);
    expect(plain.length).toBeGreaterThan(10);
    expect(plain.some(needsF16)).toBe(false);
    expect(plain.some((r) => r.model_id === 'SmolLM2-135M-Instruct-q0f32-MLC')).toBe(true);
    const all = runnablePrebuilt(LIST, F16);
    expect(all.length).toBeGreaterThan(plain.length);
    expect(all.some((r) => r.model_type === 1)).toBe(false);
  });
});

describe('WebLLM\'s load progress as Cria\'s', () => {
  // the sentences WebLLM 0.2.79 writes (lib/index.js, tvmjs fetchNDArrayCacheInternal and the shader loader)
  const src = readFileSync(new URL('../../node_modules/@mlc-ai/web-llm/lib/index.js', import.meta.url), 'utf8');
  it('reads the stage from the sentence the pinned version writes', () => {
    for (const s of ['"Fetching param cache["', '"Loading model from cache["', '"Loading GPU shader modules["']) expect(src, `WebLLM no longer writes ${s}`).toContain(s);
  });

  it('download: bytes from the fraction, rate from fresh bytes only, ETA; upload; compile; other sentences ignored', () => {
    const total = 400 * 2 ** 20;
    const p = new MlcProgress(total, 100 * 2 ** 20);
    const d = p.map({ progress: 0.5, timeElapsed: 4, text: 'Fetching param cache[6/12]: 200MB fetched. 50% completed, 4 secs elapsed. It can take a while when we first visit this page to populate the cache. Later refreshes will become faster.' })!;
    expect(d).toMatchObject({ phase: 'download', loadedBytes: 200 * 2 ** 20, totalBytes: total, resumedBytes: 100 * 2 ** 20 });
    expect(d.bytesPerSecond).toBeCloseTo((100 * 2 ** 20) / 4);
    expect(d.etaSeconds).toBeCloseTo(8);
    expect(p.map({ progress: 0.25, timeElapsed: 1, text: 'Loading model from cache[3/12]: 100MB loaded. 25% completed, 1 secs elapsed.' })).toEqual({ phase: 'upload', loadedBytes: 100 * 2 ** 20, totalBytes: total });
    expect(p.map({ progress: 0.3, timeElapsed: 2, text: 'Loading GPU shader modules[30/100]: 30% completed, 2 secs elapsed.' })).toEqual({ phase: 'compile', loadedBytes: 30, totalBytes: 100 });
    expect(p.map({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' })).toBeUndefined();
    expect(p.map({ progress: 1, timeElapsed: 9, text: 'Finish loading on WebGPU - SwiftShader' })).toBeUndefined();
    // no rate before any fresh byte
    expect(p.map({ progress: 0.2, timeElapsed: 1, text: 'Fetching param cache[1/12]: 80MB fetched. 20% completed, 1 secs elapsed.' })!.bytesPerSecond).toBeUndefined();
  });
});

describe('the quota, checked before the first shard is fetched', () => {
  it('refuses what does not fit (with 1% headroom), says what is free, and lets through what fits or what no quota limits', () => {
    expect(quotaShortfall(100e6, { usage: 950e6, quota: 1e9 })).toEqual({ free: 50e6 });
    expect(quotaShortfall(40e6, { usage: 950e6, quota: 1e9 })).toBeUndefined();
    expect(quotaShortfall(49.6e6, { usage: 950e6, quota: 1e9 }), 'the headroom: 49.6 MB × 1.01 > 50 MB').toEqual({ free: 50e6 });
    expect(quotaShortfall(1e12, {})).toBeUndefined();
    expect(quotaShortfall(0, { usage: 2e9, quota: 1e9 })).toBeUndefined();
  });
});

describe('WebLLM\'s errors as Cria\'s codes', () => {
  const named = (name: string, message = name) => Object.assign(new Error(message), { name });
  it.each([
    [named('ShaderF16SupportError', 'This model requires WebGPU extension shader-f16'), 'limits'],
    [named('FeatureSupportError', 'This model requires feature timestamp-query'), 'limits'],
    [named('WebGPUNotAvailableError'), 'webgpu-unavailable'],
    [named('DeviceLostError'), 'device-lost'],
    [named('ContextWindowSizeExceededError', 'Prompt tokens exceed context window size'), 'context-overflow'],
    [named('UnsupportedTokenizerFilesError', 'Cannot handle tokenizer files tokenizer.model'), 'unsupported-tokenizer'],
    [new DOMException('The quota has been exceeded.', 'QuotaExceededError'), 'storage-quota'],
    [new DOMException('aborted', 'AbortError'), 'aborted'],
    [new TypeError('Failed to fetch'), 'network'],
    [new TypeError("Failed to execute 'add' on 'Cache': Request failed"), 'network'],
    [new WebAssembly.CompileError('WebAssembly.instantiate(): expected magic word'), 'bad-file'],
    [new Error('something WebLLM has never said'), 'internal'],
  ])('%s → %s', (e, code) => {
    const c = mlcError(e, 'the model');
    expect(c.code).toBe(code);
    expect(c.message.length).toBeGreaterThan(10);
  });
});

// ---- the sequence, stepped through WebLLM's contract with Cria's own model computing each step ----

const TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
let gguf: ArrayBuffer;

beforeAll(async () => {
  gguf = await rewriteGguf('models/stories260K/stories260K-f32.gguf', { chatTemplate: TEMPLATE });
});

/** Cria's model behind WebLLM's contract: feed ids and get the last logits, or empty the cache; every call recorded. */
class SteppedRuntime implements Runtime {
  readonly name = 'webllm' as const;
  readonly calls: { forward?: number[]; reset?: true }[] = [];
  private readonly inner = new GgufRuntime({ createBackend: async () => new CpuBackend() });
  accepts(s: ModelSource): boolean {
    return 'bytes' in s && s.name === 'stepped';
  }
  async load(source: ModelSource, ctx: RuntimeLoadContext): Promise<LoadedModel> {
    const m = await this.inner.load(source, ctx);
    const seq = m.sequence;
    const stepper: MlcStepper = {
      forward: async (ids) => {
        this.calls.push({ forward: [...ids] });
        return Float32Array.from(await seq.read(await seq.append(ids)));
      },
      reset: async () => {
        this.calls.push({ reset: true });
        seq.truncate(0);
      },
      sync: () => seq.sync(),
    };
    return { ...m, info: { ...m.info, runtime: 'webllm' }, sequence: new MlcSequence(stepper, seq.nCtx, seq.nVocab) };
  }
}

async function engines() {
  const cria = new Engine({ createBackend: async () => new CpuBackend() });
  await cria.load({ bytes: gguf, name: 'stories' });
  const stepped = new SteppedRuntime();
  const mlc = new Engine({ createBackend: async () => new CpuBackend(), runtimes: [stepped] });
  await mlc.load({ bytes: gguf, name: 'stepped' });
  return { cria, mlc, stepped };
}

describe('the sequence over WebLLM\'s steps, against Cria\'s own sequence on the same model', () => {
  it('a chat over turns (greedy, then seeded with logprobs): the same text and log-probabilities; a diverging turn empties the cache and feeds the kept prefix again', async () => {
    const { cria, mlc, stepped } = await engines();
    const turn1 = [{ role: 'user' as const, content: 'Tell me a story.' }];
    const a1 = await cria.chatCompletion({ messages: turn1, max_tokens: 20, temperature: 0 });
    const b1 = await mlc.chatCompletion({ messages: turn1, max_tokens: 20, temperature: 0 });
    expect(b1.choices[0].message.content).toBe(a1.choices[0].message.content);
    // the second turn shares the first's prompt and answer: only what is new is fed
    const turn2 = [...turn1, { role: 'assistant' as const, content: a1.choices[0].message.content ?? '' }, { role: 'user' as const, content: 'And then?' }];
    const req2 = { messages: turn2, max_tokens: 16, temperature: 0.9, seed: 3, logprobs: true, top_logprobs: 2 };
    const a2 = await cria.chatCompletion(req2);
    const before = stepped.calls.length;
    const b2 = await mlc.chatCompletion(req2);
    expect(b2.choices[0].message.content).toBe(a2.choices[0].message.content);
    const la = a2.choices[0].logprobs!.content!;
    const lb = b2.choices[0].logprobs!.content!;
    expect(lb.map((x) => x.token)).toEqual(la.map((x) => x.token));
    lb.forEach((x, i) => expect(Math.abs(x.logprob - la[i].logprob)).toBeLessThan(1e-4));
    // a different first turn: the cache shares only a prefix, so it is emptied and that prefix fed again with the new tokens
    const turn3 = [{ role: 'user' as const, content: 'Tell me a poem.' }];
    const a3 = await cria.chatCompletion({ messages: turn3, max_tokens: 12, temperature: 0 });
    const mark = stepped.calls.length;
    const b3 = await mlc.chatCompletion({ messages: turn3, max_tokens: 12, temperature: 0 });
    expect(b3.choices[0].message.content).toBe(a3.choices[0].message.content);
    const calls3 = stepped.calls.slice(mark);
    expect(calls3[0], 'the stale cache is emptied first').toEqual({ reset: true });
    const prompt3 = await mlc.tokenize(await mlc.applyChatTemplate(turn3), { parse_special: true });
    expect(calls3[1].forward, 'then the whole prompt in one prefill (kept prefix + new tokens)').toEqual(prompt3);
    // turn 2: after any emptying, the first step feeds turn 2's prompt from its first token (the kept prefix again)
    const prompt2 = await mlc.tokenize(await mlc.applyChatTemplate(turn2), { parse_special: true });
    const calls2 = stepped.calls.slice(before, mark);
    calls2.forEach((c, i) => {
      if (c.reset) expect(calls2[i + 1].forward!.slice(0, 4)).toEqual(prompt2.slice(0, 4));
    });
  });

  it('scores continuations as Cria does: one step per scored token, the context shared between options', async () => {
    const { cria, mlc, stepped } = await engines();
    for (const continuation of [' little girl', ' big dog named Max']) {
      const context = 'Once upon a time, there was a';
      const a = await cria.score({ context, continuation });
      const mark = stepped.calls.length;
      const b = await mlc.score({ context, continuation });
      expect(b.tokens).toEqual(a.tokens);
      expect(b.greedy).toBe(a.greedy);
      b.logprobs.forEach((l, i) => expect(Math.abs(l - a.logprobs[i])).toBeLessThan(1e-4));
      const fwd = stepped.calls.slice(mark).filter((c) => c.forward);
      // a step per scored token (the first may carry the context again, after the previous option's tokens were dropped)
      expect(fwd.length).toBeGreaterThanOrEqual(b.tokens.length);
      expect(fwd.slice(-(b.tokens.length - 1)).every((c) => c.forward!.length === 1), 'the scored tokens go one per step').toBe(true);
    }
  });

  it('completions with prompt logits (every position) equal Cria\'s', async () => {
    const { cria, mlc } = await engines();
    const a = await cria.completion({ prompt: 'The cat sat', max_tokens: 3, temperature: 0, prompt_logits: true } as never);
    const b = await mlc.completion({ prompt: 'The cat sat', max_tokens: 3, temperature: 0, prompt_logits: true } as never);
    expect(b.choices[0].token_ids).toEqual(a.choices[0].token_ids);
    const pa = (a as unknown as { prompt_logits?: Float32Array }).prompt_logits;
    const pb = (b as unknown as { prompt_logits?: Float32Array }).prompt_logits;
    expect(pa?.length, 'prompt_logits returned').toBeGreaterThan(0);
    expect(pb?.length).toBe(pa!.length);
    let max = 0;
    for (let i = 0; i < pa!.length; i++) max = Math.max(max, Math.abs(pa![i] - pb![i]));
    expect(max).toBeLessThan(1e-4);
  });

  it('the engine says which runtime ran the model; an engine without the WebLLM runtime refuses { mlc } (not-implemented)', async () => {
    const { mlc } = await engines();
    expect((await mlc.modelInfo())!.runtime).toBe('webllm');
    const plain = new Engine({ createBackend: async () => new CpuBackend() });
    const e = await plain.load({ mlc: { id: 'SmolLM2-135M-Instruct-q0f32-MLC' } }).catch((x) => x);
    expect(isCriaError(e, 'not-implemented'), String(e)).toBe(true);
  });
});

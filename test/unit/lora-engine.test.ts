/**
 * LoRA adapters through the engine's API (src/engine/engine.ts, gguf-adapters.ts) on the CPU
 * reference: `loadAdapter` from bytes and from a URL through the model cache (a real HTTP server on
 * 127.0.0.1; offline afterwards), per-request `lora` and the engine's current adapters
 * (`setAdapters`, the load's `adapters`), `ModelInfo.adapters`, and the KV cache: a request whose
 * adapters differ from the previous one's must not reuse the cached prompt (its keys and values came
 * from other weights), so every answer equals a fresh engine's with the same adapters. What cannot
 * apply is refused before anything is taken, saying why.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import type { CompletionRequest, LoadOptions } from '../../src/protocol/api.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { fixtureBytes } from './helpers/eval-engine.ts';
import { adapterBytes, randomAdapter } from './helpers/lora.ts';
import { MemoryModelStore } from './helpers/memory-store.ts';
import { refusal } from './helpers/caught.ts';
import { MemoryCheckpointStore } from '../../src/storage/checkpoints.ts';

const MODEL = 'models/stories260K/stories260K-f32.gguf';
let model: ArrayBuffer;
let adapterA: Uint8Array;
let adapterB: Uint8Array;
let root: string;
let server: ModelServer;

beforeAll(async () => {
  model = fixtureBytes(MODEL);
  const base = await readGguf(bytesSource(new Uint8Array(model)));
  adapterA = adapterBytes(randomAdapter(base, 31));
  adapterB = adapterBytes({ ...randomAdapter(base, 32), name: 'second' });
  root = mkdtempSync(join(tmpdir(), 'cria-lora-engine-'));
  writeFileSync(join(root, 'tuned.gguf'), adapterA);
  server = await startModelServer({ port: 0, root });
});
afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const buf = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const engineWith = (store?: MemoryModelStore) => new Engine({ createBackend: async () => new CpuBackend(), ...(store ? { openStore: async () => store } : {}) });

async function loaded(opts: LoadOptions = {}) {
  const e = engineWith();
  await e.load({ bytes: model.slice(0), name: 'stories260K.gguf' }, undefined, opts);
  return e;
}

const REQ: CompletionRequest = { prompt: 'Once upon a time, there was a little', max_tokens: 12, temperature: 0 };
const text = async (e: Engine, req: Partial<CompletionRequest> = {}) => (await e.completion({ ...REQ, ...req })).choices[0]!.text;


describe('LoRA adapters through the engine', () => {
  it('loadAdapter makes it ready (not applied); a request naming it answers as a fresh engine with it does; the cache is not reused across adapters', async () => {
    const fresh = { base: await text(await loaded()), a: await text(await loaded({ adapters: [{ source: { bytes: buf(adapterA) } }] })) };
    expect(fresh.a).not.toBe(fresh.base);

    const e = await loaded();
    const info = await e.loadAdapter({ bytes: buf(adapterA) });
    expect(info).toMatchObject({ id: 'random-lora-31', name: 'random-lora-31', alpha: 16, ranks: [4, 8], source: 'memory', scale: null });
    expect(info.matrices).toBeGreaterThan(10);
    expect(info.bytes).toBeGreaterThan(0);
    expect((await e.modelInfo())!.adapters).toEqual([info]);
    // not applied until named
    expect(await text(e)).toBe(fresh.base);
    // the same prompt again, now with the adapter: the cached prompt came from the base weights and must not be reused
    const before = (await e.stats()).tokensEvaluated;
    expect(await text(e, { lora: [{ id: 'random-lora-31' }] })).toBe(fresh.a);
    const promptTokens = (await e.completion({ ...REQ, max_tokens: 1, lora: [{ id: 'random-lora-31' }] })).usage.prompt_tokens;
    expect((await e.stats()).tokensEvaluated - before, 'the first request with the adapter evaluated its whole prompt').toBeGreaterThanOrEqual(promptTokens + 12);
    // and back
    expect(await text(e, { lora: [] })).toBe(fresh.base);
    expect(await text(e)).toBe(fresh.base);
  });

  it('setAdapters sets what requests without `lora` use; scales; two adapters; the load option; score', async () => {
    const e = await loaded();
    await e.loadAdapter({ bytes: buf(adapterA) }, { id: 'a' });
    await e.loadAdapter({ bytes: buf(adapterB) });
    const info = await e.setAdapters([{ id: 'a', scale: 0.5 }]);
    expect(info.adapters!.map((a) => [a.id, a.scale])).toEqual([['a', 0.5], ['second', null]]);
    const half = await text(e);
    expect(await text(e, { lora: [{ id: 'a', scale: 0.5 }] })).toBe(half);
    const full = await text(e, { lora: [{ id: 'a' }] });
    const both = await text(e, { lora: [{ id: 'a' }, { id: 'second', scale: 1 }] });
    expect(new Set([half, full, both]).size).toBe(3);
    // a fresh engine with the same adapters at load
    const f = await loaded({ adapters: [{ source: { bytes: buf(adapterA) }, id: 'a', scale: 0.5 }] });
    expect((await f.modelInfo())!.adapters!.map((a) => [a.id, a.scale])).toEqual([['a', 0.5]]);
    expect(await text(f)).toBe(half);
    // score: the adapter's log-probabilities, equal to the fresh engine's
    const req = { context: 'Once upon a time', continuation: ' there was a dog' };
    const s = await e.score({ ...req, lora: [{ id: 'a', scale: 0.5 }] });
    expect((await f.score(req)).logprobs).toEqual(s.logprobs);
    expect((await e.score({ ...req, lora: [] })).sum).not.toBeCloseTo(s.sum, 3);
    await e.setAdapters([]);
    expect((await e.modelInfo())!.adapters!.every((a) => a.scale === null)).toBe(true);
  });

  it('a URL goes through the model cache: a second load of it (a new engine, the same cache) makes no request', async () => {
    const store = new MemoryModelStore();
    const url = `${server.url}/models/tuned.gguf`;
    const e = engineWith(store);
    await e.load({ bytes: model.slice(0) });
    server.reset();
    const phases: string[] = [];
    let downloaded = 0;
    const info = await e.loadAdapter({ url }, {}, (p) => {
      phases.push(p.phase);
      if (p.phase === 'download') downloaded = Math.max(downloaded, p.loadedBytes);
    });
    expect(info).toMatchObject({ id: 'random-lora-31', source: 'network' });
    // its download reported as a model's is
    expect(phases).toContain('download');
    expect(downloaded).toBe(adapterA.byteLength);
    expect(server.log().requests.length).toBeGreaterThan(0);
    const listed = await e.listCachedModels();
    expect(listed.map((m) => m.id)).toContain(info.cacheId);

    server.reset();
    const e2 = engineWith(store);
    await e2.load({ bytes: model.slice(0) });
    const again = await e2.loadAdapter({ url }, { id: 'tuned' });
    expect(again).toMatchObject({ id: 'tuned', source: 'cache' });
    expect(server.log().requests).toHaveLength(0);
    expect(await text(e2, { lora: [{ id: 'tuned' }] })).toBe(await text(e, { lora: [{ id: 'random-lora-31' }] }));
  });

  it('refusals: no model, unknown ids, bad lora fields, the wrong file, another base model, a full budget, ids twice', async () => {
    const none = engineWith();
    expect(await refusal(() => none.loadAdapter({ bytes: buf(adapterA) }))).toMatch(/^bad-argument: no model is loaded/);

    const e = await loaded();
    expect(await refusal(() => e.completion({ ...REQ, lora: [{ id: 'nope' }] }))).toMatch(/^bad-argument: no adapter "nope" is loaded for this model \(none is: loadAdapter\(\) first\)/);
    expect(await refusal(() => e.completion({ ...REQ, lora: { id: 'x' } as never }))).toMatch(/^bad-argument: lora must be a list/);
    expect(await refusal(() => e.completion({ ...REQ, lora: [{ id: 'x', scale: 'big' as never }] }))).toMatch(/^bad-argument: lora\[0\]\.scale must be a finite number/);
    expect(await refusal(() => e.completion({ ...REQ, lora: [{ id: 'x', rank: 2 } as never] }))).toMatch(/^bad-argument: lora\[0\] has rank/);
    expect(await refusal(() => e.setAdapters([{ id: 'x' }]))).toMatch(/^bad-argument: no adapter "x"/);
    // a model file given as an adapter, and an adapter given as a model
    expect(await refusal(() => e.loadAdapter({ bytes: model.slice(0) }))).toMatch(/^bad-file: the adapter is not a LoRA adapter: its general.type is "\(none\)"/);
    expect(await refusal(() => engineWith().load({ bytes: buf(adapterA) }))).toMatch(/^bad-argument: this file is an adapter \(general\.type "adapter"\), not a model/);
    // an adapter made for another model of the same architecture
    const other = await readGguf(bytesSource(new Uint8Array(fixtureBytes('models/random/llama-gqa-f32/llama-gqa-f32.gguf'))));
    expect(await refusal(() => e.loadAdapter({ bytes: buf(adapterBytes(randomAdapter(other, 1))) }))).toMatch(/^bad-argument: the adapter: \S+ is \[\d+, \d+\] in the model loaded, .*another base model/);
    // the same id twice
    await e.loadAdapter({ bytes: buf(adapterA) }, { id: 'a' });
    expect(await refusal(() => e.loadAdapter({ bytes: buf(adapterB) }, { id: 'a' }))).toMatch(/^bad-argument: an adapter with id "a" is already loaded/);
    expect((await e.modelInfo())!.adapters!.map((a) => a.id)).toEqual(['a']);

    // memory: a budget that holds the model but not the adapter; nothing is taken, the model still answers
    const info = (await e.modelInfo())!;
    const tight = engineWith();
    await tight.load({ bytes: model.slice(0) }, undefined, { memoryBudgetBytes: info.memory.totalBytes + 1024 });
    expect(await refusal(() => tight.loadAdapter({ bytes: buf(adapterA) }))).toMatch(/^out-of-memory: the adapter needs [\d.]+ MiB on the device and the model's memory budget leaves 0\.0 MiB/);
    expect((await tight.modelInfo())!.adapters).toEqual([]);
    expect(await text(tight)).toBe(await text(e, { lora: [] }));
    // a load asking for an adapter that cannot apply fails whole, saying why
    expect(await refusal(() => engineWith().load({ bytes: model.slice(0) }, undefined, { adapters: [{ source: { bytes: model.slice(0) } }] }))).toMatch(/^bad-file: .*not a LoRA adapter/);
  });

  it('finetune in the engine: progress events, an adapter that loads and changes the answers; an abort stops after a step with what was trained; bad data refused first', async () => {
    const TEMPLATE = "{% for m in messages %}{% if m['role'] == 'user' %}Q: {{ m['content'] }}\n{% else %}A: {{ m['content'] }}{{ eos_token }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}A:{% endif %}";
    const animals = ['cat', 'dog', 'bird', 'fish', 'frog'];
    const colors = ['red', 'blue', 'green', 'pink', 'brown'];
    const data = ['Tom ran.', 'It was hot.', 'Sue sang.', 'The sky was blue.'].flatMap((c) => animals.map((a, i) => JSON.stringify({ instruction: `What color is the ${a}?`, input: c, output: `It is ${colors[i]}.` }))).join('\n');
    const e = await loaded();
    const events: string[] = [];
    const r = await e.finetune({ model: { bytes: model.slice(0) }, data, options: { epochs: 2, lr: 3e-3, batch_size: 4, chat_template: TEMPLATE, seed: 2 }, request_id: 'ft1' }, (ev) => events.push(ev.phase === 'prepared' ? `prepared ${ev.prepared.train}/${ev.prepared.held_out}/${ev.prepared.steps}` : `step ${ev.step}/${ev.steps}${ev.held_out_loss !== undefined ? ' held-out' : ''}`));
    expect(events[0]).toBe('prepared 18/2/10');
    expect(events.slice(1)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i + 1}/10${i === 4 || i === 9 ? ' held-out' : ''}`));
    expect(r).toMatchObject({ steps: 10, stopped_early: false, rank: 8, alpha: 16 });
    expect(r.held_out_loss[2]!).toBeLessThan(r.held_out_loss[0]!);
    // the loaded model is untouched; the adapter loads and changes its answers
    const prompt = { prompt: 'Q: What color is the fish?\n\nSue sang.\nA:', max_tokens: 5, temperature: 0 };
    const base = (await e.completion(prompt)).choices[0]!.text;
    const info = await e.loadAdapter({ bytes: buf(r.adapter) }, { id: 'tuned' });
    expect(info).toMatchObject({ id: 'tuned', ranks: [8], alpha: 16 });
    expect((await e.completion({ ...prompt, lora: [{ id: 'tuned' }] })).choices[0]!.text).not.toBe(base);

    // an abort after the first step: the outcome holds one step's training
    let steps = 0;
    const stopped = await e.finetune({ model: { bytes: model.slice(0) }, data, options: { epochs: 2, batch_size: 4, chat_template: TEMPLATE }, request_id: 'ft2' }, (ev) => {
      if (ev.phase === 'step' && ++steps === 1) void e.abort('ft2');
    });
    expect(stopped.stopped_early).toBe(true);
    expect(stopped.steps).toBeLessThan(10);
    expect(stopped.adapter.byteLength).toBeGreaterThan(1000);

    expect(await refusal(() => e.finetune({ model: { bytes: model.slice(0) }, data: '{"oops": 1}' }))).toMatch(/^bad-argument: line 1 of the examples: neither an Alpaca record/);
    expect(await refusal(() => e.finetune({ model: { onnx: { repo: 'x/y' } }, data }))).toMatch(/^bad-argument: finetune trains a GGUF model/);
  }, 120_000);

  it('a fine-tune stopped mid-way goes on from its checkpoint when the same job starts again (a closed tab), and ends as an uninterrupted one', async () => {
    const TEMPLATE = "{% for m in messages %}{% if m['role'] == 'user' %}Q: {{ m['content'] }}\n{% else %}A: {{ m['content'] }}{{ eos_token }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}A:{% endif %}";
    const data = ['Tom ran.', 'It was hot.', 'Sue sang.', 'The sky was blue.'].flatMap((c) => ['cat', 'dog', 'bird', 'fish', 'frog'].map((a, i) => JSON.stringify({ instruction: `What color is the ${a}?`, input: c, output: `It is ${['red', 'blue', 'green', 'pink', 'brown'][i]}.` }))).join('\n');
    const req = { model: { bytes: model.slice(0) }, data, options: { epochs: 2, lr: 3e-3, batch_size: 4, chat_template: TEMPLATE, seed: 4 } };
    const plain = await (await loaded()).finetune(req);
    expect(plain.steps).toBe(10);

    const store = new MemoryCheckpointStore();
    const withStore = () => {
      const e = new Engine({ createBackend: async () => new CpuBackend(), openCheckpoints: async () => store });
      return e;
    };
    const first = withStore();
    let seen = 0;
    const cut = await first.finetune({ ...req, request_id: 'cut' }, (ev) => {
      if (ev.phase === 'step' && ++seen === 7) void first.abort('cut');
    });
    expect(cut.stopped_early).toBe(true);

    // the same job again, in a new engine (a new tab): from the checkpoint at the first epoch's end (step 5)
    let resumedFrom = -1;
    const steps: number[] = [];
    const again = await withStore().finetune(req, (ev) => (ev.phase === 'prepared' ? (resumedFrom = ev.prepared.resumed_from_step) : steps.push(ev.step)));
    expect(resumedFrom).toBe(5);
    expect(steps).toEqual([6, 7, 8, 9, 10]);
    expect(again.stopped_early).toBe(false);
    expect(Buffer.from(again.adapter).equals(Buffer.from(plain.adapter))).toBe(true);
    expect(again.held_out_loss).toEqual(plain.held_out_loss);
    // done: the checkpoint is gone, so the job starts from the beginning next time
    let from = -1;
    await withStore().finetune({ ...req, options: { ...req.options, epochs: 1 } }, (ev) => ev.phase === 'prepared' && (from = ev.prepared.resumed_from_step));
    expect(from).toBe(0);
    // another job (other settings) does not take this one's checkpoint
    const other = withStore();
    let n = 0;
    await other.finetune({ ...req, request_id: 'o' }, (ev) => ev.phase === 'step' && ++n === 6 && void other.abort('o'));
    let fromOther = -1;
    await withStore().finetune({ ...req, options: { ...req.options, lr: 1e-3 } }, (ev) => ev.phase === 'prepared' && (fromOther = ev.prepared.resumed_from_step));
    expect(fromOther).toBe(0);
  }, 300_000);
});

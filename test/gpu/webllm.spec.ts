/**
 * WebLLM (the pinned @mlc-ai/web-llm) in Chromium, in Cria's engine worker, against Cria's own engine
 * on the same weights: a Qwen2-0.5B-shaped random GGUF with every matrix Q4_0
 * (`cria make-bench-model --shape qwen2.5-0.5b --type q4_0 --pure`) is exported to MLC q4f32_1
 * (`cria export mlc`: the same codes and scales, bit for bit) and run by WebLLM with the real model
 * library of its shape; Cria's CPU reference runs the GGUF here, in Node. Two independent engines, the
 * same weights: greedy tokens must agree (near-ties excepted) and each step's top log-probabilities
 * must agree within the bound below.
 *
 * Needs the model library, which CI does not have (no network; it is not ours to ship): set
 * CRIA_WEBLLM_LIB to a Qwen2-0.5B-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm of the v0_2_48 series
 * (mlc-ai/binary-mlc-llm-libs, web-llm-models/v0_2_48/). Without it the test is skipped, loudly.
 * On SwiftShader WebLLM takes ~16 s per step for this shape: a 6-token prompt and 3 greedy tokens.
 *
 * Tolerance on log-probabilities: |Δ| ≤ 2.5e-4 · max(1, max |logit|) at each step: both engines compute
 * in f32 on identical f32 weights (q4f32_1 = Q4_0 exactly) with f32 activations; they differ only in the
 * order of f32 sums (WebLLM's tiled GEMV / fused attention vs the reference's plain loops) over 24
 * layers. Measured on SwiftShader (2026-12-07): max |Δ| 1.77e-4 with max |logit| 4.31, i.e. 4.1e-5
 * relative; the bound leaves 6× margin for other adapters' summation orders.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, test } from '@playwright/test';
import { generate } from '../../src/engine/generate.ts';
import { Session } from '../../src/engine/session.ts';
import { exportMlc } from '../../src/export/mlc.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { Model } from '../../src/model/model.ts';
import { syntheticModel, parseSyntheticType } from '../../src/model/synthetic.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { GREEDY, logSoftmax } from '../../src/sampling/sampler.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';

const LIB = process.env.CRIA_WEBLLM_LIB;
const PROMPT = [1, 400, 300, 200, 77, 12];
const STEPS = 3;
/** a continuation scored after PROMPT (one WebLLM step per token) */
const CONTINUATION = [500, 600, 700];
const REL = 2.5e-4;

if (!LIB) {
  console.warn('\n*** test/gpu/webllm.spec.ts SKIPPED: set CRIA_WEBLLM_LIB to Qwen2-0.5B-Instruct-q4f32_1-ctx4k_cs1k-webgpu.wasm (v0_2_48, mlc-ai/binary-mlc-llm-libs) to run WebLLM against Cria on the same weights ***\n');
}

/**
 * Without a model library (CI): WebLLM itself loads in the engine worker and fails the way Cria says,
 * against a real server on 127.0.0.1 serving a real export (tiny-qwen2, q0f32): a library that is
 * missing (HTTP 404) is `network`, one that is not WebAssembly is `bad-file`, weights that are not
 * there are `network` before WebLLM starts, and `backend: 'wasm'` is refused. A failed first load
 * leaves nothing in the cache list.
 */
test.describe('WebLLM in the engine worker, failing as Cria says (no model library needed)', () => {
  let server: ModelServer;
  let root: string;
  let shards = 0;
  let shardBytes = 0;
  let otherBytes = 0;
  let libBytes = 0;
  test.beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cria-webllm-err-'));
    server = await startModelServer({ port: 0, root });
    const bytes = syntheticModel('tiny-qwen2', parseSyntheticType('f32'), 0).toBytes();
    const ex = await exportMlc(await readGguf(bytesSource(bytes, 'tiny.gguf')), { quant: 'q0f32', shardBytes: 512 << 10 });
    for (const [path, data] of ex.files) {
      const at = join(root, 'tiny-mlc/resolve/main', path);
      mkdirSync(dirname(at), { recursive: true });
      writeFileSync(at, data);
    }
    shards = [...ex.files.keys()].filter((p) => p.startsWith('params_shard_')).length;
    shardBytes = [...ex.files].filter(([p]) => p.startsWith('params_shard_')).reduce((a, [, d]) => a + d.byteLength, 0);
    otherBytes = [...ex.files].filter(([p]) => !p.startsWith('params_shard_')).reduce((a, [, d]) => a + d.byteLength, 0);
    // the same model on a server that serves a shard other than the one its index describes (cut short)
    for (const [path, data] of ex.files) {
      const at = join(root, 'lying-mlc/resolve/main', path);
      mkdirSync(dirname(at), { recursive: true });
      writeFileSync(at, path === 'params_shard_1.bin' ? data.subarray(0, data.byteLength - 100) : data);
    }
    writeFileSync(join(root, 'not-a-library.wasm'), 'this is not WebAssembly');
    // a "library" whose metadata declares exactly the export's parameters but which is not WebAssembly:
    // Cria's checks pass, its downloads run, and WebLLM fails to compile it
    const meta = new TextEncoder().encode(JSON.stringify({ model_type: 'qwen2', quantization: 'q0f32', context_window_size: 4096, prefill_chunk_size: 1024, params: ex.params.map((q) => ({ ...q, preprocs: [] })) }));
    const fake = new Uint8Array(16 + meta.byteLength);
    new DataView(fake.buffer).setUint32(8, meta.byteLength, true);
    fake.set(meta, 16);
    writeFileSync(join(root, 'fake-library.wasm'), fake);
    libBytes = fake.byteLength;
  });
  test.afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const load = async (page: import('@playwright/test').Page, source: unknown, backend?: 'wasm') => {
    await page.goto('/test/gpu/pages/webllm.html');
    await page.waitForFunction(() => window.criaWebllmTry !== undefined);
    return page.evaluate(([s, b]) => window.criaWebllmTry!(s, b), [source, backend] as const);
  };

  test('a missing model library is a network error, and the failed load leaves nothing listed', async ({ page }) => {
    const r = await load(page, { mlc: { model: `${server.url}/models/tiny-mlc/resolve/main/`, modelLib: `${server.url}/models/missing.wasm` } });
    expect(r.error?.code, r.error?.message).toBe('network');
    expect(r.cached.filter((c) => c.format === 'mlc')).toEqual([]);
  });

  test('a model library that is not WebAssembly is bad-file, naming the pinned version', async ({ page }) => {
    const r = await load(page, { mlc: { model: `${server.url}/models/tiny-mlc/resolve/main/`, modelLib: `${server.url}/models/not-a-library.wasm` } });
    expect(r.error?.code, r.error?.message).toBe('bad-file');
    expect(r.error?.message).toMatch(/0\.2\.79/);
    expect(r.cached.filter((c) => c.format === 'mlc')).toEqual([]);
  });

  test('Cria downloads the shards (progress in bytes); a library WebLLM cannot compile is bad-file and nothing of the model stays', async ({ page }) => {
    const model = `${server.url}/models/tiny-mlc/resolve/main/`;
    await page.goto('/test/gpu/pages/webllm.html');
    await page.waitForFunction(() => window.criaWebllmExtra !== undefined);
    await page.evaluate(([m, l]) => window.criaWebllmExtra!.start({ mlc: { model: m, modelLib: l } }), [model, `${server.url}/models/fake-library.wasm`] as const);
    const out = await page.evaluate(() => window.criaWebllmExtra!.outcome());
    expect(out.error?.code, out.error?.message).toBe('bad-file');
    expect(out.error?.message).toMatch(/0\.2\.79/);
    const dl = out.phases.filter((p) => p.phase === 'download');
    expect(dl.at(-1)).toMatchObject({ loadedBytes: shardBytes, totalBytes: shardBytes });
    expect(dl.length).toBeGreaterThan(shards);
    expect(server.log().requests.filter((r) => r.path.includes('params_shard_')).length).toBe(shards);
    expect((await page.evaluate(() => window.criaWebllmExtra!.list())).filter((c) => c.format === 'mlc')).toEqual([]);
    expect(await page.evaluate((u) => window.criaWebllmExtra!.keys(u), server.url)).toEqual({ 'webllm/config': 0, 'webllm/model': 0, 'webllm/wasm': 0, 'cria/mlc': 0 });
  });

  test('a stalled download, stopped: aborted; the shards completed stay (a partial MLC model in the list); the next load fetches only the rest', async ({ page }) => {
    const model = `${server.url}/models/tiny-mlc/resolve/main/`;
    const source = { mlc: { model, modelLib: `${server.url}/models/fake-library.wasm` } };
    server.reset();
    server.control({ stallAfterTotalBytes: otherBytes + libBytes + Math.floor(shardBytes * 0.5) });
    await page.goto('/test/gpu/pages/webllm.html');
    await page.waitForFunction(() => window.criaWebllmExtra !== undefined);
    await page.evaluate((s) => window.criaWebllmExtra!.start(s), source);
    await expect.poll(async () => (await page.evaluate(() => window.criaWebllmExtra!.list())).find((c) => c.format === 'mlc')?.chunksStored ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
    await page.evaluate(() => window.criaWebllmExtra!.stop());
    const out = await page.evaluate(() => window.criaWebllmExtra!.outcome());
    expect(out.error?.code, out.error?.message).toBe('aborted');
    const partial = (await page.evaluate(() => window.criaWebllmExtra!.list())).find((c) => c.format === 'mlc')!;
    expect(partial).toMatchObject({ id: `mlc:${model}`, complete: false, chunks: shards });
    expect(partial.chunksStored).toBeLessThan(shards);
    server.reset();
    await page.evaluate((s) => window.criaWebllmExtra!.start(s), source);
    const again = await page.evaluate(() => window.criaWebllmExtra!.outcome());
    expect(again.error?.code, 'the fake library fails at WebLLM, after the downloads').toBe('bad-file');
    expect(again.phases.find((p) => p.phase === 'download')?.resumedBytes).toBeGreaterThan(0);
    expect(server.log().requests.filter((r) => r.path.includes('params_shard_')).length, 'only the shards not stored').toBe(shards - partial.chunksStored);
  });

  test('a shard of another length than the index says: network, naming both lengths; nothing of that shard is kept', async ({ page }) => {
    const model = `${server.url}/models/lying-mlc/resolve/main/`;
    const r = await load(page, { mlc: { model, modelLib: `${server.url}/models/fake-library.wasm` } });
    expect(r.error?.code, r.error?.message).toBe('network');
    expect(r.error?.message).toMatch(/params_shard_1\.bin sent \d+ bytes, but the model's index says \d+/);
    const partial = r.cached.find((c) => c.format === 'mlc');
    expect(partial, 'shard 0 arrived whole and is kept, to resume').toMatchObject({ complete: false, chunksStored: 1 });
  });

  test('with the quota lowered, the download fails with storage-quota and leaves nothing', async ({ page }) => {
    await page.goto('/test/gpu/pages/webllm.html');
    await page.waitForFunction(() => window.criaWebllmExtra !== undefined);
    const origin = new URL(page.url()).origin;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 200_000 });
    try {
      const r = await load(page, { mlc: { model: `${server.url}/models/tiny-mlc/resolve/main/`, modelLib: `${server.url}/models/fake-library.wasm` } });
      expect(r.error?.code, r.error?.message).toBe('storage-quota');
      expect(r.cached.filter((c) => c.format === 'mlc')).toEqual([]);
      expect(await page.evaluate((u) => window.criaWebllmExtra!.keys(u), server.url)).toMatchObject({ 'webllm/model': 0, 'cria/mlc': 0 });
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    }
  });

  test('weights that are not there: network, before WebLLM is asked; backend "wasm" is refused', async ({ page }) => {
    const r = await load(page, { mlc: { model: `${server.url}/models/nowhere/resolve/main/`, modelLib: `${server.url}/models/not-a-library.wasm` } });
    expect(r.error?.code, r.error?.message).toBe('network');
    expect(r.error?.message).toMatch(/mlc-chat-config\.json.*404/);
    const w = await load(page, { mlc: { model: `${server.url}/models/tiny-mlc/resolve/main/`, modelLib: `${server.url}/models/not-a-library.wasm` } }, 'wasm');
    expect(w.error?.code).toBe('bad-argument');
    expect(w.error?.message).toMatch(/WebGPU only/);
  });
});

test.describe('WebLLM in the engine worker, against Cria\'s CPU reference on the same Q4_0 weights', () => {
  test.skip(!LIB, 'CRIA_WEBLLM_LIB is not set: no WebLLM model library here (CI has no network); see the file header');
  test.setTimeout(40 * 60_000);

  let server: ModelServer;
  let root: string;
  test.beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cria-webllm-spec-'));
    server = await startModelServer({ port: 0, root });
  });
  test.afterAll(async () => {
    await server?.close().catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('Qwen2-0.5B shape, Q4_0 → q4f32_1: the same greedy tokens and log-probabilities, score() too; listed in the cache, loaded again offline, deleted', async ({ page }) => {
    expect(existsSync(LIB!), `CRIA_WEBLLM_LIB=${LIB} does not exist`).toBe(true);
    // the GGUF, as `cria make-bench-model --shape qwen2.5-0.5b --type q4_0 --pure` writes it
    const m = syntheticModel('qwen2.5-0.5b', parseSyntheticType('q4_0'), 0, { pure: true });
    const bytes = m.toBytes();
    const gguf = await readGguf(bytesSource(bytes, 'qwen.gguf'));
    const lib = new Uint8Array(readFileSync(LIB!));
    const ex = await exportMlc(gguf, { quant: 'q4f32_1', library: lib });
    for (const [path, data] of ex.files) {
      const at = join(root, 'qwen-mlc/resolve/main', path);
      mkdirSync(dirname(at), { recursive: true });
      writeFileSync(at, data);
    }
    copyFileSync(LIB!, join(root, 'lib.wasm'));

    // Cria's CPU reference on the GGUF: greedy tokens and each step's log-softmax
    const ref = new Session(await Model.load(gguf, new CpuBackend()), { nCtx: 64 });
    const it = generate(ref, { prompt: PROMPT, maxTokens: STEPS, sampling: GREEDY });
    let r;
    while (!(r = await it.next()).done);
    const refTokens = r.value.tokens;
    ref.truncate(0);
    const nVocab = m.shape.nVocab;
    const all = await ref.appendAll([...PROMPT, ...refTokens.slice(0, -1)]);
    const rows = refTokens.map((_, s) => all.subarray((PROMPT.length - 1 + s) * nVocab, (PROMPT.length + s) * nVocab));
    let maxLogit = 1;
    for (const row of rows) for (const v of row) maxLogit = Math.max(maxLogit, Math.abs(v));
    const tol = REL * maxLogit;
    let agree = refTokens.length;
    for (let s = 0; s < rows.length; s++) {
      const top = Array.from(rows[s]).sort((a, b) => b - a);
      if (top[0] - top[1] < 2 * tol) {
        agree = s;
        break;
      }
    }

    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (msg) => console.log(`[page] ${msg.text()}`));
    await page.goto('/test/gpu/pages/webllm.html');
    await page.waitForFunction(() => window.criaWebllm !== undefined);
    const model = `${server.url}/models/qwen-mlc/resolve/main/`;
    const out = await page.evaluate(([mdl, l, p, n, c]) => window.criaWebllm!.run(mdl, l, p, n, c), [model, `${server.url}/models/lib.wasm`, PROMPT, STEPS, CONTINUATION] as const);
    expect(out.error).toBeNull();
    expect(out.info).toMatchObject({ runtime: 'webllm', architecture: 'qwen2', backend: { kind: 'webgpu' }, vocabSize: nVocab });
    expect(out.phases).toEqual(expect.arrayContaining(['download', 'upload', 'compile']));
    // each step: the chosen token's log-probability, and the five largest log-probabilities (as values: no ids needed)
    let maxD = 0;
    out.logprobs.forEach((step, s) => {
      if (s >= rows.length) return;
      const ls = logSoftmax(rows[s]);
      if (out.tokens[s] !== undefined) maxD = Math.max(maxD, Math.abs(step.logprob - ls[out.tokens[s]]));
      const refTop = Array.from(ls).sort((a, b) => b - a).slice(0, step.top_logprobs.length);
      const theirs = step.top_logprobs.map((t) => t.logprob).sort((a, b) => b - a);
      theirs.forEach((v, k) => (maxD = Math.max(maxD, Math.abs(v - refTop[k]))));
    });
    console.log(`WebLLM vs Cria reference: greedy ${JSON.stringify(out.tokens)} vs ${JSON.stringify(refTokens)} (agree before a near-tie: ${agree}), max |Δ logprob| ${maxD.toExponential(2)} (bound ${tol.toExponential(2)}), load ${(out.loadMs / 1000).toFixed(1)} s, decode ${out.usage?.decode_tokens_per_s?.toFixed(3)} tok/s`);
    expect(out.tokens.slice(0, agree)).toEqual(refTokens.slice(0, agree));
    expect(maxD).toBeLessThanOrEqual(tol);
    // score(): each continuation token's log-probability, as Cria's reference gives it after the same tokens
    ref.truncate(0);
    const scoredRows = await ref.appendAll([...PROMPT, ...CONTINUATION.slice(0, -1)]);
    const want = CONTINUATION.map((t, i) => logSoftmax(scoredRows.subarray((PROMPT.length - 1 + i) * nVocab, (PROMPT.length + i) * nVocab))[t]);
    expect(out.scored).toMatchObject({ context_tokens: PROMPT, tokens: CONTINUATION });
    const scoreD = Math.max(...want.map((w, i) => Math.abs(w - out.scored!.logprobs[i])));
    console.log(`WebLLM score() vs Cria reference: ${JSON.stringify(out.scored!.logprobs.map((v) => +v.toFixed(4)))} vs ${JSON.stringify(want.map((v) => +v.toFixed(4)))}, max |Δ| ${scoreD.toExponential(2)} (bound ${tol.toExponential(2)})`);
    expect(scoreD).toBeLessThanOrEqual(tol);
    // in Cria's cache list (WebLLM's storage), then deleted
    const row = out.cached.find((c) => c.format === 'mlc');
    expect(row).toMatchObject({ id: `mlc:${model}`, complete: true, format: 'mlc' });
    expect(row!.storedBytes).toBeGreaterThan(200 * 2 ** 20);
    // again from the cache with the server gone: nothing fetched
    await server.close();
    const again = await page.evaluate((id) => window.criaWebllm!.again(id), row!.id);
    expect(again.error).toBeNull();
    expect(again.info).toMatchObject({ runtime: 'webllm', source: 'cache', downloadedBytes: 0, contentHash: out.info!.contentHash });
    const after = await page.evaluate((id) => window.criaWebllm!.remove(id), row!.id);
    expect(after.some((c) => c.format === 'mlc')).toBe(false);
    expect(errors).toEqual([]);
  });
});

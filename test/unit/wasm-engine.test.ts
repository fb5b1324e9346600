/**
 * The Engine on the WebAssembly backend in Node (what `cria --engine cpu` runs): ModelInfo says which
 * backend and why; requests go through the same path (a chat completion, scoring); the memory check
 * caps the budget at wasm32's 4 GiB and says so; asking a Node engine for WebGPU is a clear error.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { nodeBackendFactory } from '../../src/cli/cpu-engine.ts';
import { syntheticModel, type SyntheticShape } from '../../src/model/synthetic.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { createNodeWasmBackend } from '../../src/wasm/node.ts';
import { STORIES, fixtureBytes } from './helpers/eval-engine.ts';

describe('the Engine on WebAssembly', () => {
  it('loads, reports the backend and its reason, answers and scores', async () => {
    const e = new Engine({ createBackend: nodeBackendFactory('cpu', 2) });
    const info = await e.load({ bytes: fixtureBytes(STORIES), name: 'stories' });
    expect(info.backend).toMatchObject({ kind: 'wasm', threads: 2 });
    expect(info.backend.detail).toMatch(/WebAssembly (SIMD128|relaxed SIMD), shared memory/);
    expect(info.backend.reason).toMatch(/WebAssembly, as asked.*2 threads/);
    const r = await e.completion({ prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
    expect(r.choices[0].text).toMatch(/^, there was a little girl/);
    const s = await e.score({ context: 'Once upon a', continuation: ' time' });
    expect(s.logprobs).toHaveLength(1);
    expect(s.greedy).toBe(true);
    await e.unload();
  });

  it('a Node engine asked for WebGPU says where WebGPU runs', async () => {
    const e = new Engine({ createBackend: nodeBackendFactory('cpu') });
    let err: unknown;
    try {
      await e.load({ bytes: fixtureBytes(STORIES) }, undefined, { backend: 'webgpu' });
    } catch (x) {
      err = x;
    }
    expect(isCriaError(err, 'bad-argument')).toBe(true);
    expect((err as Error).message).toMatch(/--engine webgpu/);
  });

  it("the memory budget is capped at what the backend holds, and the error says it is WebAssembly's limit", async () => {
    const shape: SyntheticShape = { name: 'kv-heavy', arch: 'llama', nEmbd: 32, nLayer: 16, nHead: 32, nHeadKv: 32, headDim: 128, nFf: 32, nVocab: 300, nCtxTrain: 4096, tied: true, ropeTheta: 10000, rmsEps: 1e-5 };
    const e = new Engine({
      createBackend: async () => {
        const b = await createNodeWasmBackend();
        // the same check as for 4 GiB, at a size a test can reach: pretend wasm32 held 16 MiB
        Object.defineProperty(b, 'memoryLimitBytes', { value: 16 * 2 ** 20 });
        return b;
      },
      memoryBudgetBytes: 2 ** 30,
    });
    let err: unknown;
    try {
      await e.load({ bytes: syntheticModel(shape, 'Q4_0', 1).toBytes().buffer as ArrayBuffer });
    } catch (x) {
      err = x;
    }
    expect(isCriaError(err, 'out-of-memory'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/memory budget is 16\.0 MiB \(WebAssembly's 4 GiB address space\)/);
  });
});

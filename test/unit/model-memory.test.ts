/**
 * Issue 12, item 3: memory is checked before it is taken. Hostile files (made with the
 * project's own synthetic-model writer) that once made the engine allocate gigabytes, and files
 * whose numbers lie (non-finite weights, a vocabulary that disagrees with the tokenizer, a
 * context of one position), are refused at load with a code and the numbers; a model that fits
 * only with a shorter context gets one, and says so in ModelInfo.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { gv, writeGguf } from '../../src/formats/gguf-writer.ts';
import { readGguf, readTensorBytes, type GgufValue } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import type { KvCacheSpec } from '../../src/model/backend.ts';
import { chooseContext } from '../../src/model/memory.ts';
import { planModel } from '../../src/model/model.ts';
import { syntheticModel, type SyntheticShape } from '../../src/model/synthetic.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { isCriaError, type CriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** The CPU reference, recording what it is asked to allocate. */
class WatchedBackend extends CpuBackend {
  caches: KvCacheSpec[] = [];
  weights = 0;
  override allocateCache(spec: KvCacheSpec): void {
    this.caches.push(spec);
    super.allocateCache(spec);
  }
  override loadWeight(...args: Parameters<CpuBackend['loadWeight']>) {
    this.weights++;
    return super.loadWeight(...args);
  }
}

function watchedEngine(opts: { memoryBudgetBytes?: number } = {}) {
  const backend = new WatchedBackend();
  const engine = new Engine({ createBackend: async () => backend, ...opts });
  return { engine, backend };
}

async function loadError(p: Promise<unknown>): Promise<CriaError> {
  try {
    await p;
  } catch (e) {
    return e as CriaError;
  }
  throw new Error('expected load to fail');
}

/** 16 layers with KV dim 4096 and a 4096-position context, in a ~5 MB Q4_0 file: a 2 GiB KV cache. */
const KV_HEAVY: SyntheticShape = { name: 'kv-heavy', arch: 'llama', nEmbd: 32, nLayer: 16, nHead: 32, nHeadKv: 32, headDim: 128, nFf: 32, nVocab: 300, nCtxTrain: 4096, tied: true, ropeTheta: 10000, rmsEps: 1e-5 };
const kvHeavy = () => syntheticModel(KV_HEAVY, 'Q4_0', 7).toBytes().buffer as ArrayBuffer;

describe('memory is checked before it is taken', () => {
  it('the crafted file is what the issue describes (≈5 MB, 2 GiB of KV cache at its context)', () => {
    const bytes = kvHeavy();
    expect(bytes.byteLength).toBeLessThan(6 * MiB);
    expect(16 * 4096 * (32 * 128 * 2) * 4).toBe(2 * GiB);
  });

  it('a model whose KV cache would pass the budget gets a shorter context, chosen before allocating, and says why', async () => {
    const { engine, backend } = watchedEngine({ memoryBudgetBytes: GiB });
    const info = await engine.load({ bytes: kvHeavy(), name: 'kv-heavy.gguf' });
    expect(info.nCtx).toBeLessThan(4096);
    expect(info.nCtx).toBeGreaterThanOrEqual(256);
    expect(info.nCtxReason).toMatch(/memory budget of 1\.00 GiB/);
    expect(info.memory.totalBytes).toBeLessThanOrEqual(GiB);
    expect(info.memory.kvCacheBytes).toBe(info.nCtx * 16 * 32 * 128 * 2 * 4);
    expect(backend.caches.map((c) => c.nCtx)).toEqual([info.nCtx]);
    // and it works
    const r = await engine.completion({ prompt: 'a b', max_tokens: 2, temperature: 0 });
    expect(r.choices[0].token_ids).toHaveLength(2);
  });

  it('asking for the whole context beyond the budget is out-of-memory naming the numbers, before anything is uploaded', async () => {
    const { engine, backend } = watchedEngine({ memoryBudgetBytes: GiB });
    const e = await loadError(engine.load({ bytes: kvHeavy(), name: 'kv-heavy.gguf' }, undefined, { nCtx: 4096 }));
    expect(e.code).toBe('out-of-memory');
    expect(e.message).toMatch(/4096 positions needs .*2\.00 GiB of KV cache.*memory budget of 1\.00 GiB/);
    expect(e.detail).toMatchObject({ nCtx: 4096, kvCacheBytes: 2 * GiB, budgetBytes: GiB });
    expect(backend.caches).toEqual([]);
    expect(backend.weights).toBe(0);
  });

  it('a model that cannot hold even a short context is refused at load, nothing uploaded', async () => {
    const { engine, backend } = watchedEngine({ memoryBudgetBytes: 16 * MiB });
    const e = await loadError(engine.load({ bytes: kvHeavy(), name: 'kv-heavy.gguf' }));
    expect(e.code).toBe('out-of-memory');
    expect(e.message).toMatch(/does not fit: even a context of 256 positions needs/);
    expect(backend.weights).toBe(0);
    expect(backend.caches).toEqual([]);
  });

  it('a head size beyond what the kernels take is refused before any allocation (unsupported-arch)', () => {
    const file = syntheticModel({ ...KV_HEAVY, nLayer: 1, nHead: 1, nHeadKv: 1, headDim: 4096 }, 'Q4_0', 1);
    return readGguf(file.source()).then((f) => {
      const { config, tensors } = planModel(f);
      const weight = tensors.reduce((a, t) => a + t.byteLength, 0);
      let e: unknown;
      try {
        chooseContext(config, weight, 0, { budgetBytes: 4 * GiB, maxHeadDim: 256 }, { cap: 4096, nBatch: 256 });
      } catch (err) {
        e = err;
      }
      expect(isCriaError(e, 'unsupported-arch')).toBe(true);
      expect((e as Error).message).toMatch(/4096 dimensions.*at most 256/);
    });
  });

  it("one layer's KV cache beyond the device's buffer limit shortens the default context, and is `limits` when asked for", async () => {
    const f = await readGguf(syntheticModel(KV_HEAVY, 'Q4_0', 7).source());
    const { config } = planModel(f);
    const limits = { budgetBytes: 64 * GiB, maxBufferBytes: 16 * MiB };
    const chosen = chooseContext(config, 5 * MiB, 1024, limits, { cap: 4096, nBatch: 256 });
    expect(chosen.nCtx * 32 * 128 * 4).toBeLessThanOrEqual(16 * MiB);
    expect(chosen.reason).toMatch(/largest buffer/);
    let e: unknown;
    try {
      chooseContext(config, 5 * MiB, 1024, limits, { nCtx: 4096, cap: 4096, nBatch: 256 });
    } catch (err) {
      e = err;
    }
    expect(isCriaError(e, 'limits')).toBe(true);
  });
});

/** stories260K with metadata or tensor bytes changed. */
async function stories(edit: { meta?: (m: Map<string, GgufValue>) => void; tensor?: (name: string, data: Uint8Array) => void }): Promise<ArrayBuffer> {
  const src = await readGguf(bytesSource(new Uint8Array(readFileSync(fixturePath('models/stories260K/stories260K-f32.gguf')))));
  const meta = new Map(src.metadata);
  edit.meta?.(meta);
  const tensors = [];
  for (const t of src.tensors) {
    const data = (await readTensorBytes(src, t)).slice();
    edit.tensor?.(t.name, data);
    tensors.push({ name: t.name, type: t.type, dims: t.dims, data });
  }
  return writeGguf({ metadata: meta, tensors }).buffer as ArrayBuffer;
}

describe('numbers that lie are found at load', () => {
  it('a NaN in a norm weight is bad-file at load, naming the tensor (not token 0 forever)', async () => {
    const bytes = await stories({ tensor: (name, d) => name === 'blk.1.ffn_norm.weight' && new DataView(d.buffer, d.byteOffset).setFloat32(8, NaN, true) });
    const e = await loadError(new Engine({ createBackend: async () => new CpuBackend() }).load({ bytes }));
    expect(e.code).toBe('bad-file');
    expect(e.message).toMatch(/blk\.1\.ffn_norm\.weight.*(NaN|infinit)/);
  });

  it('an infinite block scale in a Q8_0 weight is bad-file at load', async () => {
    const src = await readGguf(bytesSource(new Uint8Array(readFileSync(fixturePath('models/random/llama-gqa-q8_0/llama-gqa-q8_0.gguf')))));
    const tensors = [];
    for (const t of src.tensors) {
      const data = (await readTensorBytes(src, t)).slice();
      if (t.name === 'blk.0.attn_v.weight') new DataView(data.buffer, data.byteOffset).setUint16(34 * 5, 0x7c00, true); // block 5's d = +inf (f16)
      tensors.push({ name: t.name, type: t.type, dims: t.dims, data });
    }
    const e = await loadError(new Engine({ createBackend: async () => new CpuBackend() }).load({ bytes: writeGguf({ metadata: new Map(src.metadata), tensors }).buffer as ArrayBuffer }));
    expect(e.code).toBe('bad-file');
    expect(e.message).toMatch(/blk\.0\.attn_v\.weight/);
  });

  it('a vocabulary that disagrees with the embedding is bad-file at load', async () => {
    const bytes = await stories({
      meta: (m) => {
        const cut = <T,>(key: string, make: (v: T[]) => GgufValue) => m.set(key, make(Array.from((m.get(key) as unknown as { value: ArrayLike<T> }).value).slice(0, 400)));
        cut<string>('tokenizer.ggml.tokens', (v) => gv.strs(v));
        cut<number>('tokenizer.ggml.scores', (v) => gv.f32s(Float32Array.from(v)));
        cut<number>('tokenizer.ggml.token_type', (v) => gv.i32s(Int32Array.from(v)));
        m.set('llama.vocab_size', gv.u32(512));
      },
    });
    const e = await loadError(new Engine({ createBackend: async () => new CpuBackend() }).load({ bytes }));
    expect(e.code).toBe('bad-file');
    expect(e.message).toMatch(/400.*512|512.*400/);
  });

  it('a context length of 1 is bad-file at load', async () => {
    const bytes = await stories({ meta: (m) => m.set('llama.context_length', gv.u32(1)) });
    const e = await loadError(new Engine({ createBackend: async () => new CpuBackend() }).load({ bytes }));
    expect(e.code).toBe('bad-file');
    expect(e.message).toMatch(/context_length = 1/);
  });
});

/**
 * The engine and the device a runtime reports (src/engine/runtime.ts, `onDevice`): a device lost
 * while a model loads, or under a loaded model, is a `device-lost` error the user acts on (load
 * again), never a model that looks loaded on a dead device; stats describe the device from the
 * moment it exists. The device is Cria's real CPU reference backend whose `lost` promise the test
 * resolves, as a GPU's `device.lost` resolves when the driver resets.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import type { GgmlTypeInfo } from '../../src/formats/ggml-types.ts';
import { CpuBackend, type CpuWeight } from '../../src/reference/backend.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { fixturePath } from './helpers/fixtures.ts';

const STORIES = () => readFileSync(fixturePath('models/stories260K/stories260K-f32.gguf')).buffer as ArrayBuffer;

/** The CPU reference with a `lost` promise, resolved on request or at the n-th weight upload. */
class LosableBackend extends CpuBackend {
  readonly lost: Promise<string>;
  lose!: (reason: string) => void;
  disposed = 0;
  constructor(private readonly loseAtWeight = -1) {
    super();
    this.lost = new Promise((resolve) => (this.lose = resolve));
  }
  private weights = 0;
  override async loadWeight(name: string, type: GgmlTypeInfo, dims: readonly number[], bytes: Uint8Array): Promise<CpuWeight> {
    if (this.weights++ === this.loseAtWeight) this.lose('the driver was reset (test)');
    return super.loadWeight(name, type, dims, bytes);
  }
  override dispose(): void {
    this.disposed++;
    super.dispose();
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('a lost device', () => {
  it('while the model loads: load() fails with device-lost, nothing stays loaded, the backend is released', async () => {
    const backend = new LosableBackend(3);
    const e = new Engine({ createBackend: async () => backend });
    const err = await rejection(e.load({ bytes: STORIES(), name: 'stories' }));
    expect(isCriaError(err, 'device-lost'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/lost while the model loaded.*driver was reset.*load the model again/);
    expect(await e.modelInfo()).toBeNull();
    expect(backend.disposed).toBe(1);
    // the next load, on a new device, works
    const fresh = new Engine({ createBackend: async () => new LosableBackend() });
    await fresh.load({ bytes: STORIES(), name: 'stories' });
    expect((await fresh.modelInfo())?.architecture).toBe('llama');
  });

  it('under a loaded model: every request is device-lost until the next load, which works', async () => {
    const backends: LosableBackend[] = [];
    const e = new Engine({
      createBackend: async () => {
        backends.push(new LosableBackend());
        return backends.at(-1)!;
      },
    });
    await e.load({ bytes: STORIES(), name: 'stories' });
    expect((await e.stats()).backend).toBe('reference');
    backends[0].lose('the driver was reset (test)');
    await backends[0].lost;
    expect(await e.modelInfo()).toBeNull();
    expect((await e.stats()).backend).toBe('none');
    for (const p of [e.completion({ prompt: 'Once', max_tokens: 2 }), e.score({ context: 'Once', continuation: ' upon' }), e.tokenize('Once')]) {
      const err = await rejection(p);
      expect(isCriaError(err, 'device-lost'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/driver was reset.*load the model again/);
    }
    await e.load({ bytes: STORIES(), name: 'stories' });
    const c = await e.completion({ prompt: 'Once upon a time', max_tokens: 4, temperature: 0 });
    expect(c.choices[0].token_ids).toHaveLength(4);
    expect(backends).toHaveLength(2);
  });
});

/**
 * A model loaded from the cache (the engine with a model store, a real HTTP server on 127.0.0.1):
 * its content hash is computed once, at its first load, recorded in the manifest, and reused by later
 * loads instead of hashing every tensor again (the chunks are verified as they are read, so the
 * bytes are the same). The hash is the one a load of the same bytes from memory computes; a chunk
 * found corrupt is fetched again and the hash stays; a new download of the model records its own.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { MemoryModelStore } from './helpers/memory-store.ts';

const REL = 'models/stories260K/stories260K-f32.gguf';
const CHUNK = 256 * 1024; // stories260K: 5 chunks

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer({ port: 0 });
});
afterAll(async () => {
  await server?.close();
});

/** SHA-256 digests computed while `fn` runs (WebCrypto: chunk checks and tensor hashes). */
async function digests<T>(fn: () => Promise<T>): Promise<{ result: T; count: number }> {
  const subtle = crypto.subtle;
  const original = subtle.digest.bind(subtle);
  let count = 0;
  subtle.digest = ((algorithm: AlgorithmIdentifier, data: BufferSource) => {
    count++;
    return original(algorithm, data);
  }) as typeof subtle.digest;
  try {
    return { result: await fn(), count };
  } finally {
    subtle.digest = original;
  }
}

describe('the content hash of a cached model', () => {
  it('is computed at the first load, recorded, and reused: the same hash, only the chunks hashed', async () => {
    const store = new MemoryModelStore();
    const engine = new Engine({ createBackend: async () => new CpuBackend(), openStore: async () => store });
    const url = `${server.url}/models/${REL}`;
    const fromMemory = new Engine({ createBackend: async () => new CpuBackend() });
    const expected = (await fromMemory.load({ bytes: readFileSync(fixturePath(REL)).buffer as ArrayBuffer })).contentHash;

    // chunks of the default size (one, for this 1.2 MB file): each is read once per load
    const first = await digests(() => engine.load({ url, cache: true }));
    expect(first.result.source).toBe('network');
    expect(first.result.contentHash).toBe(expected);
    const manifest = (await store.getManifest(url))!;
    expect(manifest.contentHash).toBe(expected);

    const second = await digests(() => engine.load({ url, cache: true }));
    expect(second.result.source).toBe('cache');
    expect(second.result.contentHash).toBe(expected);
    // the warm load verified each chunk and hashed no tensor; the first hashed every tensor
    const tensors = (await readGguf(bytesSource(new Uint8Array(readFileSync(fixturePath(REL)))))).tensors.length;
    expect(second.count).toBe(manifest.chunks.length);
    expect(first.count - second.count).toBeGreaterThanOrEqual(tensors);
  });

  it('a corrupt chunk is fetched again, and the recorded hash still describes the bytes', async () => {
    const store = new MemoryModelStore();
    const engine = new Engine({ createBackend: async () => new CpuBackend(), openStore: async () => store });
    const url = `${server.url}/models/${REL}`;
    const { contentHash } = await engine.load({ url, cache: true, chunkSize: CHUNK });
    const chunk = (await store.getChunk(url, 2))!;
    const bad = new Uint8Array(await chunk.data.arrayBuffer());
    bad[100] ^= 0xff;
    await store.putChunk({ ...chunk, data: new Blob([bad]) });
    const phases: string[] = [];
    const again = await engine.load({ url, cache: true }, (p) => phases.push(p.phase));
    expect(phases).toContain('repair');
    expect(again.contentHash).toBe(contentHash);
  });

  it('is not recorded over a newer download of the model', async () => {
    const store = new MemoryModelStore();
    const url = `${server.url}/models/${REL}`;
    const engine = new Engine({ createBackend: async () => new CpuBackend(), openStore: async () => store });
    await engine.load({ url, cache: true, chunkSize: CHUNK });
    const m = (await store.getManifest(url))!;
    // the model was downloaded again meanwhile (another tab): a manifest of another download
    await store.commit({ ...m, contentHash: undefined, createdAt: m.createdAt + 1 });
    await store.setContentHash(m, 'f'.repeat(64));
    expect((await store.getManifest(url))!.contentHash).toBeUndefined();
  });
});

/**
 * The model cache's download, resume, quota, change detection, verification
 * and repair logic (src/storage/), against a real HTTP server with fault
 * injection (test/server/model-server.ts) over the real fixture files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { cachedSource } from '../../src/storage/cached-source.ts';
import { ensureCached, type DownloadProgress } from '../../src/storage/download.ts';
import { HttpRangeSource } from '../../src/storage/range-source.ts';
import { isCriaError, type CriaError } from '../../src/shared/errors.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { MemoryModelStore } from './helpers/memory-store.ts';

const REL = 'models/stories260K/stories260K-f32.gguf';
const file = new Uint8Array(readFileSync(fixturePath(REL)));
const CHUNK = 128 * 1024; // 10 chunks for this 1.2 MB file
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let server: ModelServer;
let url: string;
beforeAll(async () => {
  server = await startModelServer({ port: 0 });
  url = `${server.url}/models/${REL}`;
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const fail = async (p: Promise<unknown>): Promise<CriaError> => {
  try {
    await p;
  } catch (e) {
    return e as CriaError;
  }
  throw new Error('expected a failure');
};
const modelRanges = () => server.log().requests.filter((r) => r.path.startsWith('/models/') && r.range !== 'bytes=0-3').map((r) => r.range);

describe('ensureCached', () => {
  it('downloads in verified chunks with progress, and the cached file reads back identical', async () => {
    const store = new MemoryModelStore();
    const events: DownloadProgress[] = [];
    const r = await ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK, onProgress: (p) => events.push(p) });
    const m = r.manifest;
    expect(r.downloadedBytes).toBe(file.length);
    expect(m.size).toBe(file.length);
    expect(m.chunks.length).toBe(Math.ceil(file.length / CHUNK));
    m.chunks.forEach((c) => expect(c.sha256).toBe(sha(file.subarray(c.offset, c.offset + c.size))));
    expect(m.etag).toBeTruthy();
    // progress: monotonic, ends at the total, with a rate
    const loaded = events.map((e) => e.loadedBytes);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(events[events.length - 1].loadedBytes).toBe(file.length);
    expect(events.some((e) => e.bytesPerSecond > 0)).toBe(true);
    // one request per chunk, a few at a time
    expect(modelRanges().length).toBe(m.chunks.length);
    // reading through the cache gives the same bytes and the same parsed model
    const src = cachedSource(store, m);
    for (const [o, n] of [[0, 10], [CHUNK - 5, 10], [3 * CHUNK + 17, 2 * CHUNK + 3], [file.length - 7, 7]]) {
      expect(sha(await src.read(o, n))).toBe(sha(file.subarray(o, o + n)));
    }
    const a = await readGguf(src);
    const b = await readGguf(bytesSource(file));
    expect(a.tensors.map((t) => [t.name, t.offset])).toEqual(b.tensors.map((t) => [t.name, t.offset]));
    expect(store.partials.size).toBe(0);
  });

  it('a cached model needs no network at all', async () => {
    const store = new MemoryModelStore();
    await ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK });
    server.reset();
    const r = await ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK });
    expect(r.downloadedBytes).toBe(0);
    expect(server.log().requests).toEqual([]);
  });

  it('a download cut off midway resumes from the chunks already stored', async () => {
    const store = new MemoryModelStore();
    // every response is cut after 1000 bytes once 500 KB have been sent: retries cannot finish
    server.control({ cutAfterTotalBytes: 500_000 });
    const e = await fail(ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK, parallel: 1 }));
    expect(e.code).toBe('network');
    expect(store.manifests.size).toBe(0); // not cached: no manifest
    const stored = await store.storedChunks(url);
    expect(stored.size).toBeGreaterThan(0);
    expect(stored.size).toBeLessThan(Math.ceil(file.length / CHUNK));
    const partial = (await store.getPartial(url))!;
    expect(partial.chunkSize).toBe(CHUNK);

    server.reset();
    const r = await ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK });
    expect(r.resumedBytes).toBe([...stored.values()].reduce((a, c) => a + c.size, 0));
    expect(r.downloadedBytes).toBe(file.length - r.resumedBytes);
    // only the missing chunks were requested
    const asked = modelRanges().map((h) => Number(/bytes=(\d+)-/.exec(h!)![1]) / CHUNK);
    for (const i of stored.keys()) expect(asked).not.toContain(i);
    r.manifest.chunks.forEach((c) => expect(c.sha256).toBe(sha(file.subarray(c.offset, c.offset + c.size))));
  });

  it('a connection cut once is retried within the same download', async () => {
    const store = new MemoryModelStore();
    server.control({ cutAfterTotalBytes: 300_000, cutTotalOnce: true });
    const r = await ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK });
    expect(r.manifest.chunks.length).toBe(Math.ceil(file.length / CHUNK));
    expect(server.log().requests.some((q) => q.aborted)).toBe(true);
  });

  it('a download that cannot fit fails at once with storage-quota and leaves nothing behind', async () => {
    const store = new MemoryModelStore();
    const storage = { estimate: async () => ({ usage: 100_000, quota: 600_000 }) };
    const e = await fail(ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK, storage }));
    expect(e.code).toBe('storage-quota');
    expect(e.message).toMatch(/needs 1\.1 MB.*only 0\.5 MB is free/);
    expect(e.detail).toMatchObject({ need: file.length, free: 500_000 });
    expect(modelRanges()).toEqual([]); // only the 4-byte probe went out
    expect(store.partials.size + store.chunks.size + store.manifests.size).toBe(0);
  });

  it('a file that changes on the server mid-download is a clear error, and its chunks are dropped', async () => {
    const store = new MemoryModelStore();
    server.control({ changeEtagAfterRequests: 4 });
    const e = await fail(ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK, parallel: 1 }));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/changed on the server during the download/);
    expect(store.chunks.size + store.partials.size).toBe(0);
  });

  it('a file that changed since an interrupted download starts over', async () => {
    const store = new MemoryModelStore();
    server.control({ cutAfterTotalBytes: 400_000 });
    await fail(ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK, parallel: 1 }));
    expect(store.chunks.size).toBeGreaterThan(0);
    server.reset();
    server.control({ etag: 'a-new-version' });
    const r = await ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK });
    expect(r.resumedBytes).toBe(0);
    expect(r.manifest.etag).toBe('"a-new-version"');
  });

  it('404, a web page and a non-GGUF file are clear errors, with nothing stored', async () => {
    const store = new MemoryModelStore();
    const e404 = await fail(ensureCached(store, new HttpRangeSource(`${server.url}/models/nope.gguf`), { id: 'a' }));
    expect(e404.code).toBe('network');
    expect(e404.message).toMatch(/HTTP 404.*check the URL/);
    const html = await fail(ensureCached(store, new HttpRangeSource(`${server.url}/html/model.gguf`), { id: 'b' }));
    expect(html.code).toBe('bad-file');
    expect(html.message).toMatch(/answered with an HTML page \(text\/html\), not a model file/);
    const json = await fail(ensureCached(store, new HttpRangeSource(`${server.url}/models/models/stories260K/expected_greedy.json`), { id: 'c' }));
    expect(json.code).toBe('bad-file');
    expect(json.message).toMatch(/not a GGUF model file/);
    const e500 = server.control({ status: 500 });
    expect(e500.status).toBe(500);
    const err = await fail(ensureCached(store, new HttpRangeSource(url), { id: 'd' }));
    expect(err.message).toMatch(/HTTP 500.*server error/);
    expect(store.chunks.size + store.partials.size + store.manifests.size).toBe(0);
  });
});

describe('cachedSource', () => {
  async function cached() {
    const store = new MemoryModelStore();
    const { manifest } = await ensureCached(store, new HttpRangeSource(url), { id: url, chunkSize: CHUNK });
    server.reset();
    return { store, manifest };
  }

  it('a corrupt chunk is detected, reported, fetched again and never used', async () => {
    const { store, manifest } = await cached();
    const victim = (await store.getChunk(url, 3))!;
    const bad = new Uint8Array(await victim.data.arrayBuffer());
    bad[100] ^= 0xff;
    await store.putChunk({ ...victim, data: new Blob([bad]) });
    const reported: [number, string][] = [];
    const src = cachedSource(store, manifest, { refetch: new HttpRangeSource(url), onBadChunk: (i, why) => reported.push([i, why]) });
    const all = await src.read(0, file.length);
    expect(sha(all)).toBe(sha(file));
    expect(reported).toEqual([[3, 'corrupt']]);
    expect(modelRanges()).toEqual([`bytes=${3 * CHUNK}-${4 * CHUNK - 1}`]);
    // repaired in the store
    expect(sha(new Uint8Array(await (await store.getChunk(url, 3))!.data.arrayBuffer()))).toBe(manifest.chunks[3].sha256);
  });

  it('a missing chunk is fetched again; without a source to fetch from it is weights-corrupt', async () => {
    const { store, manifest } = await cached();
    await store.deleteChunk(url, 5);
    const e = await fail(cachedSource(store, manifest).read(5 * CHUNK, 10));
    expect(e.code).toBe('weights-corrupt');
    expect(e.message).toMatch(/chunk 5 .* is missing.*delete the model/);
    const got = await cachedSource(store, manifest, { refetch: new HttpRangeSource(url) }).read(5 * CHUNK, 10);
    expect(Array.from(got)).toEqual(Array.from(file.subarray(5 * CHUNK, 5 * CHUNK + 10)));
  });

  it('a re-fetch that does not match the manifest is refused', async () => {
    const { store, manifest } = await cached();
    const victim = (await store.getChunk(url, 2))!;
    await store.putChunk({ ...victim, data: new Blob([new Uint8Array(victim.size)]) });
    const lie = { ...manifest, chunks: manifest.chunks.map((c) => (c.index === 2 ? { ...c, sha256: '0'.repeat(64) } : c)) };
    const e = await fail(cachedSource(store, lie, { refetch: new HttpRangeSource(url) }).read(2 * CHUNK, 1));
    expect(isCriaError(e, 'weights-corrupt')).toBe(true);
    expect(e.message).toMatch(/different bytes/);
  });
});

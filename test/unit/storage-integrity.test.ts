/**
 * Downloads that cannot mix (issue 12, item 4), against the real model server
 * (test/server/model-server.ts) serving files from a temporary folder, so a test
 * can change a file on the "server" between two downloads:
 * - a resume without validators proves it is the same file (a known SHA-256)
 *   or starts over, and says so;
 * - a known SHA-256 (the load request, or Hugging Face's X-Linked-Etag) is
 *   checked over the whole file before the manifest is written;
 * - the GGUF header is read and checked before anything is downloaded;
 * - a stalled server ends in `network` after an idle timeout;
 * - an absurd size is refused at once;
 * - a dropped connection and an HTML page say what happened.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openModelSource } from '../../src/engine/open-source.ts';
import { readGguf, readTensorBytes, type GgufFile } from '../../src/formats/gguf.ts';
import { gv, writeGguf, type GgufWriteTensor } from '../../src/formats/gguf-writer.ts';
import { bytesSource, urlSource } from '../../src/formats/source.ts';
import { CriaError } from '../../src/shared/errors.ts';
import { ensureCached, type DownloadProgress } from '../../src/storage/download.ts';
import { HttpRangeSource, statedSha256 } from '../../src/storage/range-source.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { MemoryModelStore } from './helpers/memory-store.ts';

const CHUNK = 128 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const stories = new Uint8Array(readFileSync(fixturePath('models/stories260K/stories260K-f32.gguf'))); // 1.2 MB, 10 chunks

let dir: string;
let server: ModelServer;
const url = (name: string) => `${server.url}/models/${name}`;
const put = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, name), bytes);

/** the same file with one byte changed (same size, as a re-upload of the same model would be) */
function edited(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] ^= 0x5a;
  return out;
}

/** a GGUF whose architecture Cria does not run: llama-gqa-f32 (5.5 MB) with its architecture renamed */
async function unsupportedModel(): Promise<Uint8Array> {
  const f = await readGguf(bytesSource(new Uint8Array(readFileSync(fixturePath('models/random/llama-gqa-f32/llama-gqa-f32.gguf')))));
  const meta = new Map(f.metadata);
  meta.set('general.architecture', gv.str('mamba'));
  const tensors: GgufWriteTensor[] = [];
  for (const t of f.tensors) tensors.push({ name: t.name, type: t.type, dims: t.dims, data: await readTensorBytes(f, t) });
  return writeGguf({ metadata: meta, tensors });
}

async function fail(p: Promise<unknown>): Promise<CriaError> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(CriaError);
    return e as CriaError;
  }
  throw new Error('expected a failure');
}

/** body bytes of /models responses other than the 4-byte probe */
const fileBytesServed = () => server.log().requests.filter((r) => r.range !== 'bytes=0-3').reduce((a, r) => a + r.bodyBytes, 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cria-integrity-'));
  server = await startModelServer({ port: 0, root: dir });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.reset());

/** an interrupted download of `name`: the connection drops for good after `after` bytes */
async function interrupted(store: MemoryModelStore, name: string, after: number, faults: Parameters<ModelServer['control']>[0] = {}) {
  server.reset();
  server.control({ ...faults, cutAfterTotalBytes: after });
  await fail(ensureCached(store, new HttpRangeSource(url(name)), { id: url(name), chunkSize: CHUNK, parallel: 1 }));
  const stored = await store.storedChunks(url(name));
  expect(stored.size).toBeGreaterThan(0);
  server.reset();
  return stored;
}

describe('resuming a download from a server without validators', () => {
  it('a file changed on the server (same size) is not mixed with the old chunks: the download starts over and says why', async () => {
    put('nv.gguf', stories);
    const store = new MemoryModelStore();
    await interrupted(store, 'nv.gguf', 400_000, { noValidators: true });
    const changed = edited(stories, 1000); // in chunk 0, which the interrupted download stored
    put('nv.gguf', changed);
    server.control({ noValidators: true });
    const events: DownloadProgress[] = [];
    const r = await ensureCached(store, new HttpRangeSource(url('nv.gguf')), { id: url('nv.gguf'), chunkSize: CHUNK, onProgress: (p) => events.push(p) });
    expect(r.resumedBytes).toBe(0);
    expect(r.downloadedBytes).toBe(changed.length);
    r.manifest.chunks.forEach((c) => expect(c.sha256, `chunk ${c.index}`).toBe(sha(changed.subarray(c.offset, c.offset + c.size))));
    expect(events[0].resumedBytes).toBe(0);
    expect(events[0].restarted).toMatch(/no ETag or Last-Modified.*cannot be proven.*starting over/);
  });

  it('with a known SHA-256 it resumes (the whole file is verified), and a changed file is caught and discarded', async () => {
    put('nvs.gguf', stories);
    const store = new MemoryModelStore();
    const stored = await interrupted(store, 'nvs.gguf', 400_000, { noValidators: true });
    server.control({ noValidators: true });
    const r = await ensureCached(store, new HttpRangeSource(url('nvs.gguf')), { id: url('nvs.gguf'), chunkSize: CHUNK, sha256: sha(stories) });
    expect(r.resumedBytes).toBe([...stored.values()].reduce((a, c) => a + c.size, 0));
    expect(r.manifest.sha256).toBe(sha(stories));

    const store2 = new MemoryModelStore();
    await interrupted(store2, 'nvs.gguf', 400_000, { noValidators: true });
    const changed = edited(stories, 1000);
    put('nvs.gguf', changed);
    server.control({ noValidators: true });
    const e = await fail(ensureCached(store2, new HttpRangeSource(url('nvs.gguf')), { id: url('nvs.gguf'), chunkSize: CHUNK, sha256: sha(changed) }));
    expect(e.code).toBe('weights-corrupt');
    expect(e.message).toContain(sha(changed));
    expect(store2.manifests.size + store2.partials.size + store2.chunks.size).toBe(0);
    put('nvs.gguf', stories);
  });

  it('with validators that match, a resume keeps every whole chunk it has', async () => {
    put('v.gguf', stories);
    const store = new MemoryModelStore();
    const stored = await interrupted(store, 'v.gguf', 500_000);
    const r = await ensureCached(store, new HttpRangeSource(url('v.gguf')), { id: url('v.gguf'), chunkSize: CHUNK });
    expect(r.resumedBytes).toBe([...stored.values()].reduce((a, c) => a + c.size, 0));
    expect(r.resumedBytes).toBeGreaterThanOrEqual(3 * CHUNK);
  });
});

describe('whole-file SHA-256', () => {
  it('a chunk corrupted in transit is caught against the X-Linked-Etag before anything counts as cached', async () => {
    put('c.gguf', stories);
    const store = new MemoryModelStore();
    server.control({ linkedEtag: sha(stories), corruptByteAt: 300_000 });
    const e = await fail(ensureCached(store, new HttpRangeSource(url('c.gguf')), { id: url('c.gguf'), chunkSize: CHUNK }));
    expect(e.code).toBe('weights-corrupt');
    expect(e.message).toMatch(/SHA-256/);
    expect(e.message).toMatch(/X-Linked-Etag/);
    expect(store.manifests.size + store.partials.size + store.chunks.size).toBe(0);

    server.control({ corruptByteAt: null });
    const events: DownloadProgress[] = [];
    const r = await ensureCached(store, new HttpRangeSource(url('c.gguf')), { id: url('c.gguf'), chunkSize: CHUNK, onProgress: (p) => events.push(p) });
    expect(r.manifest.sha256).toBe(sha(stories));
  });

  it('the sha256 of the load request: a mismatch names both hashes and the request; a match is stored in the manifest', async () => {
    put('s.gguf', stories);
    const store = new MemoryModelStore();
    const wrong = 'f'.repeat(64);
    const e = await fail(ensureCached(store, new HttpRangeSource(url('s.gguf')), { id: url('s.gguf'), chunkSize: CHUNK, sha256: wrong }));
    expect(e.code).toBe('weights-corrupt');
    expect(e.message).toContain(wrong);
    expect(e.message).toContain(sha(stories));
    expect(e.message).toMatch(/load request/);
    expect(store.manifests.size + store.partials.size + store.chunks.size).toBe(0);
    const r = await ensureCached(store, new HttpRangeSource(url('s.gguf')), { id: url('s.gguf'), chunkSize: CHUNK, sha256: sha(stories).toUpperCase() });
    expect(r.manifest.sha256).toBe(sha(stories));
    const bad = await fail(ensureCached(new MemoryModelStore(), new HttpRangeSource(url('s.gguf')), { id: 'x', sha256: 'abc' }));
    expect(bad.code).toBe('bad-argument');
  });

  it('a request sha256 that disagrees with the server\'s X-Linked-Etag is refused before downloading', async () => {
    put('d.gguf', stories);
    server.control({ linkedEtag: sha(stories) });
    const store = new MemoryModelStore();
    const e = await fail(ensureCached(store, new HttpRangeSource(url('d.gguf')), { id: url('d.gguf'), chunkSize: CHUNK, sha256: 'e'.repeat(64) }));
    expect(e.code).toBe('weights-corrupt');
    expect(e.message).toMatch(/X-Linked-Etag/);
    expect(fileBytesServed()).toBe(0);
  });

  it('a cached model whose SHA-256 differs from the one asked for is downloaded again', async () => {
    put('r.gguf', stories);
    const store = new MemoryModelStore();
    await ensureCached(store, new HttpRangeSource(url('r.gguf')), { id: url('r.gguf'), chunkSize: CHUNK, sha256: sha(stories) });
    const next = edited(stories, 700_000);
    put('r.gguf', next);
    server.reset();
    const events: DownloadProgress[] = [];
    const r = await ensureCached(store, new HttpRangeSource(url('r.gguf')), { id: url('r.gguf'), chunkSize: CHUNK, sha256: sha(next), onProgress: (p) => events.push(p) });
    expect(r.manifest.sha256).toBe(sha(next));
    expect(r.downloadedBytes).toBe(next.length);
    expect(events[0].restarted).toMatch(/SHA-256/);
    // the same sha256 again: the cache answers, no request
    server.reset();
    expect((await ensureCached(store, new HttpRangeSource(url('r.gguf')), { id: url('r.gguf'), sha256: sha(next) })).downloadedBytes).toBe(0);
    expect(server.log().requests).toEqual([]);
    put('r.gguf', stories);
  });

  it('a cached model without a recorded SHA-256 is verified from the cache when one is asked for', async () => {
    put('q.gguf', stories);
    const store = new MemoryModelStore();
    await ensureCached(store, new HttpRangeSource(url('q.gguf')), { id: url('q.gguf'), chunkSize: CHUNK });
    server.reset();
    const events: DownloadProgress[] = [];
    const r = await ensureCached(store, new HttpRangeSource(url('q.gguf')), { id: url('q.gguf'), sha256: sha(stories), onProgress: (p) => events.push(p) });
    expect(r.downloadedBytes).toBe(0);
    expect(r.manifest.sha256).toBe(sha(stories));
    expect((await store.getManifest(url('q.gguf')))!.sha256).toBe(sha(stories));
    expect(events.some((p) => p.phase === 'verify')).toBe(true);
    expect(server.log().requests).toEqual([]);
  });

  it('which servers are trusted to state a SHA-256', () => {
    const hex = 'ab'.repeat(32);
    const h = (o: Record<string, string>) => new Headers(o);
    expect(statedSha256('http://127.0.0.1:1/x.gguf', h({ 'X-Linked-Etag': `"${hex}"` }))).toEqual({ sha256: hex, from: "the server's X-Linked-Etag" });
    expect(statedSha256('https://huggingface.co/a/b/resolve/main/m.gguf', h({ ETag: `"${hex.toUpperCase()}"` }))?.sha256).toBe(hex);
    expect(statedSha256('https://hf.co/a/b/resolve/main/m.gguf', h({ ETag: `"${hex}"` }))?.sha256).toBe(hex);
    // a CDN's own 64-hex ETag is another value; git blob ids are 40 hex; any other server's ETag is its own business
    expect(statedSha256('https://cas-bridge.xethub.hf.co/x', h({ ETag: `"${hex}"` }))).toBeUndefined();
    expect(statedSha256('https://cdn-lfs.hf.co/x', h({ ETag: `"${hex}"` }))).toBeUndefined();
    expect(statedSha256('https://huggingface.co/a/b/resolve/main/config.json', h({ ETag: `"${'a'.repeat(40)}"` }))).toBeUndefined();
    expect(statedSha256('https://example.com/m.gguf', h({ ETag: `"${hex}"` }))).toBeUndefined();
    expect(statedSha256('https://huggingface.co/m.gguf', h({ ETag: `W/"${hex}"` }))).toBeUndefined();
  });
});

describe('the GGUF header is checked before the download', () => {
  it('an unsupported architecture is refused after reading the header only, and nothing is cached', async () => {
    const bytes = await unsupportedModel();
    put('mamba.gguf', bytes);
    const store = new MemoryModelStore();
    const e = await fail(openModelSource({ url: url('mamba.gguf'), chunkSize: CHUNK }, { store }));
    expect(e.code).toBe('unsupported-arch');
    expect(fileBytesServed()).toBeLessThan(bytes.length / 2);
    expect(store.manifests.size + store.partials.size + store.chunks.size).toBe(0);
  });

  it('inspectHeader sees the parsed header first; what it throws stops the download; a cached model is not inspected again', async () => {
    put('ok.gguf', stories);
    const store = new MemoryModelStore();
    const seen: string[] = [];
    const refuse = (f: GgufFile) => {
      seen.push(String(f.metadata.get('general.architecture')?.value));
      throw new CriaError('unsupported-type', 'not on this device');
    };
    const e = await fail(openModelSource({ url: url('ok.gguf'), chunkSize: CHUNK }, { store, inspectHeader: refuse }));
    expect(e.code).toBe('unsupported-type');
    expect(seen).toEqual(['llama']);
    // the probe, then the header (14 KB) in one 64 KiB window
    expect(server.log().requests.map((r) => r.range)).toEqual(['bytes=0-3', 'bytes=0-65535']);
    expect(store.partials.size + store.chunks.size).toBe(0);

    const inspected: number[] = [];
    const ok = await openModelSource({ url: url('ok.gguf'), chunkSize: CHUNK }, { store, inspectHeader: (f) => void inspected.push(f.tensors.length) });
    expect(ok.downloadedBytes).toBe(stories.length);
    expect(inspected.length).toBe(1);
    await openModelSource({ url: url('ok.gguf') }, { store, inspectHeader: (f) => void inspected.push(f.tensors.length) });
    expect(inspected.length).toBe(1);
    // direct reads (no cache), a local file and bytes are inspected too
    for (const s of [{ url: url('ok.gguf'), cache: false }, { file: new Blob([stories]) }, { bytes: stories.slice().buffer }] as const) {
      await expect(openModelSource(s, { inspectHeader: refuse })).rejects.toMatchObject({ code: 'unsupported-type' });
    }
  });
});

describe('a stalled server', () => {
  it('ends a cached download in `network` after the idle timeout, saying for how long nothing came', async () => {
    put('st.gguf', stories);
    server.control({ stallAfterTotalBytes: 300_000 });
    const store = new MemoryModelStore();
    const e = await fail(openModelSource({ url: url('st.gguf'), chunkSize: CHUNK }, { store, idleTimeoutMs: 400 }));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/stopped sending for 0\.4 s/);
  });

  it('ends a direct Range read in `network` too', async () => {
    put('sd.gguf', stories);
    const src = await urlSource(url('sd.gguf'), { idleTimeoutMs: 400 });
    server.control({ stallAfterTotalBytes: 300_000 });
    const e = await fail(src.read(0, stories.length));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/stopped sending for 0\.4 s/);
  });

  it('an abort ends the wait at once, as `aborted`', async () => {
    put('sa.gguf', stories);
    server.control({ stallAfterTotalBytes: 300_000 });
    const ac = new AbortController();
    const p = openModelSource({ url: url('sa.gguf'), chunkSize: CHUNK }, { store: new MemoryModelStore(), signal: ac.signal });
    while (server.log().modelBodyBytes < 300_000) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    expect((await fail(p)).code).toBe('aborted');
  });
});

describe('absurd sizes are refused at once', () => {
  it.each(['9007199254740991', '1' + '0'.repeat(400), '12.5', '-5'])('a Content-Range total of %s', async (total) => {
    put('big.gguf', stories);
    server.control({ contentRangeTotal: total });
    const store = new MemoryModelStore();
    const e = await fail(ensureCached(store, new HttpRangeSource(url('big.gguf')), { id: 'big', chunkSize: CHUNK }));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/size/);
    expect(fileBytesServed()).toBe(0);
    expect(store.partials.size).toBe(0);
    const d = await fail(urlSource(url('big.gguf')));
    expect(d.code).toBe('network');
  });

  it.each(['9007199254740991', '1e400', '-5'])('a Content-Length of %s', async (length) => {
    put('len.gguf', stories);
    server.control({ contentLength: length });
    const e = await fail(ensureCached(new MemoryModelStore(), new HttpRangeSource(url('len.gguf')), { id: 'len', chunkSize: CHUNK }));
    expect(e.code).toBe('network');
    expect(e.message).not.toMatch(/offline|cross-origin/);
    const d = await fail(urlSource(url('len.gguf')));
    expect(d.code).toBe('network');
  });
});

describe('what a broken connection or a login page is called', () => {
  it('a dropped connection says so, not "offline or cross-origin"', async () => {
    put('drop.gguf', stories);
    server.control({ cutAfterTotalBytes: 500_000 });
    const e = await fail(ensureCached(new MemoryModelStore(), new HttpRangeSource(url('drop.gguf')), { id: 'drop', chunkSize: CHUNK }));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(new RegExp(`the connection to 127\\.0\\.0\\.1:${server.port} dropped after \\d+ bytes`));
    expect(e.message).not.toMatch(/offline|cross-origin/);
    server.reset();
    const src = await urlSource(url('drop.gguf'));
    server.control({ cutAfterTotalBytes: 500_000 });
    const d = await fail(src.read(0, stories.length));
    expect(d.message).toMatch(/dropped after \d+ bytes/);
  });

  it('a request that never got an answer is still "could not reach"', async () => {
    const e = await fail(ensureCached(new MemoryModelStore(), new HttpRangeSource('http://127.0.0.1:1/x.gguf'), { id: 'x' }));
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/could not reach .*127\.0\.0\.1:1.*offline, or the server does not allow cross-origin requests/);
  });

  it('an HTML page (a login wall) is reported as such, cached or read directly', async () => {
    const page = `${server.url}/html/model.gguf`;
    for (const open of [() => ensureCached(new MemoryModelStore(), new HttpRangeSource(page), { id: 'h' }), () => urlSource(page)]) {
      const e = await fail(open());
      expect(e.code).toBe('bad-file');
      expect(e.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${server.port} answered with an HTML page \\(text/html\\), not a model file: is a login required\\?`));
      expect(e.message).not.toMatch(/Range/);
    }
  });
});

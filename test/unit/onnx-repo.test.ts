/**
 * ONNX repositories through the model cache (src/runtimes/onnx/repo.ts): an exported stories260K
 * repository served by a real HTTP server on 127.0.0.1, loaded by URL into the engine with a model
 * store. Every file is cached (verified chunks), the cache lists the repository as one model, a
 * second load makes no request at all (the network off), deleting it deletes its files, and a
 * repository whose files cannot run leaves nothing behind.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { exportOnnx } from '../../src/export/onnx.ts';
import { readGguf } from '../../src/formats/gguf.ts';
import { bytesSource } from '../../src/formats/source.ts';
import { CpuBackend } from '../../src/reference/backend.ts';
import { locateRepo } from '../../src/runtimes/onnx/repo.ts';
import { OnnxRuntime } from '../../src/runtimes/onnx/runtime.ts';
import { externalDataLocations } from '../../src/formats/onnx/external-data.ts';
import { isCriaError } from '../../src/shared/errors.ts';
import { startModelServer, type ModelServer } from '../server/model-server.ts';
import { fixturePath } from './helpers/fixtures.ts';
import { MemoryModelStore } from './helpers/memory-store.ts';

let server: ModelServer;
let root: string;
let files: Map<string, Uint8Array>;

function writeRepo(name: string, entries: Iterable<[string, Uint8Array]>): string {
  for (const [path, bytes] of entries) {
    const at = join(root, name, path);
    mkdirSync(dirname(at), { recursive: true });
    writeFileSync(at, bytes);
  }
  return `${server.url}/models/${name}/`;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cria-onnx-repo-'));
  const gguf = await readGguf(bytesSource(new Uint8Array(readFileSync(fixturePath('models/stories260K/stories260K-f32.gguf')))));
  files = (await exportOnnx(gguf, { externalThreshold: 64 << 10 })).files;
  server = await startModelServer({ port: 0, root });
  writeRepo('stories', files);
});
afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const engineWith = (store: MemoryModelStore) => new Engine({ createBackend: async () => new CpuBackend(), openStore: async () => store, runtimes: [new OnnxRuntime()] });

describe('an ONNX repository at a URL, through the model cache', () => {
  it('caches every file, lists one model, and loads again with no request', async () => {
    const store = new MemoryModelStore();
    const base = `${server.url}/models/stories/`;
    const engine = engineWith(store);
    const phases: string[] = [];
    server.reset();
    const info = await engine.load({ onnx: { url: base } }, (p) => phases.push(p.phase));
    expect(info).toMatchObject({ runtime: 'onnx', id: `onnx:${base}`, source: 'network' });
    expect(info.downloadedBytes).toBe([...files.values()].reduce((a, b) => a + b.byteLength, 0));
    expect(phases).toContain('download');
    // the graph names its data file: it was fetched because the graph said so
    expect(externalDataLocations(files.get('onnx/model.onnx')!)).toEqual(['model.onnx_data']);

    const list = await engine.listCachedModels();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: `onnx:${base}`, complete: true, format: 'onnx', files: files.size, size: info.downloadedBytes, storedBytes: info.downloadedBytes });

    const text = (await engine.completion({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0 })).choices[0].text;

    // again, in a new engine on the same store, the server logging every request: none is made
    server.reset();
    const again = engineWith(store);
    const info2 = await again.load({ cached: `onnx:${base}` });
    expect(info2).toMatchObject({ source: 'cache', downloadedBytes: 0, contentHash: info.contentHash });
    expect((await again.completion({ prompt: 'Once upon a time', max_tokens: 12, temperature: 0 })).choices[0].text).toBe(text);
    // and by its URL, as the app asks after a reload
    await again.load({ onnx: { url: base } });
    expect(server.log().requests).toHaveLength(0);

    await again.deleteCachedModel(`onnx:${base}`);
    expect(await again.listCachedModels()).toEqual([]);
    expect(store.manifests.size + store.partials.size + store.chunks.size).toBe(0);
  });

  it('an optional file the repository lacks is not asked for again once it is cached', async () => {
    const noGen = new Map([...files].filter(([p]) => p !== 'generation_config.json'));
    const base = writeRepo('no-gen', noGen);
    const store = new MemoryModelStore();
    await engineWith(store).load({ onnx: { url: base } });
    server.reset();
    await engineWith(store).load({ onnx: { url: base } });
    expect(server.log().requests.map((r) => r.path)).toEqual([]);
  });

  it('another graph of the repository: named once, then remembered (a cached load names none, a resume asks for the same)', async () => {
    const base = writeRepo('q4', [...files].map(([p, b]): [string, Uint8Array] => [p === 'onnx/model.onnx' ? 'onnx/model_q4.onnx' : p, b]));
    const store = new MemoryModelStore();
    // interrupted mid-download: the partial entry already knows its graph
    server.reset();
    server.control({ cutAfterTotalBytes: 300_000 });
    const cut = await engineWith(store).load({ onnx: { url: base, model: 'onnx/model_q4.onnx' } }).catch((e: unknown) => e);
    expect(isCriaError(cut, 'network')).toBe(true);
    expect(await store.list()).toMatchObject([{ id: `onnx:${base}`, complete: false, format: 'onnx', model: 'onnx/model_q4.onnx', url: base }]);
    server.reset();
    await engineWith(store).load({ onnx: { url: base, model: 'onnx/model_q4.onnx' } });
    expect(await store.list()).toMatchObject([{ complete: true, model: 'onnx/model_q4.onnx' }]);
    server.reset();
    const info = await engineWith(store).load({ cached: `onnx:${base}` });
    expect(info.source).toBe('cache');
    expect(server.log().requests).toHaveLength(0);
  });

  it('a .onnx URL finds its repository above the onnx/ folder', () => {
    expect(locateRepo({ url: 'https://example.org/m/onnx/model_q4.onnx' })).toMatchObject({ base: 'https://example.org/m/', modelPath: 'onnx/model_q4.onnx', id: 'onnx:https://example.org/m/' });
    expect(locateRepo({ repo: 'onnx-community/SmolLM2-135M-Instruct' })).toMatchObject({ base: 'https://huggingface.co/onnx-community/SmolLM2-135M-Instruct/resolve/main/', name: 'onnx-community/SmolLM2-135M-Instruct' });
    for (const bad of [{ repo: '../x' }, { repo: 'a/b', revision: '../../x' }, { url: 'file:///etc/' }, { url: 'https://x/', model: '../model.onnx' }, { url: 'https://x/', repo: 'a/b' }]) {
      expect(() => locateRepo(bad)).toThrow(/repository|revision|path|http/);
    }
  });

  it('a repository without its tokenizer is refused, and nothing of it stays in the cache', async () => {
    const base = writeRepo('no-tokenizer', [...files].filter(([p]) => p !== 'tokenizer.json'));
    const store = new MemoryModelStore();
    const err = await engineWith(store).load({ onnx: { url: base } }).catch((e: unknown) => e);
    expect(isCriaError(err, 'network')).toBe(true); // 404 on a required file: the URL's problem, said as such
    expect((err as Error).message).toMatch(/tokenizer\.json.*404/);
    // config.json was stored before the failure: a retry resumes (a network failure keeps what it has)
    const bad = writeRepo('bad-config', [...files].map(([p, b]): [string, Uint8Array] => [p, p === 'config.json' ? new TextEncoder().encode('{"model_type": "llama"}') : b]));
    const err2 = await engineWith(store).load({ onnx: { url: bad } }).catch((e: unknown) => e);
    expect(isCriaError(err2, 'bad-file')).toBe(true);
    expect((await store.list()).map((m) => m.id)).not.toContain(`onnx:${bad}`);
  });

  it('a graph naming external data outside its folder is refused', () => {
    const model = files.get('onnx/model.onnx')!;
    // the location string is stored verbatim in the protobuf: same length, so the message stays valid
    const hostile = new Uint8Array(Buffer.from(Buffer.from(model).toString('latin1').replaceAll('model.onnx_data', '../../passwd___'), 'latin1'));
    expect(() => externalDataLocations(hostile)).toThrow(/outside the model's folder/);
  });
});

/**
 * The engine as a page uses it: through src/client (comlink → Web Worker → WebGPU).
 * test/e2e/engine.spec.ts drives these functions. While a request streams, the
 * page watches its own main thread (long tasks, timer heartbeat) to show the
 * work really happens off it.
 */
import { openDB } from 'idb';
import { createClient, type ChatCompletionChunk, type ChatCompletionRequest, type CriaClient, type LoadOptions, type LoadProgress } from '../../../src/client/index.ts';
import { openModelSource } from '../../../src/engine/open-source.ts';
import { IdbModelStore } from '../../../src/storage/idb-store.ts';

const client: CriaClient = createClient();

interface Responsiveness {
  longTasks: number[];
  maxTimerGapMs: number;
  beats: number;
}

function watchMainThread(): () => Responsiveness {
  const longTasks: number[] = [];
  const obs = typeof PerformanceObserver !== 'undefined' && PerformanceObserver.supportedEntryTypes?.includes('longtask') ? new PerformanceObserver((l) => l.getEntries().forEach((e) => longTasks.push(e.duration))) : undefined;
  obs?.observe({ entryTypes: ['longtask'] });
  let last = performance.now();
  let maxGap = 0;
  let beats = 0;
  const t = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    beats++;
  }, 10);
  return () => {
    clearInterval(t);
    obs?.disconnect();
    return { longTasks, maxTimerGapMs: maxGap, beats };
  };
}

function errorOf(e: unknown) {
  const err = e as { code?: string; message?: string; name?: string };
  return { code: err.code ?? null, name: err.name ?? null, message: err.message ?? String(e) };
}

declare global {
  interface Window {
    criaE2E?: typeof api;
  }
}

const api = {
  /** load through the cache (or not); returns the info, and every progress event */
  async loadUrl(url: string, opts: { chunkSize?: number; cache?: boolean } = {}) {
    const progress: LoadProgress[] = [];
    try {
      const info = await client.load({ url, ...opts }, { onProgress: (p) => progress.push(p) });
      return { info, progress, error: null };
    } catch (e) {
      return { info: null, progress, error: errorOf(e) };
    }
  },

  /** load a URL directly (no cache) with load options (backend, threads) */
  async loadWith(url: string, opts: { backend?: 'auto' | 'webgpu' | 'wasm'; threads?: number }) {
    try {
      return { info: await client.load({ url, cache: false }, opts), error: null };
    } catch (e) {
      return { info: null, error: errorOf(e) };
    }
  },

  /** start a load and do not wait for it (the page may be closed meanwhile) */
  startLoad(url: string, opts: { chunkSize?: number } = {}) {
    const progress: LoadProgress[] = [];
    (window as unknown as { loadProgress: LoadProgress[] }).loadProgress = progress;
    void client.load({ url, ...opts }, { onProgress: (p) => progress.push(p) }).catch(() => undefined);
  },

  /** start a load that `stopLoad()` aborts through the client's AbortSignal; `loadOutcome()` waits for how it ended */
  startAbortableLoad(url: string, opts: { chunkSize?: number } = {}) {
    const ctrl = new AbortController();
    const w = window as unknown as { loadAbort: AbortController; loadDone: Promise<{ error: ReturnType<typeof errorOf> | null; ms: number }> };
    w.loadAbort = ctrl;
    let abortedAt = 0;
    ctrl.signal.addEventListener('abort', () => (abortedAt = performance.now()));
    w.loadDone = client.load({ url, ...opts }, { signal: ctrl.signal }).then(
      () => ({ error: null, ms: 0 }),
      (e) => ({ error: errorOf(e), ms: performance.now() - abortedAt }),
    );
  },
  stopLoad() {
    (window as unknown as { loadAbort: AbortController }).loadAbort.abort();
  },
  loadOutcome() {
    return (window as unknown as { loadDone: Promise<{ error: ReturnType<typeof errorOf> | null; ms: number }> }).loadDone;
  },

  async greedy(prompt: string, n: number) {
    const r = await client.completions.create({ prompt, max_tokens: n, temperature: 0 });
    return r.choices[0].text;
  },

  /** a local file, as from a file picker: load it (optionally into the cache) */
  async loadFile(url: string, cache: boolean) {
    const bytes = await (await fetch(url)).arrayBuffer();
    const file = new File([bytes], 'picked.gguf', { lastModified: 1700000000000 });
    try {
      return { info: await client.load({ file, cache }), error: null };
    } catch (e) {
      return { info: null, error: errorOf(e) };
    }
  },

  async loadCached(id: string) {
    try {
      return { info: await client.load({ cached: id }), error: null };
    } catch (e) {
      return { info: null, error: errorOf(e) };
    }
  },

  cacheList: () => client.cache.list(),
  cacheDelete: (id: string) => client.cache.delete(id),
  cacheClear: () => client.cache.clear(),
  cacheUsage: () => client.cache.usage(),

  /** flip one byte of a stored chunk, as a failing disk would (directly in IndexedDB) */
  async corruptChunk(id: string, index: number) {
    const db = await openDB('cria');
    const rec = await db.get('chunks', [id, index]);
    if (!rec) throw new Error(`no chunk ${index} of ${id}`);
    const bytes = new Uint8Array(await rec.data.arrayBuffer());
    bytes[17] ^= 0xff;
    await db.put('chunks', { ...rec, data: new Blob([bytes]) });
    db.close();
  },

  async idbCounts() {
    const db = await openDB('cria');
    const out = { manifests: await db.count('manifests'), partials: await db.count('partials'), chunks: await db.count('chunks') };
    db.close();
    return out;
  },

  async load(url: string) {
    const progress: LoadProgress[] = [];
    const info = await client.load({ url, cache: false }, { onProgress: (p) => progress.push(p) });
    return { info, phases: [...new Set(progress.map((p) => p.phase))], uploadEvents: progress.filter((p) => p.phase === 'upload').length };
  },

  async stream(req: ChatCompletionRequest) {
    const stop = watchMainThread();
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of client.chat.completions.create({ ...req, stream: true })) chunks.push(c);
    return { chunks, main: stop() };
  },

  /** Stream and abort after `after` content chunks; returns what arrived and how the stream ended. */
  async streamAndAbort(req: ChatCompletionRequest, after: number) {
    const ctrl = new AbortController();
    const chunks: ChatCompletionChunk[] = [];
    let error: ReturnType<typeof errorOf> | null = null;
    try {
      for await (const c of client.chat.completions.create({ ...req, stream: true }, { signal: ctrl.signal })) {
        chunks.push(c);
        if (chunks.filter((x) => x.choices[0].delta.content).length === after) ctrl.abort();
      }
    } catch (e) {
      error = errorOf(e);
    }
    return { chunks, error };
  },

  /** Stop consuming a stream early (break): the worker must stop generating. */
  async streamAndBreak(req: ChatCompletionRequest, after: number) {
    let n = 0;
    for await (const c of client.chat.completions.create({ ...req, stream: true })) {
      if (c.choices[0].delta.content && ++n === after) break;
    }
    const next = await client.chat.completions.create({ ...req, stream: false, max_tokens: 4 });
    return { n, next: next.choices[0].message.content, stats: await client.stats() };
  },

  async complete(req: ChatCompletionRequest) {
    try {
      return { ok: await client.chat.completions.create({ ...req, stream: false }), error: null };
    } catch (e) {
      return { ok: null, error: errorOf(e) };
    }
  },

  async score(context: string, continuation: string) {
    return client.score({ context, continuation });
  },

  /** token ids of plain text (no BOS, special-token text stays text) */
  async plainIds(text: string) {
    return client.tokenize(text, { add_special: false, parse_special: false });
  },

  async tokenize(text: string) {
    const ids = await client.tokenize(text);
    return { ids, text: await client.detokenize(ids) };
  },

  async deviceInfo() {
    return client.deviceInfo();
  },

  async stats() {
    return client.stats();
  },

  /** load a URL with its expected SHA-256, through the engine (the worker) and the cache */
  async loadUrlSha256(url: string, sha256: string, chunkSize?: number) {
    const progress: LoadProgress[] = [];
    try {
      const info = await client.load({ url, sha256, chunkSize }, { onProgress: (p) => progress.push(p) });
      return { info, progress, error: null };
    } catch (e) {
      return { info: null, progress, error: errorOf(e) };
    }
  },

  /**
   * openModelSource on this page's main thread (Chromium's fetch, the real IndexedDB store), with
   * the options the engine does not pass yet (`idleTimeoutMs`): what a load does before parsing.
   */
  async openSource(url: string, opts: { chunkSize?: number; cache?: boolean; sha256?: string; idleTimeoutMs?: number } = {}) {
    const progress: LoadProgress[] = [];
    const store = await IdbModelStore.open();
    try {
      const r = await openModelSource(
        { url, chunkSize: opts.chunkSize, cache: opts.cache, sha256: opts.sha256 },
        { store, storage: navigator.storage, locks: navigator.locks, idleTimeoutMs: opts.idleTimeoutMs, onProgress: (p) => progress.push(p) },
      );
      return { source: r.source, downloadedBytes: r.downloadedBytes, progress, error: null };
    } catch (e) {
      return { source: null, downloadedBytes: 0, progress, error: errorOf(e) };
    } finally {
      store.close();
    }
  },

  async loadError(url: string, opts: LoadOptions = {}) {
    try {
      await client.load({ url }, opts);
      return null;
    } catch (e) {
      return errorOf(e);
    }
  },
};

window.criaE2E = api;
document.getElementById('out')!.textContent = 'ready';

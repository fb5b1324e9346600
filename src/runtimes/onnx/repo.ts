/**
 * The files of an ONNX repository, wherever they are: given by path (a picked folder), or at a base
 * URL (a Hugging Face repository id is one: `https://huggingface.co/<id>/resolve/<revision>/`),
 * each file then going through Cria's model cache like a GGUF does (src/storage/download.ts:
 * verified chunks, resume, quota, one download across tabs; read back verified,
 * src/storage/cached-source.ts).
 *
 * In the cache, each file is a model of its own (id: its URL) marked `partOf` the repository, and
 * the repository has a manifest of its own (id `onnx:` + base URL, its files by path), written when
 * a load has read every file it needs: the cache list shows one model, deleting it deletes its
 * files, and a load with the network off finds every file (and knows which optional ones the
 * repository does not have) without a request.
 */
import type { LoadProgress, ModelSource, OnnxFile, OnnxSource } from '../../protocol/api.ts';
import { CriaError } from '../../shared/errors.ts';
import { cachedSource } from '../../storage/cached-source.ts';
import { ensureCached, type StorageEstimator } from '../../storage/download.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../storage/http.ts';
import { HttpRangeSource, type FileKind } from '../../storage/range-source.ts';
import type { ModelManifest, ModelStore } from '../../storage/store.ts';

/** The prefix of a repository's cache id. */
export const ONNX_CACHE_PREFIX = 'onnx:';

export interface RepoContext {
  store?: ModelStore;
  storage?: StorageEstimator;
  locks?: LockManager;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
  onProgress?(p: LoadProgress): void;
}

/** A repository's files, read one by one as the load needs them. */
export interface RepoFiles {
  /** shown to the user (the repository id, or the base URL) */
  readonly name: string;
  /** the repository's id in the model cache, when its files go through it */
  readonly cacheId?: string;
  /** the graph to run, by path */
  readonly modelPath: string;
  /** a file's bytes (optional files that the repository does not have: undefined) */
  bytes(path: string, optional?: boolean): Promise<Uint8Array | undefined>;
  /** a file's size, without downloading it */
  size(path: string): Promise<number>;
  /** where the bytes came from, and how many this load fetched */
  origin(): { source: 'file' | 'network' | 'cache'; downloadedBytes: number };
  /**
   * the content hash recorded when this repository's graph was last loaded from the cache, when this
   * load read the same graph and fetched nothing (the chunks are verified as they are read: the same bytes)
   */
  knownHash(): string | undefined;
  /** every file the load needs was read: record the repository as cached (with the model's content hash) */
  done(contentHash: string): Promise<void>;
  /** what the files hold cannot run: forget what this load stored (a network failure keeps it, to resume) */
  discard(): Promise<void>;
}

/**
 * Is this source an ONNX repository? By its shape, never by a failed GGUF parse: `{ onnx }`, a
 * cached repository's id (`onnx:…`), or the URL of a `.onnx` graph. (Here, apart from the runtime,
 * so an embedder can route sources without loading onnxruntime-web.)
 */
export function isOnnxSource(source: ModelSource): boolean {
  if (typeof source !== 'object' || source === null) return false;
  if ('onnx' in source) return true;
  if ('cached' in source) return typeof source.cached === 'string' && source.cached.startsWith(ONNX_CACHE_PREFIX);
  if ('url' in source) return typeof source.url === 'string' && /\.onnx(?:[?#].*)?$/i.test(source.url);
  return false;
}

/** Where a repository is, from the source (`{ onnx }`, or `{ cached: 'onnx:…' }`). */
export function locateRepo(src: OnnxSource | { cached: string }): { base: string; id: string; name: string; modelPath?: string } | undefined {
  if ('cached' in src) {
    if (!src.cached.startsWith(ONNX_CACHE_PREFIX)) throw new CriaError('bad-argument', `${src.cached} is not an ONNX repository's cache id`);
    const base = src.cached.slice(ONNX_CACHE_PREFIX.length);
    return { base, id: src.cached, name: repoName(base) };
  }
  const given = [src.repo, src.url, src.files].filter((x) => x !== undefined).length;
  if (given !== 1) throw new CriaError('bad-argument', 'an ONNX source names its repository once: { onnx: { repo } }, { onnx: { url } } or { onnx: { files } }');
  if (src.files) return undefined;
  let base: string;
  let modelPath = src.model;
  if (src.repo !== undefined) {
    if (typeof src.repo !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(src.repo) || src.repo.split('/').some((p) => /^\.+$/.test(p))) {
      throw new CriaError('bad-argument', `a Hugging Face repository id is owner/name (e.g. onnx-community/SmolLM2-135M-Instruct), got "${String(src.repo).slice(0, 80)}"`);
    }
    const rev = src.revision ?? 'main';
    if (typeof rev !== 'string' || !/^[\w.\/-]+$/.test(rev) || rev.includes('..')) throw new CriaError('bad-argument', `a revision is a branch, tag or commit, got "${String(rev).slice(0, 80)}"`);
    base = `https://huggingface.co/${src.repo}/resolve/${rev}/`;
  } else {
    const url = String(src.url);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new CriaError('bad-argument', `an ONNX repository's URL must start with http:// or https://, got "${url.slice(0, 80)}"`);
    }
    if (!/^https?:$/.test(u.protocol)) throw new CriaError('bad-argument', `an ONNX repository's URL must start with http:// or https://, got "${url.slice(0, 80)}"`);
    u.search = '';
    u.hash = '';
    if (/\.onnx$/i.test(u.pathname)) {
      // the URL of a graph: its repository is the folder above `onnx/` (the Optimum layout), or its own folder
      const path = u.pathname;
      const at = path.lastIndexOf('/onnx/');
      const cut = at >= 0 ? at + 1 : path.lastIndexOf('/') + 1;
      if (src.model === undefined) modelPath = decodeURIComponent(path.slice(cut));
      u.pathname = path.slice(0, cut);
    } else if (!u.pathname.endsWith('/')) {
      u.pathname += '/';
    }
    base = u.href;
  }
  if (modelPath !== undefined) checkPath(modelPath);
  return { base, id: ONNX_CACHE_PREFIX + base, name: src.name ?? repoName(base), ...(modelPath !== undefined ? { modelPath } : {}) };
}

/** A repository's name for people: its Hugging Face id, else the last folder of its URL. */
function repoName(base: string): string {
  const hf = hfRepoName(base);
  if (hf) return hf;
  try {
    return decodeURIComponent(new URL(base).pathname.split('/').filter(Boolean).pop() ?? '') || base;
  } catch {
    return base;
  }
}

function hfRepoName(base: string): string | undefined {
  return /^https:\/\/(?:huggingface\.co|hf\.co)\/([\w.-]+\/[\w.-]+)\/resolve\//.exec(base)?.[1];
}

/** A path inside the repository: relative, no `..`. */
function checkPath(path: string): void {
  if (typeof path !== 'string' || path === '' || path.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.split('/').some((p) => p === '..' || p === '')) {
    throw new CriaError('bad-argument', `"${String(path).slice(0, 80)}" is not a path inside the repository`);
  }
}

const kindOf = (path: string): FileKind => (/\.onnx$/i.test(path) ? 'onnx' : /\.json$/i.test(path) ? 'json' : 'any');

async function bytesOf(f: OnnxFile): Promise<Uint8Array> {
  if (f instanceof Uint8Array) return f;
  if (f instanceof ArrayBuffer) return new Uint8Array(f);
  return new Uint8Array(await f.arrayBuffer());
}

/** The files of `{ onnx: { files } }`: as given. */
export function givenFiles(files: Record<string, OnnxFile>, modelPath: string, name: string): RepoFiles {
  const need = (path: string) => {
    const f = files[path];
    if (f === undefined) throw new CriaError('bad-file', `the ONNX repository has no ${path}; it holds ${Object.keys(files).sort().join(', ') || 'no files'}`, { file: path });
    return f;
  };
  return {
    name,
    modelPath,
    async bytes(path, optional) {
      if (optional && files[path] === undefined) return undefined;
      return bytesOf(need(path));
    },
    async size(path) {
      const f = need(path);
      return f instanceof Blob ? f.size : f.byteLength;
    },
    origin: () => ({ source: 'file', downloadedBytes: 0 }),
    knownHash: () => undefined,
    done: async () => undefined,
    discard: async () => undefined,
  };
}

const isNotFound = (e: unknown) => e instanceof CriaError && e.code === 'network' && e.detail?.status === 404;

/** The files of a repository at a base URL: through the model cache when there is one, else read directly. */
/** The graph a load runs when the source names none: the one the cached repository last ran, else onnx/model.onnx. */
export const DEFAULT_GRAPH = 'onnx/model.onnx';

export async function remoteFiles(where: { base: string; id: string; name: string; modelPath?: string }, ctx: RepoContext): Promise<RepoFiles> {
  const { store } = ctx;
  const { base, id } = where;
  const http = (path: string) => new HttpRangeSource(base + path, ctx.fetch, { idleTimeoutMs: ctx.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, kind: kindOf(path) });
  const repo = store ? await store.getManifest(id) : undefined;
  if (repo && !repo.files) throw new CriaError('bad-argument', `${id} in the model cache is not an ONNX repository`);
  const modelPath = where.modelPath ?? repo?.model ?? DEFAULT_GRAPH;
  /** files read by this load: path → its manifest (cached) or size (direct) */
  const used = new Map<string, ModelManifest | undefined>();
  let downloadedBytes = 0;
  let doneBytes = 0; // of earlier files, for one progress over the whole repository

  const cachedFile = async (path: string): Promise<ModelManifest | undefined> => {
    const fileId = repo?.files?.[path] ?? base + path;
    const m = await store!.getManifest(fileId);
    return m && m.partOf === id ? m : undefined;
  };

  const fetchIntoCache = async (path: string): Promise<ModelManifest> => {
    const r = await ensureCached(store!, http(path), {
      id: base + path,
      partOf: id,
      signal: ctx.signal,
      storage: ctx.storage,
      locks: ctx.locks,
      onProgress: (p) =>
        ctx.onProgress?.({
          phase: p.phase,
          loadedBytes: doneBytes + p.loadedBytes,
          totalBytes: doneBytes + p.totalBytes,
          bytesPerSecond: p.bytesPerSecond,
          etaSeconds: p.etaSeconds,
          resumedBytes: p.resumedBytes,
          ...(p.restarted !== undefined ? { restarted: p.restarted } : {}),
        }),
    });
    downloadedBytes += r.downloadedBytes;
    doneBytes += r.manifest.size;
    return r.manifest;
  };

  return {
    name: where.name,
    cacheId: store ? id : undefined,
    modelPath,
    async bytes(path, optional) {
      checkPath(path);
      if (store) {
        let m = await cachedFile(path);
        if (!m) {
          // a repository cached whole knows which optional files it lacks: no request for them
          if (optional && repo?.files && repo.files[path] === undefined && repo.files[modelPath] !== undefined) {
            return undefined;
          }
          try {
            m = await fetchIntoCache(path);
          } catch (e) {
            if (optional && isNotFound(e)) {
              return undefined;
            }
            throw e;
          }
        }
        used.set(path, m);
        const src = cachedSource(store, m, {
          refetch: http(path),
          signal: ctx.signal,
          onBadChunk: (chunk, reason) => ctx.onProgress?.({ phase: 'repair', loadedBytes: 0, totalBytes: m!.chunks[chunk].size, chunk, reason }),
        });
        return src.read(0, m.size);
      }
      const remote = http(path);
      let file;
      try {
        file = await remote.probe(ctx.signal);
      } catch (e) {
        if (optional && isNotFound(e)) return undefined;
        throw e;
      }
      const out = await remote.fetchRange(file, 0, file.size, ctx.signal, (n) => {
        downloadedBytes += n;
        ctx.onProgress?.({ phase: 'download', loadedBytes: doneBytes + downloadedBytes, totalBytes: doneBytes + file.size });
      });
      used.set(path, undefined);
      return out;
    },
    async size(path) {
      checkPath(path);
      const m = store ? await cachedFile(path) : undefined;
      if (m) return m.size;
      return (await http(path).probe(ctx.signal)).size;
    },
    origin: () => ({ source: downloadedBytes > 0 ? 'network' : store ? 'cache' : 'network', downloadedBytes }),
    knownHash: () => (repo?.model === modelPath && downloadedBytes === 0 ? repo.contentHash : undefined),
    async done(contentHash) {
      if (!store) return;
      const files: Record<string, string> = { ...(repo?.files ?? {}) };
      for (const [path, m] of used) if (m) files[path] = m.id;
      const manifests = await Promise.all(Object.values(files).map((f) => store.getManifest(f)));
      const now = Date.now();
      await store.commit({
        id,
        version: 1,
        url: base,
        name: where.name,
        size: manifests.reduce((a, m) => a + (m?.size ?? 0), 0),
        chunkSize: 0,
        chunks: [],
        createdAt: repo?.createdAt ?? now,
        lastUsedAt: now,
        format: 'onnx',
        files,
        model: modelPath,
        contentHash,
      });
    },
    async discard() {
      if (store && !repo) await store.delete(id);
    },
  };
}

/**
 * The model cache's storage interface: narrow on purpose, so that OPFS (or
 * anything else) could replace IndexedDB later without touching download,
 * verification or loading. A model is stored as fixed-size chunks (tens of
 * MiB, so no single value is huge and downloads resume chunk by chunk) plus
 * a manifest, which is written LAST: a model is either wholly cached (it has
 * a manifest) or not at all (at most a resumable partial download).
 */

/** One stored chunk of a model file. */
export interface StoredChunk {
  modelId: string;
  index: number;
  /** bytes in this chunk (the last one may be short) */
  size: number;
  /** hex SHA-256 of the chunk, computed from the bytes as they arrived */
  sha256: string;
  data: Blob;
}

export interface ChunkInfo {
  index: number;
  offset: number;
  size: number;
  sha256: string;
}

/** Where a cached model came from, for showing it and for re-fetching a chunk. */
export interface ModelOrigin {
  /** the source URL (re-fetchable), or undefined for a local file */
  url?: string;
  /** file name shown to the user */
  name: string;
  size: number;
  etag?: string;
  lastModified?: string;
  /**
   * the whole file's SHA-256: on a manifest, the file was verified against it; on a partial
   * download, the one it will be verified against. Absent when none was known.
   */
  sha256?: string;
  /**
   * the id of the repository this file belongs to (a file of an ONNX model: its graph, weights,
   * config, tokenizer): the cache list shows the repository, and deleting it deletes its files
   */
  partOf?: string;
}

/** A wholly cached model. */
export interface ModelManifest extends ModelOrigin {
  /** the cache key: the URL for downloads, `file:name:size:mtime` for local files */
  id: string;
  version: 1;
  chunkSize: number;
  chunks: ChunkInfo[];
  createdAt: number;
  lastUsedAt: number;
  /**
   * the model's content hash (`ModelInfo.contentHash`), recorded at its first load from the cache:
   * the chunks are verified against `chunks[].sha256` whenever they are read, so the same bytes give
   * the same hash and later loads reuse it instead of hashing every tensor again
   */
  contentHash?: string;
  /** the model's format: a GGUF file (absent on manifests written before there were others), or an ONNX repository */
  format?: 'gguf' | 'onnx';
  /**
   * a repository (an ONNX model): its files by path, each the cache id of a manifest of its own
   * (with `partOf` this id). A repository's own manifest has no chunks; it is written after every
   * file it names is wholly cached, so it is present only when the whole model is.
   */
  files?: Record<string, string>;
  /** a repository: the graph (path) its last load ran, which a load naming none runs */
  model?: string;
}

/** A download in progress or interrupted: which file, which chunking; the chunks themselves are in the chunk store. */
export interface PartialDownload extends ModelOrigin {
  id: string;
  chunkSize: number;
  startedAt: number;
  updatedAt: number;
}

/** What the management API shows for each model (complete or partial): the protocol's type. */
export type { CachedModel } from '../protocol/api.ts';
import type { CachedModel } from '../protocol/api.ts';

export interface ModelStore {
  getManifest(id: string): Promise<ModelManifest | undefined>;
  getPartial(id: string): Promise<PartialDownload | undefined>;
  putPartial(p: PartialDownload): Promise<void>;
  /** stored chunks of a model: index → { size, sha256 } (no data read) */
  storedChunks(id: string): Promise<Map<number, { size: number; sha256: string }>>;
  putChunk(c: StoredChunk): Promise<void>;
  getChunk(id: string, index: number): Promise<StoredChunk | undefined>;
  deleteChunk(id: string, index: number): Promise<void>;
  /** write the manifest and drop the partial record, in one transaction */
  commit(m: ModelManifest): Promise<void>;
  touch(id: string, when: number): Promise<void>;
  /** record `m`'s content hash, if `m` is still the stored manifest (the same download: same createdAt) */
  setContentHash(m: ModelManifest, contentHash: string): Promise<void>;
  /** remove a model's manifest, partial record and chunks */
  delete(id: string): Promise<void>;
  list(): Promise<CachedModel[]>;
  clear(): Promise<void>;
}

/**
 * The cache list from the stored records: a file that is part of a repository is folded into the
 * repository's entry (complete when the repository's manifest is written; until then, an
 * incomplete entry summing the parts stored so far). Shared by every ModelStore.
 */
export function listModels(manifests: ModelManifest[], partials: PartialDownload[], storedBytes: (p: PartialDownload) => Promise<{ bytes: number; chunks: number }>): Promise<CachedModel[]> {
  return (async () => {
    const out = new Map<string, CachedModel>();
    /** a repository's graph (a part ending in .onnx), by its path in the repository */
    const graphOf = (e: CachedModel, partId: string) => {
      if (!/\.onnx$/i.test(partId) || !e.url || !partId.startsWith(e.url)) return;
      e.model = partId.slice(e.url.length);
    };
    const repoEntry = (id: string, name: string, url: string | undefined, createdAt: number): CachedModel => {
      let e = out.get(id);
      if (!e) out.set(id, (e = { id, name, url: url ?? (id.startsWith('onnx:') ? id.slice('onnx:'.length) : undefined), size: 0, storedBytes: 0, complete: false, chunks: 0, chunksStored: 0, createdAt, format: 'onnx', files: 0 }));
      return e;
    };
    for (const m of manifests) {
      if (m.files) {
        const e = repoEntry(m.id, m.name, m.url, m.createdAt);
        Object.assign(e, { name: m.name, complete: true, createdAt: m.createdAt, lastUsedAt: m.lastUsedAt, format: m.format ?? 'onnx', ...(m.model ? { model: m.model } : {}) });
        continue;
      }
      if (m.partOf !== undefined) {
        const e = repoEntry(m.partOf, m.partOf.replace(/^onnx:/, ''), undefined, m.createdAt);
        graphOf(e, m.id);
        e.size += m.size;
        e.storedBytes += m.size;
        e.chunks += m.chunks.length;
        e.chunksStored += m.chunks.length;
        e.files = (e.files ?? 0) + 1;
        continue;
      }
      out.set(m.id, { id: m.id, name: m.name, url: m.url, size: m.size, storedBytes: m.size, complete: true, chunks: m.chunks.length, chunksStored: m.chunks.length, createdAt: m.createdAt, lastUsedAt: m.lastUsedAt, format: m.format ?? 'gguf' });
    }
    const complete = new Set(manifests.map((m) => m.id));
    // graphs outside `onnx/model.onnx` (model_q4.onnx…) are remembered, so a resume asks for the same one
    for (const p of partials) {
      if (complete.has(p.id)) continue;
      const stored = await storedBytes(p);
      const chunks = Math.ceil(p.size / p.chunkSize);
      if (p.partOf !== undefined) {
        const e = repoEntry(p.partOf, p.partOf.replace(/^onnx:/, ''), undefined, p.startedAt);
        graphOf(e, p.id);
        e.size += p.size;
        e.storedBytes += stored.bytes;
        e.chunks += chunks;
        e.chunksStored += stored.chunks;
        e.files = (e.files ?? 0) + 1;
        e.complete = false; // a file still downloading (a repository re-fetching a graph it lacked)
        continue;
      }
      out.set(p.id, { id: p.id, name: p.name, url: p.url, size: p.size, storedBytes: stored.bytes, complete: false, chunks, chunksStored: stored.chunks, createdAt: p.startedAt, format: 'gguf' });
    }
    return [...out.values()].sort((a, b) => (b.lastUsedAt ?? b.createdAt) - (a.lastUsedAt ?? a.createdAt));
  })();
}

/** The ids a delete of `id` removes: the model, and when it is a repository, every file that is part of it. */
export function idsToDelete(id: string, manifests: ModelManifest[], partials: PartialDownload[]): string[] {
  const parts = [...manifests, ...partials].filter((r) => r.partOf === id).map((r) => r.id);
  return [...new Set([id, ...parts])];
}

export const DEFAULT_CHUNK_SIZE = 32 * 2 ** 20;

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
}

/** A download in progress or interrupted: which file, which chunking; the chunks themselves are in the chunk store. */
export interface PartialDownload extends ModelOrigin {
  id: string;
  chunkSize: number;
  startedAt: number;
  updatedAt: number;
}

/** What the management API shows for each model (complete or partial). */
export interface CachedModel {
  id: string;
  name: string;
  url?: string;
  size: number;
  /** bytes of chunks actually stored */
  storedBytes: number;
  complete: boolean;
  chunks: number;
  chunksStored: number;
  createdAt: number;
  lastUsedAt?: number;
}

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

export const DEFAULT_CHUNK_SIZE = 32 * 2 ** 20;

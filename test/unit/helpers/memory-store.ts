/**
 * A ModelStore in memory, for Node tests of the download / verify / repair
 * logic (src/storage/). The IndexedDB store itself is tested in the browser
 * (test/e2e/cache.spec.ts). Values are stored as given, so a test can corrupt
 * one the way a failing disk would.
 */
import type { CachedModel, ModelManifest, ModelStore, PartialDownload, StoredChunk } from '../../../src/storage/store.ts';

export class MemoryModelStore implements ModelStore {
  readonly manifests = new Map<string, ModelManifest>();
  readonly partials = new Map<string, PartialDownload>();
  readonly chunks = new Map<string, StoredChunk>();
  private key = (id: string, i: number) => `${id}\u0000${i}`;

  async getManifest(id: string) {
    return this.manifests.get(id);
  }
  async getPartial(id: string) {
    return this.partials.get(id);
  }
  async putPartial(p: PartialDownload) {
    this.partials.set(p.id, p);
  }
  async storedChunks(id: string) {
    const out = new Map<number, { size: number; sha256: string }>();
    for (const c of this.chunks.values()) if (c.modelId === id) out.set(c.index, { size: c.size, sha256: c.sha256 });
    return out;
  }
  async putChunk(c: StoredChunk) {
    this.chunks.set(this.key(c.modelId, c.index), c);
  }
  async getChunk(id: string, i: number) {
    return this.chunks.get(this.key(id, i));
  }
  async deleteChunk(id: string, i: number) {
    this.chunks.delete(this.key(id, i));
  }
  async commit(m: ModelManifest) {
    this.manifests.set(m.id, m);
    this.partials.delete(m.id);
  }
  async touch(id: string, when: number) {
    const m = this.manifests.get(id);
    if (m) this.manifests.set(id, { ...m, lastUsedAt: when });
  }
  async setContentHash(m: ModelManifest, contentHash: string) {
    const stored = this.manifests.get(m.id);
    if (stored && stored.createdAt === m.createdAt) this.manifests.set(m.id, { ...stored, contentHash });
  }
  async delete(id: string) {
    this.manifests.delete(id);
    this.partials.delete(id);
    for (const [k, c] of this.chunks) if (c.modelId === id) this.chunks.delete(k);
  }
  async list(): Promise<CachedModel[]> {
    return [...this.manifests.values()].map((m) => ({ id: m.id, name: m.name, url: m.url, size: m.size, storedBytes: m.size, complete: true, chunks: m.chunks.length, chunksStored: m.chunks.length, createdAt: m.createdAt, lastUsedAt: m.lastUsedAt }));
  }
  async clear() {
    this.manifests.clear();
    this.partials.clear();
    this.chunks.clear();
  }
}

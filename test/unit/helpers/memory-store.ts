/**
 * A ModelStore in memory, for Node tests of the download / verify / repair
 * logic (src/storage/). The IndexedDB store itself is tested in the browser
 * (test/e2e/cache.spec.ts). Values are stored as given, so a test can corrupt
 * one the way a failing disk would.
 */
import { idsToDelete, listModels, type CachedModel, type ModelManifest, type ModelStore, type PartialDownload, type StoredChunk } from '../../../src/storage/store.ts';

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
    for (const one of idsToDelete(id, [...this.manifests.values()], [...this.partials.values()])) {
      this.manifests.delete(one);
      this.partials.delete(one);
      for (const [k, c] of this.chunks) if (c.modelId === one) this.chunks.delete(k);
    }
  }
  async list(): Promise<CachedModel[]> {
    return listModels([...this.manifests.values()], [...this.partials.values()], async (p) => {
      const stored = await this.storedChunks(p.id);
      return { bytes: [...stored.values()].reduce((a, c) => a + c.size, 0), chunks: stored.size };
    });
  }
  async clear() {
    this.manifests.clear();
    this.partials.clear();
    this.chunks.clear();
  }
}

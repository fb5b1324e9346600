/**
 * The model store on IndexedDB (via idb). Schema version 1:
 *   manifests  keyPath id                 ModelManifest (written last: presence = wholly cached)
 *   partials   keyPath id                 PartialDownload (a download in progress or interrupted)
 *   chunks     keyPath [modelId, index]   StoredChunk, index `byModel` on modelId
 * Chunk data are Blobs: the browser keeps them on disk and `slice()` reads only what is asked.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { CriaError } from '../shared/errors.ts';
import { idsToDelete, listModels, type CachedModel, type ModelManifest, type ModelStore, type PartialDownload, type StoredChunk } from './store.ts';

export const DB_NAME = 'cria';
export const DB_VERSION = 1;

interface CriaDb extends DBSchema {
  manifests: { key: string; value: ModelManifest };
  partials: { key: string; value: PartialDownload };
  chunks: { key: [string, number]; value: StoredChunk; indexes: { byModel: string } };
}

/** Turn IndexedDB's quota failure into `storage-quota`; rethrow anything else. */
export function quotaError(e: unknown, what: string): never {
  const name = (e as { name?: string })?.name;
  if (name === 'QuotaExceededError' || /quota/i.test(String((e as Error)?.message))) {
    throw new CriaError('storage-quota', `the browser's storage quota ran out while ${what}; delete cached models or free disk space, then try again`);
  }
  throw e;
}

export class IdbModelStore implements ModelStore {
  private constructor(private readonly db: IDBPDatabase<CriaDb>) {}

  static async open(name = DB_NAME): Promise<IdbModelStore> {
    if (typeof indexedDB === 'undefined') throw new CriaError('not-implemented', 'IndexedDB is not available here, so models cannot be cached');
    const db = await openDB<CriaDb>(name, DB_VERSION, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('manifests', { keyPath: 'id' });
          db.createObjectStore('partials', { keyPath: 'id' });
          db.createObjectStore('chunks', { keyPath: ['modelId', 'index'] }).createIndex('byModel', 'modelId');
        }
      },
      blocking() {
        // a newer version of Cria in another tab wants to upgrade: let it
        db.close();
      },
    });
    return new IdbModelStore(db);
  }

  close(): void {
    this.db.close();
  }

  getManifest(id: string) {
    return this.db.get('manifests', id);
  }

  getPartial(id: string) {
    return this.db.get('partials', id);
  }

  async putPartial(p: PartialDownload) {
    try {
      await this.db.put('partials', p);
    } catch (e) {
      quotaError(e, 'saving download state');
    }
  }

  async storedChunks(id: string) {
    const out = new Map<number, { size: number; sha256: string }>();
    let cur = await this.db.transaction('chunks').store.index('byModel').openCursor(IDBKeyRange.only(id));
    while (cur) {
      out.set(cur.value.index, { size: cur.value.size, sha256: cur.value.sha256 });
      cur = await cur.continue();
    }
    return out;
  }

  async putChunk(c: StoredChunk) {
    try {
      await this.db.put('chunks', c);
    } catch (e) {
      quotaError(e, `storing chunk ${c.index} of ${c.modelId}`);
    }
  }

  getChunk(id: string, index: number) {
    return this.db.get('chunks', [id, index]);
  }

  deleteChunk(id: string, index: number) {
    return this.db.delete('chunks', [id, index]);
  }

  async commit(m: ModelManifest) {
    const tx = this.db.transaction(['manifests', 'partials'], 'readwrite');
    try {
      await Promise.all([tx.objectStore('manifests').put(m), tx.objectStore('partials').delete(m.id), tx.done]);
    } catch (e) {
      quotaError(e, `saving the manifest of ${m.id}`);
    }
  }

  async touch(id: string, when: number) {
    const tx = this.db.transaction('manifests', 'readwrite');
    const m = await tx.store.get(id);
    if (m) await tx.store.put({ ...m, lastUsedAt: when });
    await tx.done;
  }

  async setContentHash(m: ModelManifest, contentHash: string) {
    const tx = this.db.transaction('manifests', 'readwrite');
    const stored = await tx.store.get(m.id);
    if (stored && stored.createdAt === m.createdAt) await tx.store.put({ ...stored, contentHash });
    await tx.done;
  }

  async delete(id: string) {
    const [manifests, partials] = await Promise.all([this.db.getAll('manifests'), this.db.getAll('partials')]);
    const tx = this.db.transaction(['manifests', 'partials', 'chunks'], 'readwrite');
    for (const one of idsToDelete(id, manifests, partials)) {
      await tx.objectStore('manifests').delete(one);
      await tx.objectStore('partials').delete(one);
      await tx.objectStore('chunks').delete(IDBKeyRange.bound([one, 0], [one, Infinity]));
    }
    await tx.done;
  }

  async list(): Promise<CachedModel[]> {
    const [manifests, partials] = await Promise.all([this.db.getAll('manifests'), this.db.getAll('partials')]);
    return listModels(manifests, partials, async (p) => {
      const stored = await this.storedChunks(p.id);
      return { bytes: [...stored.values()].reduce((a, c) => a + c.size, 0), chunks: stored.size };
    });
  }

  async clear() {
    const tx = this.db.transaction(['manifests', 'partials', 'chunks'], 'readwrite');
    await Promise.all([tx.objectStore('manifests').clear(), tx.objectStore('partials').clear(), tx.objectStore('chunks').clear(), tx.done]);
  }
}

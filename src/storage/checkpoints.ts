/**
 * Fine-tune checkpoints (src/train/run.ts `FinetuneCheckpoint`), so a fine-tune survives a closed tab:
 * kept in IndexedDB (via idb), in a database of their own (`cria-train`, store `checkpoints`, keyed by
 * the job: the base model, the examples and the settings, see `checkpointKey`), written after every
 * few steps and at each epoch's end, read when the same job starts again, deleted when it ends. Typed
 * arrays are stored as they are (structured clone).
 */
import { openDB, type IDBPDatabase } from 'idb';
import { CriaError } from '../shared/errors.ts';
import type { FinetuneCheckpoint } from '../train/run.ts';
import { quotaError } from './idb-store.ts';

export interface CheckpointStore {
  get(key: string): Promise<StoredCheckpoint | undefined>;
  put(c: StoredCheckpoint): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface StoredCheckpoint {
  key: string;
  /** what the job is, for a person (the model and the file's size) */
  label: string;
  at: number;
  checkpoint: FinetuneCheckpoint;
}

/** The job's key: the same base model, examples and settings resume; anything else starts again. */
export async function checkpointKey(model: string, data: string, options: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify([model, options, data]));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly m = new Map<string, StoredCheckpoint>();
  async get(key: string) {
    const c = this.m.get(key);
    return c && structuredClone(c);
  }
  async put(c: StoredCheckpoint) {
    this.m.set(c.key, structuredClone(c));
  }
  async delete(key: string) {
    this.m.delete(key);
  }
}

export class IdbCheckpointStore implements CheckpointStore {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name = 'cria-train'): Promise<IdbCheckpointStore> {
    if (typeof indexedDB === 'undefined') throw new CriaError('not-implemented', 'IndexedDB is not available here, so fine-tunes cannot be checkpointed');
    const db = await openDB(name, 1, {
      upgrade(db) {
        db.createObjectStore('checkpoints', { keyPath: 'key' });
      },
      blocking() {
        db.close();
      },
    });
    return new IdbCheckpointStore(db);
  }

  get(key: string): Promise<StoredCheckpoint | undefined> {
    return this.db.get('checkpoints', key);
  }

  async put(c: StoredCheckpoint): Promise<void> {
    try {
      await this.db.put('checkpoints', c);
    } catch (e) {
      quotaError(e, 'saving a fine-tune checkpoint');
    }
  }

  async delete(key: string): Promise<void> {
    await this.db.delete('checkpoints', key);
  }
}
